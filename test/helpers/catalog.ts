/**
 * Running one cataloger on one file in a test, as the reader does: its findings' packages, and
 * its warnings, where a thrown error becomes one more warning (a cataloger may throw on a file it
 * cannot read; the reader turns that into a warning for the file).
 */
import assert from 'node:assert/strict';
import { fileFromBytes, type Cataloger, type RawPackage } from '../../src/sbom/index.js';

export async function runCataloger(c: Cataloger, path: string, body: string | Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  try {
    const findings = await c.parse(fileFromBytes(path, typeof body === 'string' ? Buffer.from(body) : body), { warn: (m) => warnings.push(m) });
    return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
  } catch (err) {
    assert.ok(err instanceof Error, `parse threw a non-Error: ${String(err)}`);
    return { packages: [], warnings: [...warnings, err.message] };
  }
}

/** 64 KiB of deterministic binary garbage, for the "garbage in, one warning out" checks. */
export const GARBAGE = Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % 251));
