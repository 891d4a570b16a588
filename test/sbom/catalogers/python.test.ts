import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fileFromBytes, type CatalogFile, type Cataloger, type RawPackage } from '../../../src/sbom/index.js';
import { HEAD_BYTES, pythonLockCataloger, pythonPackageCataloger, pythonRequirementsCataloger } from '../../../src/sbom/catalogers/python.js';
import { filesBelow } from '../../helpers/env.js';

/** Hand-written in the formats of Poetry 1.4 and 2.1, pipenv and uv (lock revision 3): see the README there. */
const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/sbom/lang/python/', import.meta.url));
/** Debian's own Python modules: installed by apt, so their metadata is what real packaging wrote. */
const DIST = '/usr/lib/python3/dist-packages';

async function catalog(c: Cataloger, file: CatalogFile): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings = await c.parse(file, { warn: (m) => warnings.push(m) });
  return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
}

const text = (c: Cataloger, path: string, body: string): ReturnType<typeof catalog> => catalog(c, fileFromBytes(path, Buffer.from(body)));

function summary(packages: readonly RawPackage[]): string[] {
  return packages
    .map((p) => {
      const flags = `${p.properties?.['dev'] === 'true' ? ' dev' : ''}${p.root === true ? ' root' : ''}`;
      const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('pypi:'.length)).sort();
      return `${p.name}@${p.version}${flags}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
    })
    .sort();
}

/** `pip list` of Debian's python3 for DIST; skipped (failed under CI) without Debian's python3-pip. */
function pipList(t: TestContext): { name: string; version: string }[] | undefined {
  try {
    const out = execFileSync('/usr/bin/python3', ['-m', 'pip', 'list', '--path', DIST, '--format', 'json', '--disable-pip-version-check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return JSON.parse(out) as { name: string; version: string }[];
  } catch {
    const msg = "needs Debian's python3 with pip: apt-get install -y python3-pip";
    if (process.env['CI'] === 'true') throw new Error(msg);
    t.skip(msg);
    return undefined;
  }
}

test("Debian's dist-packages: exactly the names and versions pip list reports", async (t) => {
  const pip = pipList(t);
  if (pip === undefined) return;
  const found = new Set<string>();
  const warnings: string[] = [];
  for (const abs of filesBelow(DIST)) {
    const path = relative('/', abs);
    const st = lstatSync(abs);
    if (!pythonPackageCataloger.wants(path, st.size, st.mode & 0o7777)) continue;
    const result = await catalog(pythonPackageCataloger, fileFromBytes(path, readFileSync(abs)));
    warnings.push(...result.warnings);
    // The same distribution can be there twice (Debian ships cryptography as .egg-info and .dist-info); pip lists it once.
    for (const p of result.packages) found.add(`${p.name}==${p.version}`);
  }
  assert.ok(pip.length > 0);
  // pip list prints each distribution's Name as its metadata spells it (PyYAML, dbus-python).
  assert.deepEqual([...found].sort(), pip.map((p) => `${p.name}==${p.version}`).sort());
  assert.deepEqual(warnings, []);
});

const HEADER = `Metadata-Version: 2.4
Name: Example_Pkg
Version: 1.2.3rc1
Summary: An example
License: Apache Software License
Classifier: Development Status :: 5 - Production/Stable
Classifier: License :: OSI Approved :: MIT License
Classifier: Programming Language :: Python :: 3
`;

test('METADATA: License-Expression (PEP 639) wins over License and classifiers', async () => {
  const { packages } = await text(pythonPackageCataloger, 'site-packages/Example_Pkg-1.2.3rc1.dist-info/METADATA', `${HEADER}License-Expression: MIT OR Apache-2.0\n\nbody\n`);
  assert.deepEqual(packages, [{ type: 'pypi', name: 'Example_Pkg', version: '1.2.3rc1', licenses: ['MIT OR Apache-2.0'] }]);
});

test('METADATA: a License that names a known license is used; the name keeps its spelling', async () => {
  const { packages } = await text(pythonPackageCataloger, 'x.dist-info/METADATA', `${HEADER}\n`);
  assert.deepEqual(packages, [{ type: 'pypi', name: 'Example_Pkg', version: '1.2.3rc1', licenses: ['Apache-2.0'] }]);
});

test('METADATA: license text pasted into License (continuation lines) gives way to the classifiers', async () => {
  const body = `Name: pkg\nVersion: 2.0\nLicense: Copyright (c) 2020 Someone\n        Permission is hereby granted, free of charge, to any person\n        obtaining a copy of this software\nClassifier: License :: OSI Approved :: BSD License\nClassifier: License :: OSI Approved :: Python Software Foundation License\nClassifier: License :: OSI Approved\n\nName: not-this\n`;
  const { packages } = await text(pythonPackageCataloger, 'x.dist-info/METADATA', body);
  assert.deepEqual(packages, [{ type: 'pypi', name: 'pkg', version: '2.0', licenses: ['BSD-3-Clause', 'PSF-2.0'] }]);
});

test('METADATA: an unknown License without classifiers is kept as written; UNKNOWN means none', async () => {
  assert.deepEqual((await text(pythonPackageCataloger, 'x.dist-info/METADATA', 'Name: a\nVersion: 1\nLicense: Dual-licensed, see LICENSE\n\n')).packages[0]?.licenses, ['Dual-licensed, see LICENSE']);
  assert.equal((await text(pythonPackageCataloger, 'x.dist-info/METADATA', 'Name: a\nVersion: 1\nLicense: UNKNOWN\n\n')).packages[0]?.licenses, undefined);
});

test('a 1 GB METADATA is read only as far as HEAD_BYTES', async () => {
  const header = Buffer.from(`Name: huge\nVersion: 9.9\nLicense-Expression: MIT\n\n`);
  let requested = 0;
  const file: CatalogFile = {
    path: 'site-packages/huge-9.9.dist-info/METADATA',
    size: 1e9,
    mode: 0o644,
    read(offset, length) {
      requested += length;
      const end = Math.min(1e9, offset + length);
      const out = Buffer.alloc(end - offset, 'x');
      header.copy(out, 0, offset);
      return Promise.resolve(out);
    },
  };
  const { packages } = await catalog(pythonPackageCataloger, file);
  assert.deepEqual(packages, [{ type: 'pypi', name: 'huge', version: '9.9', licenses: ['MIT'] }]);
  assert.ok(requested <= HEAD_BYTES, `read ${requested} bytes`);
  assert.equal(pythonPackageCataloger.headBytes, HEAD_BYTES);
});

test('a header longer than HEAD_BYTES keeps its whole lines and drops the one cut off', async () => {
  const prefix = 'Name: cut\nVersion: 1.0\n';
  const filler = `X: ${'y'.repeat(HEAD_BYTES - 12 - prefix.length - 4)}\n`;
  // The cut falls inside this line, leaving "License: Apa": read as a license, it would be wrong.
  const bytes = Buffer.from(`${prefix}${filler}License: Apache-2.0\n\nbody`);
  const { packages, warnings } = await catalog(pythonPackageCataloger, fileFromBytes('x.dist-info/METADATA', bytes.subarray(0, HEAD_BYTES), 0o644, bytes.byteLength));
  assert.deepEqual(packages, [{ type: 'pypi', name: 'cut', version: '1.0' }]);
  assert.deepEqual(warnings, []);
});

test('egg-info as a directory, as a single file, and EGG-INFO inside an .egg', async () => {
  const body = 'Metadata-Version: 1.1\nName: legacy\nVersion: 0.9\nLicense: GPLv2+\n';
  for (const path of ['usr/lib/python3/dist-packages/legacy-0.9.egg-info/PKG-INFO', 'usr/lib/python3/dist-packages/legacy-0.9.egg-info', 'site-packages/legacy-0.9-py3.11.egg/EGG-INFO/PKG-INFO']) {
    assert.ok(pythonPackageCataloger.wants(path, body.length, 0o644), path);
    assert.deepEqual((await text(pythonPackageCataloger, path, body)).packages, [{ type: 'pypi', name: 'legacy', version: '0.9', licenses: ['GPL-2.0-or-later'] }]);
  }
  for (const path of ['x.dist-info/RECORD', 'pkg-1.0/PKG-INFO', 'x.egg-info/requires.txt', 'METADATA']) assert.ok(!pythonPackageCataloger.wants(path, 1, 0o644), path);
});

test('metadata without Name or Version, and binary garbage, warn and give nothing', async () => {
  for (const body of [Buffer.from('Version: 1\n\n'), Buffer.from('Name: a\n\n'), Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 131) % 256))]) {
    const { packages, warnings } = await catalog(pythonPackageCataloger, fileFromBytes('x.dist-info/METADATA', body));
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1);
  }
});

test('poetry.lock from Poetry 1.4: category "dev", dependencies by name', async () => {
  const { packages, warnings } = await catalog(pythonLockCataloger, fileFromBytes('app/poetry.lock', readFileSync(join(FIXTURES, 'poetry-1.4/poetry.lock'))));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'certifi@2023.5.7',
    'charset-normalizer@3.1.0',
    'colorama@0.4.6 dev',
    'idna@3.4',
    'iniconfig@2.0.0 dev',
    'pytest@7.3.1 dev -> colorama@0.4.6 iniconfig@2.0.0',
    'requests@2.31.0 -> certifi@2023.5.7 charset-normalizer@3.1.0 idna@3.4 urllib3@2.0.2',
    'urllib3@2.0.2',
  ]);
});

test('poetry.lock from Poetry 2.1: groups without "main" are dev', async () => {
  const { packages, warnings } = await catalog(pythonLockCataloger, fileFromBytes('poetry.lock', readFileSync(join(FIXTURES, 'poetry-2.1/poetry.lock'))));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['black@25.1.0 dev -> click@8.2.1 mypy-extensions@1.1.0', 'click@8.2.1 -> colorama@0.4.6', 'colorama@0.4.6', 'mypy-extensions@1.1.0 dev', 'zope-interface@7.2']);
});

test('Pipfile.lock: default and develop, ==version, entries without a version (git, editable) skipped', async () => {
  const { packages, warnings } = await catalog(pythonLockCataloger, fileFromBytes('Pipfile.lock', readFileSync(join(FIXTURES, 'pipenv/Pipfile.lock'))));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['blinker@1.7.0', 'flask@3.0.0', 'pytest@7.4.3 dev']);
});

test('uv.lock: the editable project is the root, forked versions resolved, dev from dev-dependencies', async () => {
  const { packages, warnings } = await catalog(pythonLockCataloger, fileFromBytes('srv/uv.lock', readFileSync(join(FIXTURES, 'uv/uv.lock'))));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'anyio@4.9.0 -> exceptiongroup@1.3.0 idna@3.10 sniffio@1.3.1',
    'demo-app@0.3.0 root -> anyio@4.9.0 numpy@1.26.4 numpy@2.2.6 pytest@8.4.0 pyyaml@6.0.2',
    'exceptiongroup@1.3.0 -> typing-extensions@4.14.0',
    'idna@3.10',
    'iniconfig@2.1.0 dev',
    'numpy@1.26.4',
    'numpy@2.2.6',
    'pluggy@1.6.0 dev',
    'pytest@8.4.0 dev -> exceptiongroup@1.3.0 iniconfig@2.1.0 pluggy@1.6.0',
    'pyyaml@6.0.2',
    'sniffio@1.3.1',
    'typing-extensions@4.14.0',
  ]);
});

/** The example of the pylock.toml specification (packaging.python.org), shortened to its tables. */
const PYLOCK_SPEC = `lock-version = '1.0'
environments = ["sys_platform == 'win32'", "sys_platform == 'linux'"]
requires-python = '== 3.12.*'
created-by = 'mousebender'

[[packages]]
name = 'attrs'
version = '25.1.0'
requires-python = '>= 3.8'

    [[packages.wheels]]
    name = 'attrs-25.1.0-py3-none-any.whl'
    upload-time = 2025-01-25T11:30:10.164985+00:00
    url = 'https://files.pythonhosted.org/packages/fc/30/d4986a882011f9df997a55e6becd864812ccfcd821d64aac8570ee39f719/attrs-25.1.0-py3-none-any.whl'
    size = 63152
    hashes = {sha256 = 'c75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1090a'}

[[packages]]
name = 'cattrs'
version = '24.1.2'
requires-python = '>= 3.8'
dependencies = [
    {name = 'attrs'},
]

    [[packages.wheels]]
    name = 'cattrs-24.1.2-py3-none-any.whl'
    url = 'https://files.pythonhosted.org/packages/c8/d5/867e75361fc45f6de75fe277dd085627a9db5ebb511a87f27dc1396b5351/cattrs-24.1.2-py3-none-any.whl'
    hashes = {sha256 = '67c7495b760168d931a10233f979b28dc04daf853b30752246f4f8471c6d68d0'}

[[packages]]
name = 'numpy'
version = '2.2.3'
requires-python = '>= 3.10'

    [[packages.wheels]]
    name = 'numpy-2.2.3-cp312-cp312-win_amd64.whl'
    url = 'https://files.pythonhosted.org/packages/42/6e/55580a538116d16ae7c9aa17d4edd56e83f42126cb1dfe7a684da7925d2c/numpy-2.2.3-cp312-cp312-win_amd64.whl'
    hashes = {sha256 = '83807d445817326b4bcdaaaf8e8e9f1753da04341eceec705c001ff342002e5d'}

[tool.mousebender]
command = ['.', 'lock', '--platform', 'cpython3.12-windows-x64', 'cattrs', 'numpy']
`;

test('pylock.toml (PEP 751), the specification\'s example: index packages, dependencies by name', async () => {
  const { packages, warnings } = await text(pythonLockCataloger, 'app/pylock.toml', PYLOCK_SPEC);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['attrs@25.1.0', 'cattrs@24.1.2 -> attrs@25.1.0', 'numpy@2.2.3']);
});

test('pylock.toml: a directory is the root, vcs and archive entries skipped, versioned dependencies, environment-forked versions', async () => {
  const lock = `lock-version = '1.0'
created-by = 'uv'

[[packages]]
name = 'my-app'
directory = { path = '.', editable = true }
dependencies = [{ name = 'numpy', version = '1.26.4' }, { name = 'Requests' }, { name = 'fork' }]

[[packages]]
name = 'numpy'
version = '1.26.4'
marker = "python_version < '3.12'"
index = 'https://pypi.org/simple'
sdist = { url = 'https://files.pythonhosted.org/numpy-1.26.4.tar.gz', hashes = { sha256 = '2a02aba9ed12e4ac4eb3ea9421c420301a0c6460d9830d74a9df87efa4912010' } }

[[packages]]
name = 'numpy'
version = '2.2.6'
marker = "python_version >= '3.12'"
index = 'https://pypi.org/simple'

[[packages]]
name = 'requests'
version = '2.32.3'
index = 'https://pypi.org/simple'

[[packages]]
name = 'fork'
version = '0.1.0'
vcs = { type = 'git', url = 'https://github.com/example/fork.git', commit-id = '0123456789abcdef0123456789abcdef01234567' }

[[packages]]
name = 'vendored'
version = '1.0'
archive = { url = 'https://example.com/vendored-1.0.tar.gz', hashes = { sha256 = '00' } }
`;
  const { packages, warnings } = await text(pythonLockCataloger, 'app/pylock.prod.toml', lock);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['numpy@1.26.4', 'numpy@2.2.6', 'requests@2.32.3']);
  const versioned = lock.replace("name = 'my-app'\n", "name = 'my-app'\nversion = '0.3.0'\n");
  assert.deepEqual(summary((await text(pythonLockCataloger, 'pylock.toml', versioned)).packages), ['my-app@0.3.0 root -> numpy@1.26.4 requests@2.32.3', 'numpy@1.26.4', 'numpy@2.2.6', 'requests@2.32.3']);
  const { warnings: missing } = await text(pythonLockCataloger, 'pylock.toml', "lock-version = '1.0'\n[[packages]]\nname = 'x'\nindex = 'https://pypi.org/simple'\n");
  assert.equal(missing.length, 1);
});

test('wants pylock.toml and pylock.<name>.toml only', () => {
  for (const p of ['pylock.toml', 'app/pylock.toml', 'app/pylock.dev.toml']) assert.ok(pythonLockCataloger.wants(p, 1, 0o644), p);
  for (const p of ['app/pylock.a.b.toml', 'app/mypylock.toml', 'app/pyproject.toml', 'app/pylock.tomlx']) assert.ok(!pythonLockCataloger.wants(p, 1, 0o644), p);
});

test('broken lockfiles warn and give nothing', async () => {
  const garbage = Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % 251));
  for (const name of ['poetry.lock', 'uv.lock', 'Pipfile.lock', 'pylock.toml']) {
    for (const body of [garbage, Buffer.from('[[package]]\nname = "x"\nversion = '), Buffer.from('{"default": {"a": ')]) {
      const { packages, warnings } = await catalog(pythonLockCataloger, fileFromBytes(name, body));
      assert.deepEqual(packages, [], name);
      assert.equal(warnings.length, 1, `${name}: ${warnings.join('; ')}`);
    }
  }
  const deep = `a = ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  assert.equal((await text(pythonLockCataloger, 'poetry.lock', deep)).warnings.length, 1);
});

