/**
 * Keeping the advisory DB current (`portcullis db update`, the registry's `scan.update`): each feed
 * URL is fetched into a cache directory with a conditional request (If-None-Match /
 * If-Modified-Since), so an unchanged feed costs a round trip; a download replaces its cached copy
 * only whole and only once it reads as a feed (a truncated gzip, an HTML error page, another
 * schema: refused), so a feed that fails keeps its previous data. The DB is rebuilt from the cached
 * copies beside the old one, opened to validate it, then renamed over it; when no feed changed it
 * is not rebuilt at all.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeNetworkFailure, httpExchange, networkReason, replyHeader, type HttpReply } from '../shared/index.js';
import { AdvisoryDb, buildAdvisoryDb, type DbInfo } from './db.js';
import { VulnError } from './errors.js';
import { detectFeedFormat, readFeeds, type FeedFile } from './feed-files.js';
import { describeStatus, drain } from './feed-streams.js';

export interface FeedState {
  readonly url: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** When a download last succeeded (or the server said the copy is current). */
  readonly lastSuccess?: string;
  readonly lastError?: { readonly at: string; readonly message: string };
  readonly bytes?: number;
}

export type FeedOutcome = { readonly url: string; readonly result: 'updated' | 'unchanged' } | { readonly url: string; readonly result: 'failed'; readonly error: string; readonly kept: boolean };

/** Where an update stands, for a progress line: a download's bytes, then the build's feeds and records. */
export type UpdateProgress =
  | { readonly phase: 'download'; readonly url: string; readonly bytes: number; readonly total?: number }
  | { readonly phase: 'check'; readonly url: string }
  | { readonly phase: 'build'; readonly url: string; readonly feed: number; readonly feeds: number; readonly files: number; readonly records: number };

export interface UpdateOptions {
  readonly cacheDir: string;
  /** The most bytes one feed may have. Default 4 GiB (osv.dev's largest all.zip is ~1 GB). */
  readonly maxBytes?: number;
  /** How long one download may take. Default 20 minutes. */
  readonly timeoutMs?: number;
  /** Feeds fetched at once. Default 4. */
  readonly concurrency?: number;
  readonly now?: () => Date;
  readonly onFeed?: (outcome: FeedOutcome) => void;
  readonly onError?: (line: string) => void;
  /** Called often (every chunk, every file read): the receiver throttles what it draws. */
  readonly onProgress?: (progress: UpdateProgress) => void;
}

export interface UpdateResult {
  readonly feeds: readonly FeedOutcome[];
  /** Whether a new DB was built and swapped in (false: nothing changed, or nothing to build from). */
  readonly rebuilt: boolean;
  readonly info?: DbInfo;
}

const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
const DEFAULT_TIMEOUT_MS = 20 * 60 * 1000;
const TRIAL_BYTES = 64 * 1024 * 1024;
const TRIAL_FILES = 100;

/** The cache entry of a URL: a directory named by its hash, holding `meta.json` and the feed under its own file name. */
function entryOf(cacheDir: string, url: string): { dir: string; file: string; meta: string } {
  const dir = join(cacheDir, createHash('sha256').update(url).digest('hex').slice(0, 32));
  const name = (basename(new URL(url).pathname) || 'feed').replace(/[^A-Za-z0-9._-]/g, '_').slice(-100) || 'feed';
  return { dir, file: join(dir, name), meta: join(dir, 'meta.json') };
}

async function readState(path: string, url: string): Promise<FeedState> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as FeedState;
    return s.url === url ? s : { url };
  } catch {
    return { url };
  }
}

