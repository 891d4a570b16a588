/**
 * bun.lock against what Bun installed from it. The lockfiles were written by Bun 1.4.5 and 1.2.0
 * (see the fixtures' README); the expected packages are the name@version of every package.json that
 * `bun install --linker hoisted` put in node_modules, less the tarball and `file:` dependencies
 * (is-number@5.0.0, local-lib@0.0.1), and the dev ones are those `--production` left out.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { RawPackage } from '../../../src/sbom/index.js';
import { bunLockCataloger, parseJsonc } from '../../../src/sbom/catalogers/bun.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const FIXTURES = new URL('../../../../test/fixtures/sbom/lang/bun/', import.meta.url);

const catalog = (path: string, bytes: Uint8Array): ReturnType<typeof runCataloger> => runCataloger(bunLockCataloger, path, bytes);

const full = (p: RawPackage): string => (p.namespace !== undefined ? `${p.namespace}/${p.name}` : p.name);

function summary(packages: readonly RawPackage[]): string[] {
  return packages
    .map((p) => {
      const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('npm:'.length)).sort();
      return `${full(p)}@${p.version}${p.properties?.['dev'] === 'true' ? ' dev' : ''}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
    })
    .sort();
}

const EXPECTED = [
  '@types/semver@7.5.8',
  'debug@4.3.4 dev -> ms@2.1.2',
  'is-buffer@1.1.6',
  'is-even@1.0.0 -> is-odd@0.1.2',
  'is-number@3.0.0 -> kind-of@3.2.2',
  'is-number@6.0.0',
  'is-number@7.0.0',
  'is-odd@0.1.2 -> is-number@3.0.0',
  'is-odd@3.0.1 -> is-number@6.0.0',
  'kind-of@3.2.2 -> is-buffer@1.1.6',
  'ms@2.0.0',
  'ms@2.1.2 dev',
  'ms@2.1.3 dev',
  'util@0.2.0 -> ms@2.0.0',
];

for (const version of ['bun-1.4.5', 'bun-1.2.0']) {
  test(`bun.lock by ${version}: registry packages and the versioned workspace, nested copies resolved, aliases by their real name, dev`, async () => {
    const { packages, warnings } = await catalog('srv/app/bun.lock', readFileSync(new URL(`${version}/bun.lock`, FIXTURES)));
    assert.deepEqual(warnings, []);
    assert.deepEqual(summary(packages), EXPECTED);
    assert.deepEqual(
      packages.find((p) => p.name === 'semver'),
      { type: 'npm', namespace: '@types', name: 'semver', version: '7.5.8' },
    );
  });
}

test('wants bun.lock outside node_modules only', () => {
  assert.ok(bunLockCataloger.wants('bun.lock', 1, 0o644));
  assert.ok(bunLockCataloger.wants('app/bun.lock', 1, 0o644));
  assert.ok(!bunLockCataloger.wants('app/node_modules/x/bun.lock', 1, 0o644));
  assert.ok(!bunLockCataloger.wants('app/bun.lockb', 1, 0o644));
  assert.ok(!bunLockCataloger.wants('app/my-bun.lock', 1, 0o644));
});

test('JSONC: comments and trailing commas go, strings keep them', () => {
  assert.deepEqual(parseJsonc('{ // c\n "a": "x, //y /*z*/", /* b */ "b": [1, 2,], }'), { a: 'x, //y /*z*/', b: [1, 2] });
  assert.deepEqual(parseJsonc('{"a\\"b": ",}"}'), { 'a"b': ',}' });
  assert.throws(() => parseJsonc('[1,,2]'));
  assert.throws(() => parseJsonc('{"a": 1 /* open'));
});

test('broken input warns: bad JSONC, no packages, malformed entries, garbage', async () => {
  for (const body of [GARBAGE, Buffer.from('{"packages": {'), Buffer.from('{"lockfileVersion": 1}'), Buffer.from('[]')]) {
    const { packages, warnings } = await catalog('bun.lock', body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const doc = { lockfileVersion: 1, workspaces: { '': { name: 'x', dependencies: { ok: '1.0.0' } } }, packages: { ok: ['ok@1.0.0', '', {}, 'sha512-x'], bad: 'ok@1', empty: [], noname: ['@1.0.0', ''] } };
  const { packages, warnings } = await catalog('bun.lock', Buffer.from(JSON.stringify(doc)));
  assert.deepEqual(summary(packages), ['ok@1.0.0']);
  assert.equal(warnings.length, 3, warnings.join('; '));
});