test('requirements.txt: only exact pins, with extras, markers, hashes, comments and continuations', async () => {
  const body = [
    '# production pins',
    '-r base.txt',
    '--index-url https://pypi.example/simple',
    'requests==2.31.0 \\',
    '    --hash=sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f \\',
    '    --hash=sha256:942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1',
    'Django[argon2,bcrypt] == 4.2.7 ; python_version >= "3.8"  # LTS',
    'zope.interface===5.4.0',
    'numpy>=1.26',
    'pandas==2.*',
    'flask==2.0,<3',
    'black',
    '-e git+https://github.com/x/y.git#egg=y',
    'foo @ https://example.com/foo-1.0.whl',
    'PyYAML==6.0.1\r',
    '    # indented comment',
  ].join('\n');
  const { packages } = await text(pythonRequirementsCataloger, 'app/requirements-prod.txt', body);
  assert.deepEqual(
    packages.map((p) => `${p.name}==${p.version}`),
    ['requests==2.31.0', 'Django==4.2.7', 'zope.interface==5.4.0', 'PyYAML==6.0.1'],
  );
  for (const p of ['requirements.txt', 'app/requirements-dev.txt', 'x/dev-requirements.txt']) assert.ok(pythonRequirementsCataloger.wants(p, 1, 0o644), p);
  for (const p of ['requirements.in', 'x.egg-info/requires.txt', 'constraints.txt']) assert.ok(!pythonRequirementsCataloger.wants(p, 1, 0o644), p);
});

test('an enormous requirements line and binary garbage finish quickly with no packages', async () => {
  const started = Date.now();
  for (const body of [`${'a'.repeat(16 * 1024 * 1024)}==`, ` ${' '.repeat(4 * 1024 * 1024)}x#`, Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 7) % 256)).toString('latin1')]) {
    assert.deepEqual((await text(pythonRequirementsCataloger, 'requirements.txt', body)).packages, []);
  }
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
});
