/**
 * The heavy half of the registry's advisory DB update, run in a job thread (downloads are I/O,
 * but reading the feeds and building the DB hold the event loop for minutes): `db update`'s own
 * code fetches the feeds into the cache and rebuilds the DB beside it; the DB is then packed (gzip,
 * digest) when it is a newer build than the one the replicas have and lacks no feed that one has.
 */
import { readFile, rm } from 'node:fs/promises';
import { AdvisoryDb, feedStatePath, packAdvisoryDb, updateAdvisoryDb, type DbInfo, type FeedOutcome, type FeedsFile, type FeedState, type PackedDb } from '../vuln/index.js';

export interface DbUpdateTask {
  readonly kind: 'db-update';
  /** The DB this replica builds (in the feed cache, apart from the live DB the scans read). */
  readonly buildPath: string;
  readonly cacheDir: string;
  readonly urls: readonly string[];
  /** The DB the replicas have now (its sources: a new build must not lose one of them). */
  readonly livePath: string;
  /** The build the replicas were last handed (null: none): the DB is packed only when newer. */
  readonly publishedBuiltAt: string | null;
  /** Where the packed DB is written. */
  readonly packTo: string;
}

export interface DbUpdateOutcome {
  readonly kind: 'db-update';
  readonly feeds: readonly FeedOutcome[];
  /** Each feed's state as the cache records it (absent when no feed could ever be fetched). */
  readonly states: readonly FeedState[];
  readonly rebuilt: boolean;
  /** Records the feeds held that could not be read (skipped). */
  readonly skippedRecords: number;
  /** The build DB as it is now (undefined: none could be built). */
  readonly info?: DbInfo;
  /** Configured feeds the live DB has and this build lacks (none fetched, none cached): it is not handed on. */
  readonly lost: readonly string[];
  readonly packed?: PackedDb;
}

function infoOf(path: string): DbInfo | undefined {
  try {
    const db = AdvisoryDb.open(path);
    const info = db.info;
    db.close();
    return info;
  } catch {
    return undefined;
  }
}

export async function runDbUpdate(task: DbUpdateTask): Promise<DbUpdateOutcome> {
  let skippedRecords = 0;
  const result = await updateAdvisoryDb(task.buildPath, task.urls, { cacheDir: task.cacheDir, onError: () => void (skippedRecords += 1) });
  const file = await readFile(feedStatePath(task.buildPath), 'utf8').then((t) => JSON.parse(t) as FeedsFile, () => undefined);
  const info = infoOf(task.buildPath);
  const built = new Set(info?.sources.map((s) => s.feed) ?? []);
  const live = new Set(infoOf(task.livePath)?.sources.map((s) => s.feed) ?? []);
  const lost = task.urls.filter((u) => live.has(u) && !built.has(u));
  let packed: PackedDb | undefined;
  const newer = info !== undefined && (task.publishedBuiltAt === null || Date.parse(info.builtAt) > Date.parse(task.publishedBuiltAt));
  if (info !== undefined && newer && lost.length === 0) {
    try {
      packed = await packAdvisoryDb(task.buildPath, task.packTo);
    } catch (err) {
      await rm(task.packTo, { force: true });
      throw err;
    }
  }
  return { kind: 'db-update', feeds: result.feeds, states: file?.feeds ?? [], rebuilt: result.rebuilt, skippedRecords, ...(info !== undefined ? { info } : {}), lost, ...(packed !== undefined ? { packed } : {}) };
}
