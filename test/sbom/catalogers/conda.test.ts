/**
 * conda-meta records and environment.yml, against published examples (conda is not packaged for
 * this machine): records as conda 23 writes them for repo.anaconda.com's `main` and for
 * conda-forge (fields as listed by `conda search --json` and in conda-meta files of published
 * environments), an environment.yml in the shape of conda's documentation and of
 * `conda env export` (with builds), with a pip section.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cataloger } from '../../../src/sbom/index.js';
import { condaChannel, condaEnvironmentCataloger, condaMetaCataloger } from '../../../src/sbom/catalogers/conda.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const PYTHON = {
  build: 'h17756b0_1',
  build_number: 1,
  channel: 'https://repo.anaconda.com/pkgs/main/linux-64',
  constrains: [],
  depends: ['bzip2 >=1.0.8,<2.0a0', 'libffi >=3.4,<4.0a0', 'openssl >=3.0.16,<4.0a0'],
  extracted_package_dir: '/opt/conda/pkgs/python-3.11.15-h17756b0_1',
  files: ['bin/python3.11', 'lib/libpython3.11.so.1.0'],
  fn: 'python-3.11.15-h17756b0_1.conda',
  license: 'PSF-2.0',
  md5: '0f4d9c8a8b9e5a3f2c1d0e9f8a7b6c5d',
  name: 'python',
  requested_spec: 'python=3.11',
  sha256: '6944434fac2bd369561fb68c5c961e6dd684bdf1f96b78e002d0926bb1dd1237',
  size: 33221234,
  subdir: 'linux-64',
  timestamp: 1741263081000,
  url: 'https://repo.anaconda.com/pkgs/main/linux-64/python-3.11.15-h17756b0_1.conda',
  version: '3.11.15',
};

const ZSTD = {
  build: 'h3b9ef0a_1',
  build_number: 1,
  channel: 'https://conda.anaconda.org/conda-forge/linux-64',
  fn: 'zstd-1.4.4-h3b9ef0a_1.tar.bz2',
  license: 'BSD 3-Clause',
  name: 'zstd',
  subdir: 'linux-64',
  url: 'https://conda.anaconda.org/conda-forge/linux-64/zstd-1.4.4-h3b9ef0a_1.tar.bz2',
  version: '1.4.4',
};

const ENVIRONMENT = `name: stats
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.11.15=h17756b0_1
  - numpy==1.26.4
  - conda-forge::pandas=2.2.1=py311h320fe9a_0
  - scipy 1.12.0 py311h64a7726_0
  - matplotlib>=3.8
  - scikit-learn=1.4.*
  - bioconda::samtools
  - pip
  - pip:
    - requests==2.31.0
    - flask>=3
    - -r requirements.txt
    - --index-url https://pypi.org/simple
`;

const catalog = (c: Cataloger, path: string, body: string | Uint8Array): ReturnType<typeof runCataloger> => runCataloger(c, path, body);

test('conda-meta: name, version, license, and channel, subdir, build and archive type as purl qualifiers', async () => {
  const python = await catalog(condaMetaCataloger, 'opt/conda/conda-meta/python-3.11.15-h17756b0_1.json', JSON.stringify(PYTHON));
  assert.deepEqual(python, {
    packages: [{ type: 'conda', name: 'python', version: '3.11.15', licenses: ['PSF-2.0'], qualifiers: { build: 'h17756b0_1', channel: 'main', subdir: 'linux-64', type: 'conda' } }],
    warnings: [],
  });
  const zstd = await catalog(condaMetaCataloger, 'opt/conda/envs/x/conda-meta/zstd-1.4.4-h3b9ef0a_1.json', JSON.stringify(ZSTD));
  assert.deepEqual(zstd.packages[0]?.qualifiers, { build: 'h3b9ef0a_1', channel: 'conda-forge', subdir: 'linux-64', type: 'tar.bz2' });
});

test('conda channels: anaconda URLs by name, others as given', () => {
  assert.equal(condaChannel('https://repo.anaconda.com/pkgs/main/linux-64', 'linux-64'), 'main');
  assert.equal(condaChannel('https://conda.anaconda.org/conda-forge/noarch/', 'noarch'), 'conda-forge');
  assert.equal(condaChannel('conda-forge', 'linux-64'), 'conda-forge');
  assert.equal(condaChannel('https://mirror.example.com/conda/internal/linux-64', 'linux-64'), 'https://mirror.example.com/conda/internal');
});

test('environment.yml: exact conda specs (with channel and build), pip pins as PyPI; ranges and bare names skipped', async () => {
  const { packages, warnings } = await catalog(condaEnvironmentCataloger, 'app/environment.yml', ENVIRONMENT);
  assert.deepEqual(warnings, []);
  assert.deepEqual(packages, [
    { type: 'conda', name: 'python', version: '3.11.15', qualifiers: { build: 'h17756b0_1' } },
    { type: 'conda', name: 'numpy', version: '1.26.4' },
    { type: 'conda', name: 'pandas', version: '2.2.1', qualifiers: { channel: 'conda-forge', build: 'py311h320fe9a_0' } },
    { type: 'conda', name: 'scipy', version: '1.12.0', qualifiers: { build: 'py311h64a7726_0' } },
    { type: 'pypi', name: 'requests', version: '2.31.0' },
  ]);
});

test('wants conda-meta/*.json and environment.yml', () => {
  assert.ok(condaMetaCataloger.wants('opt/conda/conda-meta/zlib-1.2.13-h5eee18b_1.json', 1, 0o644));
  assert.ok(condaMetaCataloger.wants('conda-meta/zlib-1.2.13-h5eee18b_1.json', 1, 0o644));
  assert.ok(!condaMetaCataloger.wants('opt/conda/conda-meta/history', 1, 0o644));
  assert.ok(!condaMetaCataloger.wants('opt/conda/conda-meta/sub/x.json', 1, 0o644));
  assert.ok(!condaMetaCataloger.wants('opt/app/package.json', 1, 0o644));
  assert.ok(condaEnvironmentCataloger.wants('environment.yml', 1, 0o644));
  assert.ok(condaEnvironmentCataloger.wants('app/environment.yaml', 1, 0o644));
  assert.ok(!condaEnvironmentCataloger.wants('app/my-environment.yml', 1, 0o644));
});

test('broken input warns: bad JSON or YAML, records without name or version, odd entries, garbage', async () => {
  for (const body of [GARBAGE, '{"name": "x"', '{"name": "x"}', '[]']) {
    const { packages, warnings } = await catalog(condaMetaCataloger, 'conda-meta/x.json', body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  for (const body of [GARBAGE, 'dependencies: [', 'name: x\n', '- a\n']) {
    const { packages, warnings } = await catalog(condaEnvironmentCataloger, 'environment.yml', body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const { packages, warnings } = await catalog(condaEnvironmentCataloger, 'environment.yml', 'dependencies:\n  - ok=1.0\n  - "::"\n  - {x: 1}\n');
  assert.deepEqual(packages.map((p) => p.name), ['ok']);
  assert.equal(warnings.length, 2, warnings.join('; '));
});