/** Writes `data` to `path` whole: a temporary file, fsync, rename. */
async function writeWhole(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/**
 * Whether a downloaded file reads as a feed: its kind is one the DB reads, a gzip decompresses to
 * its end, a zip has its central directory; a small JSON document is one of the known formats.
 */
async function checkFeedFile(path: string, label: string): Promise<void> {
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(512), 0, 512, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const kind = detectFeedFormat(head, label);
  if (kind === undefined) throw new VulnError('FEED_INVALID', `${label}: the download is not a feed (not JSON, YAML, XML, CSV, gzip, bzip2 or zip): kept the previous copy`);
  if (kind === 'gzip' || kind === 'bzip2') {
    try {
      await drain(path, kind);
    } catch (err) {
      throw new VulnError('FEED_INVALID', `${label}: a truncated or corrupt ${kind} download (${networkReason(err)}): kept the previous copy`, { cause: err });
    }
  }
  const size = (await stat(path)).size;
  if (kind === 'zip') {
    // A zip ends with its end-of-central-directory record: a truncated download has none.
    const tail = Buffer.alloc(Math.min(size, 65_557));
    const fz = await open(path, 'r');
    try {
      await fz.read(tail, 0, tail.length, size - tail.length);
    } finally {
      await fz.close();
    }
    if (tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) < 0) throw new VulnError('FEED_INVALID', `${label}: a truncated zip download (no central directory): kept the previous copy`);
  }
  // Up to TRIAL_BYTES the download's first TRIAL_FILES files (a zip's entries, an NVD feed's
  // batches) are read as the DB build will read them; past that (osv.dev's npm all.zip) the checks
  // above stand for it. The build reads it all: the trial only keeps a document of another kind out.
  if (size > TRIAL_BYTES) return;
  let fatal: string | undefined;
  let n = 0;
  try {
    for await (const f of readFeeds(path)) {
      if (f.format === 'unknown') fatal = f.records.errors[0];
      if (fatal !== undefined || ++n >= TRIAL_FILES) break;
    }
  } catch (err) {
    fatal = err instanceof Error ? err.message : String(err);
  }
  if (fatal !== undefined) throw new VulnError('FEED_INVALID', `${label}: the download does not read as a feed (${fatal}): kept the previous copy`);
}

