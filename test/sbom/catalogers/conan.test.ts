/**
 * conan.lock in both formats, modelled on lockfiles Conan 1.5x (lockfile version 0.4, with and
 * without revisions) and Conan 2 (version 0.5) publish in their documentation and in projects
 * (Conan is not packaged for this machine): references with revisions and timestamps, a
 * user/channel package, a build-context tool, `_` placeholders, and the consumer node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conanLockCataloger, parseConanRef } from '../../../src/sbom/catalogers/conan.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const CONAN1 = {
  graph_lock: {
    nodes: {
      '0': { options: 'openssl:shared=False', requires: ['1', '3'], build_requires: ['4'], path: 'conanfile.txt', context: 'host' },
      '1': { ref: 'openssl/3.0.3#288ab73765e69844899535609ee0dfe4', package_id: '772675ace4978e609416253f5f352cadffbfbb53', prev: '8f9ca9645535191ea41a1c349e18523f', requires: ['2'], context: 'host' },
      '2': { ref: 'zlib/1.2.12#b76db676bd992afa93dd18a675323942', package_id: '2a19826344ff00be1c04403f2f8e7008ed3a7cc6', context: 'host' },
      '3': { ref: 'mylib/0.1.1@acme/testing', options: 'shared=False', context: 'host' },
      '4': { ref: 'cmake/3.23.2', requires: ['5'], context: 'build' },
      '5': { pref: 'openssl/1.1.1q@_/_#0:d0a6f81e5bbd9b0d8a5e9b1c0f6d3e5a7b9c1d2e', context: 'build' },
    },
    revisions_enabled: true,
  },
  version: '0.4',
  profile_host: '[settings]\narch=x86_64\nos=Linux\n',
};

const CONAN2 = {
  version: '0.5',
  requires: ['openssl/3.2.1#ab9f9d3c1f9e1d6e4a3c8ad0f1b5e9a2%1706887519.21', 'zlib/1.3.1#f52e03ae3d251dec704634230cd806a2%1708593606.497', 'fmt/10.2.1@corp/stable#9e2b5e6a%1700000000.0'],
  build_requires: ['cmake/3.28.1#4ae71c8d5e9c02fa7cb0de6fbd1a7b7a%1705504931.1', 'zlib/1.3.1#f52e03ae3d251dec704634230cd806a2%1708593606.497'],
  python_requires: ['pyreq/1.0#0123456789abcdef%1700000000.5'],
  config_requires: [],
};

const catalog = (body: string): ReturnType<typeof runCataloger> => runCataloger(conanLockCataloger, 'src/conan.lock', body);

test('Conan 1 graph lock: references with revisions, user/channel, build context, pref nodes, the graph', async () => {
  const { packages, warnings } = await catalog(JSON.stringify(CONAN1));
  assert.deepEqual(warnings, []);
  assert.deepEqual(packages, [
    { type: 'conan', name: 'openssl', version: '3.0.3', properties: { revision: '288ab73765e69844899535609ee0dfe4' }, dependsOn: ['conan:zlib@1.2.12'] },
    { type: 'conan', name: 'zlib', version: '1.2.12', properties: { revision: 'b76db676bd992afa93dd18a675323942' } },
    { type: 'conan', namespace: 'acme', name: 'mylib', version: '0.1.1', qualifiers: { channel: 'testing' } },
    { type: 'conan', name: 'cmake', version: '3.23.2', properties: { kind: 'build' }, dependsOn: ['conan:openssl@1.1.1q'] },
    { type: 'conan', name: 'openssl', version: '1.1.1q', properties: { revision: '0', kind: 'build' } },
  ]);
});

test('Conan 2 lock: requires, build, python requirements; duplicates once; a private user/channel', async () => {
  const { packages, warnings } = await catalog(JSON.stringify(CONAN2));
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    packages.map((p) => `${p.namespace !== undefined ? `${p.namespace}/` : ''}${p.name}@${p.version}${p.properties?.['kind'] !== undefined ? ` ${p.properties['kind']}` : ''}`),
    ['openssl@3.2.1', 'zlib@1.3.1', 'corp/fmt@10.2.1', 'cmake@3.28.1 build', 'pyreq@1.0 python'],
  );
  assert.deepEqual(packages[2], { type: 'conan', namespace: 'corp', name: 'fmt', version: '10.2.1', qualifiers: { channel: 'stable' }, properties: { revision: '9e2b5e6a' } });
});

test('Conan references', () => {
  assert.deepEqual(parseConanRef('pkgb/system'), { name: 'pkgb', version: 'system' });
  assert.deepEqual(parseConanRef('gtest/cci.20210126'), { name: 'gtest', version: 'cci.20210126' });
  assert.deepEqual(parseConanRef('pkg/1.0@user'), { name: 'pkg', version: '1.0', user: 'user' });
  for (const bad of ['conanfile.txt', 'x/1.0', 'a/b/c', 'zlib', 'zlib/1.0@', 'zlib/1.0#XYZ']) assert.equal(parseConanRef(bad), undefined, bad);
});

test('wants conan.lock only', () => {
  assert.ok(conanLockCataloger.wants('conan.lock', 1, 0o644));
  assert.ok(conanLockCataloger.wants('src/app/conan.lock', 1, 0o644));
  assert.ok(!conanLockCataloger.wants('src/app/myconan.lock', 1, 0o644));
  assert.ok(!conanLockCataloger.wants('src/app/conanfile.txt', 1, 0o644));
});

test('broken input warns: bad JSON, neither format, bad references, garbage', async () => {
  const garbage = GARBAGE.toString('latin1');
  for (const body of [garbage, '{"graph_lock": {', '{"version": "0.5"}', '[]']) {
    const { packages, warnings } = await catalog(body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const v2 = await catalog(JSON.stringify({ version: '0.5', requires: ['ok/1.0', 'bad', 7], build_requires: 'cmake/3.0' }));
  assert.deepEqual(v2.packages.map((p) => p.name), ['ok']);
  assert.equal(v2.warnings.length, 3, v2.warnings.join('; '));
  const v1 = await catalog(JSON.stringify({ graph_lock: { nodes: { '0': { path: 'conanfile.py', requires: ['1', '2'] }, '1': { ref: 'ok/2.0' }, '2': { ref: 'not a ref' }, '3': 'x' } } }));
  assert.deepEqual(v1.packages.map((p) => p.name), ['ok']);
  assert.equal(v1.warnings.length, 2, v1.warnings.join('; '));
});
