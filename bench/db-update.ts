/**
 * npm run bench:db-update — `portcullis db update` (a CLI process, startup included) against the
 * default feed set's count of feeds served from a local HTTP server with ETags:
 *   first      every feed downloaded and the DB built;
 *   unchanged  every feed unchanged: conditional requests only, no rebuild (target ≤ 2 s).
 * Each feed is a generated OSV JSON array (FEED_RECORDS records), the same size as a small real
 * feed: a quick check. The default set at its real size (the full build's time and peak RSS, and
 * the unchanged update against it) is measured by bench:scan (bench/lib/db-update-full.ts).
 * Results on stdout, progress on stderr. Not a test: nothing here asserts.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultFeeds } from '../src/vuln/index.js';
import { measure, median } from './lib/measure.js';

const TARGET_UNCHANGED_S = 2;
const FEED_RECORDS = 200;
const ECOSYSTEMS = ['npm', 'PyPI', 'Go', 'Maven', 'crates.io', 'RubyGems', 'Packagist', 'NuGet'];
const cli = resolve(import.meta.dirname, '../src/cli/main.js');
const log = (m: string): void => void process.stderr.write(`${m}\n`);

function feed(i: number): Buffer {
  const eco = ECOSYSTEMS[i % ECOSYSTEMS.length]!;
  const records = Array.from({ length: FEED_RECORDS }, (_, j) => ({
    id: `GHSA-bnch-${String(i).padStart(4, '0')}-${String(j).padStart(4, '0')}`,
    modified: '2026-01-01T00:00:00Z',
    aliases: [`CVE-2026-${String(10000 + i * FEED_RECORDS + j)}`],
    summary: `benchmark advisory ${i}/${j}`,
    affected: [{ package: { ecosystem: eco, name: `bench-pkg-${j}` }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `1.${j}.0` }] }] }],
    database_specific: { severity: 'HIGH' },
  }));
  return Buffer.from(JSON.stringify(records));
}

async function main(): Promise<void> {
  const count = defaultFeeds().length;
  const bodies = Array.from({ length: count }, (_, i) => feed(i));
  const server = createServer((req, res) => {
    const i = Number(/^\/feed-(\d+)\.json$/.exec(req.url ?? '')?.[1] ?? NaN);
    const body = bodies[i];
    if (body === undefined) return void res.writeHead(404).end();
    const etag = `"f${i}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { ETag: etag }).end();
    res.writeHead(200, { ETag: etag, 'Content-Length': body.length }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'bench-db-update-'));
  try {
    const feeds = join(dir, 'feeds.txt');
    writeFileSync(feeds, bodies.map((_, i) => `http://127.0.0.1:${port}/feed-${i}.json`).join('\n'));
    const args = [cli, 'db', 'update', '--feeds', feeds, '--db', join(dir, 'advisory.db')];
    log(`db update, first: ${count} feeds...`);
    const first = await measure(process.execPath, args);
    if (!first.ok) throw new Error(`the first update failed: ${first.stderr}`);
    const unchanged = [];
    for (let i = 0; i < 5; i++) {
      const r = await measure(process.execPath, args);
      if (!r.ok || !/no feed changed/.test(r.stderr)) throw new Error(`an unchanged update did not say so: ${r.stderr.slice(-500)}`);
      unchanged.push(r);
    }
    const med = median(unchanged.map((r) => r.seconds));
    const mb = (n: number): string => (Number.isFinite(n) ? (n / 1e6).toFixed(0) : '?');
    console.log(`\ndb update benchmark (${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs): ${count} feeds (the default set's count), ${FEED_RECORDS} OSV records each, served locally`);
    console.log(`first (download and build)       ${first.seconds.toFixed(2)} s   peak RSS ${mb(first.rss)} MB`);
    console.log(`unchanged (304s, no rebuild)     ${med.toFixed(2)} s   (median of 5; runs ${unchanged.map((r) => r.seconds.toFixed(2)).join(', ')})   target ≤ ${TARGET_UNCHANGED_S} s   ${med <= TARGET_UNCHANGED_S ? 'ok' : 'MISSED'}`);
  } finally {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:db-update failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
