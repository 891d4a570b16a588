import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { OCI_ERROR_STATUS } from '../src/oci/index.js';
import { API_ERROR_STATUS } from '../src/registry/index.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

function table(section: string): Map<string, number> {
  const start = doc.indexOf(section);
  assert.ok(start >= 0, `docs/errors.md has no section "${section}"`);
  const end = doc.indexOf('\n## ', start + 1);
  const body = doc.slice(start, end < 0 ? undefined : end);
  return new Map([...body.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
}

test('every distribution error code is documented with its status, and nothing else', () => {
  assert.deepEqual(Object.fromEntries(table('## Distribution API')), { ...OCI_ERROR_STATUS });
});

test('every management API error code is documented with its status, and nothing else', () => {
  assert.deepEqual(Object.fromEntries(table('## Management API')), { ...API_ERROR_STATUS });
});
