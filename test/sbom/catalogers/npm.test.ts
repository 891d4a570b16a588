import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fileFromBytes, packageKey, type Cataloger, type RawPackage } from '../../../src/sbom/index.js';
import { npmLockCataloger, npmPackageCataloger, pnpmLockCataloger, yarnLockCataloger } from '../../../src/sbom/catalogers/npm.js';
import { filesBelow, requireTools } from '../../helpers/env.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** Lockfiles written by real npm, pnpm and yarn releases for one package.json: see the README there. */
const FIXTURES = join(ROOT, 'test/fixtures/sbom/lang/npm');

async function catalog(c: Cataloger, path: string, bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings = await c.parse(fileFromBytes(path, bytes), { warn: (m) => warnings.push(m) });
  return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
}

const fullName = (p: RawPackage): string => (p.namespace === undefined ? p.name : `${p.namespace}/${p.name}`);
const id = (p: RawPackage): string => `${fullName(p)}@${p.version}`;

/** One line per package: `name@version [dev] [root] -> deps`, sorted, for exact comparisons that read well when they fail. */
function summary(packages: readonly RawPackage[]): string[] {
  return packages
    .map((p) => {
      const flags = `${p.properties?.['dev'] === 'true' ? ' dev' : ''}${p.root === true ? ' root' : ''}`;
      const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('npm:'.length)).sort();
      return `${id(p)}${flags}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
    })
    .sort();
}

/** npm ls's tree flattened to name@version pairs and parent → child edges (entries without a version are missing optional peers). */
function flattenLs(tree: { name?: string; version?: string; dependencies?: Record<string, unknown> }): { ids: Set<string>; edges: Set<string> } {
  const ids = new Set<string>();
  const edges = new Set<string>();
  const stack: [typeof tree, string][] = [[tree, `${tree.name ?? ''}@${tree.version ?? ''}`]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, parent] = item;
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      const c = child as typeof tree;
      if (c.version === undefined) continue;
      const childId = `${name}@${c.version}`;
      ids.add(childId);
      edges.add(`${parent} -> ${childId}`);
      stack.push([c, childId]);
    }
  }
  return { ids, edges };
}

let lsOnce: Promise<ReturnType<typeof flattenLs> & { root: string }> | undefined;

/** `npm ls --all --json` for this project, run once for the tests that compare with it. */
function npmLs(): Promise<ReturnType<typeof flattenLs> & { root: string }> {
  lsOnce ??= runNpmLs();
  return lsOnce;
}

async function runNpmLs(): Promise<ReturnType<typeof flattenLs> & { root: string }> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)('npm', ['ls', '--all', '--json'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    // npm ls exits non-zero on problems such as extraneous packages, and still prints the tree.
    stdout = (err as { stdout?: string }).stdout ?? '';
  }
  const tree = JSON.parse(stdout) as { name: string; version: string };
  return { ...flattenLs(tree), root: `${tree.name}@${tree.version}` };
}

test('installed packages in this project’s node_modules are exactly what npm ls reports', async (t) => {
  if (!requireTools(t, 'npm')) return;
  const ls = await npmLs();
  const found = new Set<string>();
  const warnings: string[] = [];
  for (const abs of filesBelow(join(ROOT, 'node_modules'))) {
    const path = relative(ROOT, abs);
    const st = lstatSync(abs);
    if (!npmPackageCataloger.wants(path, st.size, st.mode & 0o7777)) continue;
    const result = await catalog(npmPackageCataloger, path, readFileSync(abs));
    warnings.push(...result.warnings);
    for (const p of result.packages) found.add(id(p));
  }
  assert.deepEqual([...found].sort(), [...ls.ids].sort());
  assert.deepEqual(warnings, []);
});

test('this project’s package-lock.json (v3) gives npm ls’s packages and dependency edges, and the root', async (t) => {
  if (!requireTools(t, 'npm')) return;
  const ls = await npmLs();
  const { packages, warnings } = await catalog(npmLockCataloger, 'package-lock.json', readFileSync(join(ROOT, 'package-lock.json')));
  assert.deepEqual(warnings, []);
  const roots = packages.filter((p) => p.root === true);
  assert.deepEqual(roots.map(id), [ls.root]);
  assert.deepEqual(packages.filter((p) => p.root !== true).map(id).sort(), [...ls.ids].sort());
  const edges = packages.flatMap((p) => (p.dependsOn ?? []).map((k) => `${id(p)} -> ${k.slice('npm:'.length)}`));
  assert.equal(edges.length, new Set(edges).size, 'no duplicate edges');
  assert.deepEqual(edges.sort(), [...ls.edges].sort());
});

// What the fixture package.json resolves to, as every tool locked it. `use-sync-external-store`
// depends on react as a peer, which npm v2+ and pnpm record and npm v1 and yarn do not.
const BASE = (o: { dev: boolean; peer: boolean; isOdd?: string }): string[] =>
  [
    '@types/ms@0.7.34',
    'debug@4.3.4 -> ms@2.1.2',
    'is-number@6.0.0',
    'is-number@7.0.0',
    `is-odd@${o.isOdd ?? '3.0.1'} -> is-number@6.0.0`,
    'js-tokens@4.0.0',
    'loose-envify@1.4.0 -> js-tokens@4.0.0',
    // The alias `ms-old: npm:ms@0.7.3` installs ms.
    'ms@0.7.3',
    'ms@2.0.0',
    'ms@2.1.2',
    `once@1.4.0${o.dev ? ' dev' : ''} -> wrappy@1.0.2`,
    'react@18.2.0 -> loose-envify@1.4.0',
    `use-sync-external-store@1.2.0${o.peer ? ' -> react@18.2.0' : ''}`,
    `wrappy@1.0.2${o.dev ? ' dev' : ''}`,
  ].sort();

const ROOT_DEPS = 'is-number@7.0.0 is-odd@3.0.1 ms@0.7.3 ms@2.0.0 once@1.4.0 react@18.2.0 use-sync-external-store@1.2.0';

test('package-lock.json v1 (npm 6): nested dependencies, aliases, dev flags, the root', async () => {
  const { packages, warnings } = await catalog(npmLockCataloger, 'app/package-lock.json', readFileSync(join(FIXTURES, 'npm6-v1/package-lock.json')));
  assert.deepEqual(warnings, []);
  // v1 records a tarball dependency's URL where the version goes, and no direct dependencies of the root.
  const expected = [...BASE({ dev: true, peer: false, isOdd: 'https://registry.npmjs.org/is-odd/-/is-odd-3.0.1.tgz' }), 'lockfixture@1.0.0 root'].sort();
  assert.deepEqual(summary(packages), expected);
});

test('package-lock.json v2 (npm 8): packages by path, peers, licenses', async () => {
  const { packages, warnings } = await catalog(npmLockCataloger, 'app/package-lock.json', readFileSync(join(FIXTURES, 'npm8-v2/package-lock.json')));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [...BASE({ dev: true, peer: true }), `lockfixture@1.0.0 root -> @types/ms@0.7.34 debug@4.3.4 ${ROOT_DEPS}`].sort());
  const types = packages.find((p) => p.name === 'ms' && p.namespace === '@types');
  assert.deepEqual(types, { type: 'npm', namespace: '@types', name: 'ms', version: '0.7.34', licenses: ['MIT'] });
  assert.deepEqual(packages.find((p) => p.name === 'once')?.licenses, ['ISC']);
});

test('package-lock.json v3 with a workspace (npm 11): the member is a package, its link resolved', async () => {
  const { packages, warnings } = await catalog(npmLockCataloger, 'app/package-lock.json', readFileSync(join(FIXTURES, 'npm11-v3-workspace/package-lock.json')));
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    summary(packages),
    [
      ...BASE({ dev: true, peer: true }),
      '@fixture/lib@0.2.0 -> is-number@7.0.0 ms@2.1.3',
      'ms@2.1.3',
      `lockfixture@1.0.0 root -> @fixture/lib@0.2.0 @types/ms@0.7.34 debug@4.3.4 ${ROOT_DEPS}`,
    ].sort(),
  );
});

for (const [dir, what] of [
  ['pnpm7-v5', 'lockfile 5.4: /name/version keys, _peer suffixes, dev flags'],
  ['pnpm8-v6', 'lockfile 6.0: /name@version keys, (peer) suffixes, dev flags'],
  ['pnpm9-v9', 'lockfile 9.0: packages + snapshots, dev from importers'],
] as const) {
  test(`pnpm-lock.yaml ${what}`, async () => {
    const { packages, warnings } = await catalog(pnpmLockCataloger, 'app/pnpm-lock.yaml', readFileSync(join(FIXTURES, dir, 'pnpm-lock.yaml')));
    assert.deepEqual(warnings, []);
    assert.deepEqual(summary(packages), BASE({ dev: true, peer: true }));
  });
}

test('pnpm-lock.yaml 9.0 with a workspace: members are importers, not packages; their dependencies are prod', async () => {
  const { packages, warnings } = await catalog(pnpmLockCataloger, 'pnpm-lock.yaml', readFileSync(join(FIXTURES, 'pnpm9-v9-workspace/pnpm-lock.yaml')));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [...BASE({ dev: true, peer: true }), 'ms@2.1.3'].sort());
});

test('yarn.lock classic (yarn 1): merged descriptors, aliases, dependency ranges resolved', async () => {
  const { packages, warnings } = await catalog(yarnLockCataloger, 'yarn.lock', readFileSync(join(FIXTURES, 'yarn1/yarn.lock')));
  assert.deepEqual(warnings, []);
  // yarn.lock records neither dev dependencies nor peers.
  assert.deepEqual(summary(packages), BASE({ dev: false, peer: false }));
});

test('yarn.lock berry (yarn 4): __metadata and workspace entries skipped, npm: descriptors resolved', async () => {
  const { packages, warnings } = await catalog(yarnLockCataloger, 'yarn.lock', readFileSync(join(FIXTURES, 'yarn4-workspace/yarn.lock')));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [...BASE({ dev: false, peer: false }), 'ms@2.1.3'].sort());
});

test('a berry lockfile before __metadata version 6 writes ranges without npm:', async () => {
  const text = ['__metadata:', '  version: 4', '', '"a@npm:^1.0.0":', '  version: 1.0.0', '  resolution: "a@npm:1.0.0"', '  dependencies:', '    b: ^2.0.0', '', '"b@npm:^2.0.0":', '  version: 2.1.0', '  resolution: "b@npm:2.1.0"', ''].join('\n');
  const { packages } = await catalog(yarnLockCataloger, 'yarn.lock', Buffer.from(text));
  assert.deepEqual(summary(packages), ['a@1.0.0 -> b@2.1.0', 'b@2.1.0']);
});

test('wants installed manifests directly inside node_modules/<name> or node_modules/@scope/<name> only', () => {
  const yes = [
    'node_modules/express/package.json',
    'app/node_modules/express/package.json',
    'app/node_modules/@types/node/package.json',
    'app/node_modules/a/node_modules/b/package.json',
    'app/node_modules/a/node_modules/@s/b/package.json',
    'app/node_modules/.pnpm/ms@2.1.3/node_modules/ms/package.json',
    'usr/local/lib/node_modules/npm/package.json',
    // Debian's node module directories (nodejs' built-in search path there)
    'usr/share/nodejs/postcss/package.json',
    'usr/share/nodejs/@babel/core/package.json',
    'usr/lib/nodejs/npm/package.json',
    'usr/lib/x86_64-linux-gnu/nodejs/bufferutil/package.json',
  ];
  const no = [
    'package.json',
    'app/package.json',
    'app/node_modules/zod/v4/package.json',
    'app/node_modules/foo/lib/package.json',
    'app/node_modules/@types/package.json',
    'app/node_modules/.cache/package.json',
    'app/node_modules/package.json',
    'app/node_modules/@s/x/y/package.json',
    'app/node_modules/foo/package.json.bak',
    '@s/x/package.json',
    'usr/share/nodejs/postcss/lib/package.json',
    'usr/share/nodejs/@babel/package.json',
    'usr/share/doc/nodejs/x/package.json',
  ];
  for (const p of yes) assert.ok(npmPackageCataloger.wants(p, 100, 0o644), p);
  for (const p of no) assert.ok(!npmPackageCataloger.wants(p, 100, 0o644), p);
});

test("lockfiles shipped inside Debian's node module directories are upstream's dev trees: not read", () => {
  assert.ok(!pnpmLockCataloger.wants('usr/share/nodejs/postcss/pnpm-lock.yaml', 1, 0o644));
  assert.ok(!yarnLockCataloger.wants('usr/lib/nodejs/x/yarn.lock', 1, 0o644));
  assert.ok(!npmLockCataloger.wants('usr/lib/x86_64-linux-gnu/nodejs/y/package-lock.json', 1, 0o644));
});

test('wants lockfiles by exact name, not inside node_modules', () => {
  assert.ok(npmLockCataloger.wants('app/package-lock.json', 1, 0o644));
  assert.ok(npmLockCataloger.wants('npm-shrinkwrap.json', 1, 0o644));
  assert.ok(!npmLockCataloger.wants('app/node_modules/.package-lock.json', 1, 0o644));
  assert.ok(!npmLockCataloger.wants('app/node_modules/x/npm-shrinkwrap.json', 1, 0o644));
  assert.ok(!npmLockCataloger.wants('app/old-package-lock.json', 1, 0o644));
  assert.ok(yarnLockCataloger.wants('srv/yarn.lock', 1, 0o644));
  assert.ok(!yarnLockCataloger.wants('srv/node_modules/x/yarn.lock', 1, 0o644));
  assert.ok(pnpmLockCataloger.wants('pnpm-lock.yaml', 1, 0o644));
  assert.ok(!pnpmLockCataloger.wants('x/pnpm-lock.yml', 1, 0o644));
});

test('package.json license forms: SPDX string, expression, legacy {type}, legacy licenses[]', async () => {
  const cases: [unknown, string[] | undefined][] = [
    [{ license: 'MIT' }, ['MIT']],
    [{ license: '(MIT OR Apache-2.0)' }, ['(MIT OR Apache-2.0)']],
    [{ license: { type: 'BSD-3-Clause', url: 'https://x' } }, ['BSD-3-Clause']],
    [{ licenses: [{ type: 'MIT', url: 'https://x' }, { type: 'Apache 2.0' }] }, ['MIT', 'Apache-2.0']],
    [{ licenses: ['ISC'] }, ['ISC']],
    [{ license: 'SEE LICENSE IN LICENSE.md' }, ['SEE LICENSE IN LICENSE.md']],
    [{}, undefined],
  ];
  for (const [extra, licenses] of cases) {
    const doc = { name: '@acme/x', version: '1.0.0', ...(extra as object) };
    const { packages } = await catalog(npmPackageCataloger, 'node_modules/@acme/x/package.json', Buffer.from(JSON.stringify(doc)));
    assert.deepEqual(packages, [{ type: 'npm', namespace: '@acme', name: 'x', version: '1.0.0', ...(licenses === undefined ? {} : { licenses }) }], JSON.stringify(extra));
  }
});

test('bad package.json: broken JSON, no version, binary garbage → warnings, no packages', async () => {
  for (const bytes of [Buffer.from('{"name": "x", "version": '), Buffer.from('{"name":"x"}'), Buffer.from('[1,2]'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))]) {
    const { packages, warnings } = await catalog(npmPackageCataloger, 'node_modules/x/package.json', bytes);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1);
  }
});

test('a package-lock with a dependency cycle lists both edges', async () => {
  const lock = {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { a: '1' } },
      'node_modules/a': { version: '1.0.0', dependencies: { b: '1' } },
      'node_modules/b': { version: '1.0.0', dependencies: { a: '1' } },
    },
  };
  const { packages } = await catalog(npmLockCataloger, 'package-lock.json', Buffer.from(JSON.stringify(lock)));
  assert.deepEqual(summary(packages), ['a@1.0.0 -> b@1.0.0', 'app@1.0.0 root -> a@1.0.0', 'b@1.0.0 -> a@1.0.0']);
});

test('a v1 lockfile nested 10,000 levels deep is read to a bound, with a warning, without overflowing', async () => {
  let inner = '{}';
  for (let i = 9999; i >= 0; i--) inner = `{"p${i}":{"version":"1.0.${i}","requires":{"p${i + 1}":"*"},"dependencies":${inner}}}`;
  const lock = `{"name":"app","version":"1.0.0","lockfileVersion":1,"dependencies":${inner}}`;
  const started = Date.now();
  const { packages, warnings } = await catalog(npmLockCataloger, 'package-lock.json', Buffer.from(lock));
  assert.ok(Date.now() - started < 5000);
  assert.equal(packages.length, 1 + 256);
  assert.deepEqual(packages.find((p) => p.name === 'p0')?.dependsOn, [packageKey({ type: 'npm', name: 'p1', version: '1.0.1' })]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /deeper than 256 levels/);
});

test('a v3 lockfile with 10,000 packages, a 200-level install path and an impossible one resolves quickly', async () => {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: { p0: '1' } } };
  for (let i = 0; i < 10_000; i++) {
    const deps = Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`p${(i * 7 + j + 1) % 10_000}`, '1']));
    packages[`node_modules/p${i}`] = { version: '1.0.0', dependencies: deps };
  }
  // Each level requires a top-level package, found only after walking up every level.
  let path = 'node_modules/p0';
  for (let level = 1; level <= 200; level++) {
    path += `/node_modules/n${level}`;
    packages[path] = { version: `2.0.${level}`, dependencies: { p9999: '1' } };
  }
  packages[`node_modules/${'x/node_modules/'.repeat(400)}deep`] = { version: '1.0.0' };
  const started = Date.now();
  const result = await catalog(npmLockCataloger, 'package-lock.json', Buffer.from(JSON.stringify({ lockfileVersion: 3, packages })));
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  assert.equal(result.packages.length, 1 + 10_000 + 200);
  assert.deepEqual(result.packages.find((p) => p.version === '2.0.200')?.dependsOn, ['npm:p9999@1.0.0']);
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0]!, /longer than any install path/);
});

test('bad lockfile records are warned about, capped, and the good ones kept', async () => {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' }, 'node_modules/ok': { version: '2.0.0' } };
  for (let i = 0; i < 100; i++) packages[`node_modules/bad${i}`] = i % 2 === 0 ? 'not an object' : { resolved: 'x' };
  const result = await catalog(npmLockCataloger, 'package-lock.json', Buffer.from(JSON.stringify({ lockfileVersion: 3, packages })));
  assert.deepEqual(summary(result.packages), ['app@1.0.0 root', 'ok@2.0.0']);
  assert.equal(result.warnings.length, 21);
  assert.match(result.warnings[20]!, /80 more problems/);
});

test('garbage and broken lockfiles of every kind give warnings, not exceptions or hangs', async () => {
  const garbage = Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % 251));
  const enormousLine = Buffer.from(`${'a'.repeat(8 * 1024 * 1024)}:\n  version "1"\n`);
  for (const [c, path] of [
    [npmLockCataloger, 'package-lock.json'],
    [yarnLockCataloger, 'yarn.lock'],
    [pnpmLockCataloger, 'pnpm-lock.yaml'],
  ] as const) {
    for (const bytes of [garbage, Buffer.from('{"lockfileVersion": 3, "packages": {"": '), Buffer.from('__metadata:\n  version: [\n')]) {
      const { packages, warnings } = await catalog(c, path, bytes);
      assert.deepEqual(packages, [], `${path}: ${bytes.subarray(0, 20).toString()}`);
      assert.ok(warnings.length >= 1 && warnings.length <= 21, `${path}: ${warnings.join('; ')}`);
    }
  }
  const started = Date.now();
  const { packages } = await catalog(yarnLockCataloger, 'yarn.lock', enormousLine);
  assert.equal(packages.length, 0);
  assert.ok(Date.now() - started < 5000);
});
