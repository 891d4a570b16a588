/**
 * `portcullis db update` against the default feed set at its real size (bench/lib/feed-fixture.ts),
 * served locally: the full build (time, peak RSS; target ≤ 1 GB) and an update in which every
 * feed is unchanged (conditional requests only; target ≤ 2 s). Rows for bench:scan.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFullFeeds, feedsFile, serveFeeds } from './feed-fixture.js';
import { lastLines, measure, median } from './measure.js';

export const TARGET_BUILD_RSS_MB = 1000;
export const TARGET_UNCHANGED_S = 2;

export interface FullUpdate {
  readonly feeds: number;
  readonly feedBytes: number;
  readonly buildSeconds: number;
  readonly buildRss: number;
  readonly dbBytes: number;
  readonly unchangedSeconds: number;
  readonly unchangedRuns: readonly number[];
  /** The last lines the build printed (its per-feed summary). */
  readonly summary: string;
  readonly error?: string;
}

export async function fullDbUpdate(cli: string, log: (m: string) => void): Promise<FullUpdate> {
  const files = await ensureFullFeeds(log);
  const served = await serveFeeds(files);
  const dir = mkdtempSync(join(tmpdir(), 'bench-db-full-'));
  try {
    const feeds = join(dir, 'feeds.txt');
    writeFileSync(feeds, feedsFile(files, served.url));
    const db = join(dir, 'advisory.db');
    const args = [cli, 'db', 'update', '--feeds', feeds, '--db', db];
    log(`db update from the full default feed set (${files.paths.length} feeds, ${(files.bytes / 1e9).toFixed(2)} GB)...`);
    const build = await measure(process.execPath, args);
    const base = { feeds: files.paths.length, feedBytes: files.bytes, buildSeconds: build.seconds, buildRss: build.rss, summary: lastLines(build.stderr, 12) };
    if (!build.ok) return { ...base, dbBytes: NaN, unchangedSeconds: NaN, unchangedRuns: [], error: `the full update exited with ${build.code}: ${lastLines(build.stderr, 12)}` };
    const dbBytes = statSync(db).size;
    log('db update again, every feed unchanged (median of 3)...');
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await measure(process.execPath, args);
      if (!r.ok || !/no feed changed/.test(r.stderr)) return { ...base, dbBytes, unchangedSeconds: NaN, unchangedRuns: runs, error: `an unchanged update did not say so: ${lastLines(r.stderr, 8)}` };
      runs.push(r.seconds);
    }
    return { ...base, dbBytes, unchangedSeconds: median(runs), unchangedRuns: runs };
  } finally {
    served.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
