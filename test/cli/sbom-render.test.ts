/**
 * The rendering cache of `portcullis sbom`: a cached CycloneDX or SPDX document must come back
 * with a fresh timestamp (and, for SPDX, a fresh document namespace), otherwise byte for byte.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSbom } from '../../src/cli/sbom.js';
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

test('a cached CycloneDX rendering comes back with the current time, the rest unchanged', async () => {
  const cache = memoryCache();
  const first = await renderSbom(INVENTORY, 'cyclonedx-json', cache);
  assert.equal(cache.size(), 1);
  await new Promise((r) => setTimeout(r, 5));
  const second = await renderSbom(INVENTORY, 'cyclonedx-json', cache);
  const a = JSON.parse(first) as { metadata: { timestamp: string } };
  const b = JSON.parse(second) as { metadata: { timestamp: string } };
  for (const doc of [a, b]) assert.ok(Date.now() - Date.parse(doc.metadata.timestamp) < 60_000, `a fresh timestamp, not ${doc.metadata.timestamp}`);
  assert.notEqual(a.metadata.timestamp, b.metadata.timestamp);
  assert.deepEqual({ ...a, metadata: { ...a.metadata, timestamp: '' } }, { ...b, metadata: { ...b.metadata, timestamp: '' } });
});

test('a cached SPDX rendering gets a fresh creation time and a new document namespace', async () => {
  const cache = memoryCache();
  const a = JSON.parse(await renderSbom(INVENTORY, 'spdx-json', cache)) as { documentNamespace: string; creationInfo: { created: string } };
  const b = JSON.parse(await renderSbom(INVENTORY, 'spdx-json', cache)) as { documentNamespace: string; creationInfo: { created: string } };
  assert.notEqual(a.documentNamespace, b.documentNamespace);
  assert.doesNotMatch(a.documentNamespace, /00000000-0000-4000-8000-000000000000/);
  for (const d of [a, b]) assert.ok(Date.now() - Date.parse(d.creationInfo.created) < 60_000);
});

test('another inventory is not served from the cache', async () => {
  const cache = memoryCache();
  await renderSbom(INVENTORY, 'cyclonedx-json', cache);
  const other = { ...INVENTORY, packages: [{ ...INVENTORY.packages[0]!, version: '5.2.15-3' }] };
  const text = await renderSbom(other, 'cyclonedx-json', cache);
  assert.match(text, /5\.2\.15-3/);
  assert.equal(cache.size(), 2);
});
