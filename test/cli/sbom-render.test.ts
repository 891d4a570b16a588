/**
 * The rendering cache of `portcullis sbom`: a cached CycloneDX or SPDX document must come back
 * with a fresh timestamp (and, for SPDX, a fresh document namespace), otherwise byte for byte.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderCached } from '../../src/cli/sbom.js';
import type { LayerCache } from '../../src/image/index.js';
import type { Inventory } from '../../src/sbom/index.js';

function memoryCache(): LayerCache & { size(): number } {
  const m = new Map<string, unknown>();
  return { get: (k) => Promise.resolve(m.get(k)), put: (k, v) => (m.set(k, v), Promise.resolve()), size: () => m.size };
}

const INVENTORY: Inventory = {
  subject: { reference: 'oci-dir:x:1', name: 'example/app', tag: '1', digest: `sha256:${'a'.repeat(64)}`, layers: [{ digest: `sha256:${'b'.repeat(64)}`, size: 10 }] },
  distro: { id: 'debian', versionId: '12' },
  packages: [
    { id: 'deb-bash-1', type: 'deb', name: 'bash', version: '5.2.15-2+b2', arch: 'amd64', purl: 'pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12', licenses: ['GPL-3.0-or-later'], locations: [{ path: 'var/lib/dpkg/status' }], dependsOn: [] },
  ],
  warnings: [],
};

/** Builds the inventory, counting how often it had to. */
function builder(inv: Inventory = INVENTORY): { build: () => Promise<Inventory>; calls: () => number } {
  let n = 0;
  return { build: () => ((n += 1), Promise.resolve(inv)), calls: () => n };
}

test('a cached CycloneDX rendering comes back with the current time, the rest unchanged, without building again', async () => {
  const cache = memoryCache();
  const counter = builder({ ...INVENTORY, warnings: ['a layer ends early'] });
  const first = await renderCached('cyclonedx-json', cache, 'img-1', counter.build);
  assert.equal(cache.size(), 1);
  await new Promise((r) => setTimeout(r, 5));
  const again = await renderCached('cyclonedx-json', cache, 'img-1', counter.build);
  assert.equal(counter.calls(), 1, 'the second rendering needs no inventory');
  assert.deepEqual(again.warnings, ['a layer ends early'], 'warnings are kept with the rendering');
  const second = again.text;
  const a = JSON.parse(first.text) as { metadata: { timestamp: string } };
  const b = JSON.parse(second) as { metadata: { timestamp: string } };
  for (const doc of [a, b]) assert.ok(Date.now() - Date.parse(doc.metadata.timestamp) < 60_000, `a fresh timestamp, not ${doc.metadata.timestamp}`);
  assert.notEqual(a.metadata.timestamp, b.metadata.timestamp);
  assert.deepEqual({ ...a, metadata: { ...a.metadata, timestamp: '' } }, { ...b, metadata: { ...b.metadata, timestamp: '' } });
});

test('a cached SPDX rendering gets a fresh creation time and a new document namespace', async () => {
  const cache = memoryCache();
  const a = JSON.parse((await renderCached('spdx-json', cache, 'img-1', builder().build)).text) as { documentNamespace: string; creationInfo: { created: string } };
  const b = JSON.parse((await renderCached('spdx-json', cache, 'img-1', builder().build)).text) as { documentNamespace: string; creationInfo: { created: string } };
  assert.notEqual(a.documentNamespace, b.documentNamespace);
  assert.doesNotMatch(a.documentNamespace, /00000000-0000-4000-8000-000000000000/);
  for (const d of [a, b]) assert.ok(Date.now() - Date.parse(d.creationInfo.created) < 60_000);
});

test('another key, or no key (a directory), builds and renders anew', async () => {
  const cache = memoryCache();
  await renderCached('cyclonedx-json', cache, 'img-1', builder().build);
  const other = { ...INVENTORY, packages: [{ ...INVENTORY.packages[0]!, version: '5.2.15-3' }] };
  const b = builder(other);
  assert.match((await renderCached('cyclonedx-json', cache, 'img-2', b.build)).text, /5\.2\.15-3/);
  assert.match((await renderCached('cyclonedx-json', cache, undefined, b.build)).text, /5\.2\.15-3/);
  assert.equal(b.calls(), 2);
  assert.equal(cache.size(), 2, 'nothing is cached without a key');
  // Table and JSON are cheap: never cached.
  await renderCached('table', cache, 'img-1', b.build);
  assert.equal(cache.size(), 2);
});