/** Fetches one feed into the cache, conditionally; never throws: a failure is an outcome. */
export async function refreshFeed(url: string, o: UpdateOptions): Promise<FeedOutcome> {
  const now = (o.now ?? (() => new Date()))();
  const e = entryOf(o.cacheDir, url);
  await mkdir(e.dir, { recursive: true });
  const state = await readState(e.meta, url);
  const haveCopy = await stat(e.file).then(() => true, () => false);
  const headers: Record<string, string> = { 'User-Agent': 'portcullis', 'Accept-Encoding': 'identity' };
  if (haveCopy && state.etag !== undefined) headers['If-None-Match'] = state.etag;
  if (haveCopy && state.lastModified !== undefined) headers['If-Modified-Since'] = state.lastModified;
  const signal = AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const fail = async (message: string): Promise<FeedOutcome> => {
    await writeWhole(e.meta, JSON.stringify({ ...state, lastError: { at: now.toISOString(), message } }));
    return { url, result: 'failed', error: message, kept: haveCopy };
  };
  const tmp = `${e.file}.${process.pid}.download`;
  try {
    let res: HttpReply | undefined;
    let at = url;
    for (let hop = 0; hop < 5; hop++) {
      res = await httpExchange(at, { headers, signal });
      const location = replyHeader(res, 'location');
      if (res.statusCode < 300 || res.statusCode >= 400 || location === undefined) break;
      await res.body.dump();
      at = new URL(location, at).toString();
    }
    if (res === undefined) return await fail('no answer');
    if (res.statusCode === 304) {
      await res.body.dump();
      await writeWhole(e.meta, JSON.stringify({ ...state, lastSuccess: now.toISOString() }));
      return { url, result: 'unchanged' };
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      return await fail(describeStatus(res.statusCode));
    }
    const declared = Number(replyHeader(res, 'content-length') ?? NaN);
    if (declared > maxBytes) {
      res.body.destroy();
      return await fail(`${declared} bytes, more than the ${maxBytes} allowed`);
    }
    let total = 0;
    const fh = await open(tmp, 'w', 0o600);
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) {
          res.body.destroy();
          throw new VulnError('FEED_UNREADABLE', `more than the ${maxBytes} bytes allowed`);
        }
        await fh.write(chunk);
        o.onProgress?.({ phase: 'download', url, bytes: total, ...(Number.isFinite(declared) ? { total: declared } : {}) });
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    o.onProgress?.({ phase: 'check', url });
    await checkFeedFile(tmp, url);
    await rename(tmp, e.file);
    const etag = replyHeader(res, 'etag');
    const lastModified = replyHeader(res, 'last-modified');
    await writeWhole(e.meta, JSON.stringify({ url, ...(etag !== undefined ? { etag } : {}), ...(lastModified !== undefined ? { lastModified } : {}), lastSuccess: now.toISOString(), bytes: total }));
    return { url, result: 'updated' };
  } catch (err) {
    await rm(tmp, { force: true });
    const message = signal.aborted ? `timed out after ${o.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : err instanceof VulnError ? err.message.replace(`${url}: `, '') : `download failed: ${describeNetworkFailure(err)}`;
    return fail(message);
  }
}

/** The cached copies, as they stand: what a DB built now is built from. */
async function cacheFingerprint(urls: readonly string[], cacheDir: string): Promise<string> {
  const h = createHash('sha256');
  for (const url of urls) {
    const e = entryOf(cacheDir, url);
    const s = await stat(e.file).catch(() => undefined);
    const state = await readState(e.meta, url);
    h.update(`${url}\u0000${s === undefined ? '-' : `${s.size}:${s.mtimeMs}`}\u0000${state.etag ?? ''}\u0000${state.lastModified ?? ''}\n`);
  }
  return h.digest('hex');
}

/** The state of each feed of the last update, kept beside the DB (`advisory.db.feeds.json`). */
export function feedStatePath(dbPath: string): string {
  return `${dbPath}.feeds.json`;
}

export interface FeedsFile {
  readonly fingerprint: string;
  readonly updatedAt: string;
  readonly feeds: readonly FeedState[];
}

/** Refreshes every feed, then rebuilds the DB from the cached copies when any changed. */
export async function updateAdvisoryDb(dbPath: string, urls: readonly string[], o: UpdateOptions): Promise<UpdateResult> {
  const queue = [...urls];
  const outcomes = new Map<string, FeedOutcome>();
  const workers = Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, queue.length)) }, async () => {
    for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
      const outcome = await refreshFeed(url, o);
      outcomes.set(url, outcome);
      o.onFeed?.(outcome);
    }
  });
  await Promise.all(workers);
  const feeds = urls.map((u) => outcomes.get(u)!);
  const fingerprint = await cacheFingerprint(urls, o.cacheDir);
  const previous = await readFile(feedStatePath(dbPath), 'utf8').then((t) => JSON.parse(t) as FeedsFile, () => undefined);
  const dbExists = await stat(dbPath).then(() => true, () => false);
  const states = await Promise.all(urls.map((u) => readState(entryOf(o.cacheDir, u).meta, u)));
  const record = (): Promise<void> => writeWhole(feedStatePath(dbPath), JSON.stringify({ fingerprint, updatedAt: (o.now ?? (() => new Date()))().toISOString(), feeds: states } satisfies FeedsFile));
  if (dbExists && previous?.fingerprint === fingerprint) {
    await record();
    return { feeds, rebuilt: false };
  }
  const cached = [];
  for (const url of urls) {
    const e = entryOf(o.cacheDir, url);
    if (await stat(e.file).then(() => true, () => false)) cached.push({ url, file: e.file });
  }
  if (cached.length === 0) return { feeds, rebuilt: false };
  await mkdir(dirname(dbPath), { recursive: true });
  const building = join(dirname(dbPath), `.${basename(dbPath)}.update`);
  const info = await buildAdvisoryDb(
    building,
    cached.map((c, i) => ({ feed: c.url, files: relabel(readFeeds(c.file), c.file, c.url, (files, records) => o.onProgress?.({ phase: 'build', url: c.url, feed: i + 1, feeds: cached.length, files, records })) })),
    { ...(o.onError !== undefined ? { onError: o.onError } : {}), ...(o.now !== undefined ? { now: o.now() } : {}) },
  );
  try {
    AdvisoryDb.open(building).close();
  } catch (err) {
    await rm(building, { force: true });
    throw err;
  }
  await rename(building, dbPath);
  await record();
  return { feeds, rebuilt: true, info };
}

/** The records of a cached copy, named by the feed's URL rather than the cache's path; `progress` counts them. */
async function* relabel(files: AsyncIterable<FeedFile>, path: string, url: string, progress: (files: number, records: number) => void): AsyncGenerator<{ file: string; records: FeedFile['records'] }> {
  for await (const f of counted(files, progress)) yield { file: f.file.replace(path, url), records: f.records };
}

/** Passes feed files on, telling how many files and records (vulnerabilities and affected packages) went by: a progress line's numbers. */
export async function* counted<T extends { readonly records: Pick<FeedFile['records'], 'vulnerabilities' | 'affected'> }>(files: AsyncIterable<T>, tell: (files: number, records: number) => void): AsyncGenerator<T> {
  let n = 0;
  let records = 0;
  tell(0, 0);
  for await (const f of files) {
    n += 1;
    records += f.records.vulnerabilities.length + f.records.affected.length;
    tell(n, records);
    yield f;
  }
}
