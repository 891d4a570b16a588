/**
 * A DB that keeps itself current (`scan.update`). Every `interval` one replica at a time, holding
 * the update job's lease in the durable queue, runs `db update`'s code in a job thread: the feeds
 * that changed are fetched into the cache beside the DB (`feeds/`, conditional requests) and a DB
 * is built there, apart from the live one. A newer build that lost none of the feeds the current
 * DB has is *published*: stored gzip-compressed in the blob store (content-addressed, the form
 * `db push` ships), pinned there so garbage collection keeps it, and named in a setting. Every
 * replica, the builder included, polls that setting and installs a DB it names the way `db pull`
 * does (digest checked, opened, then renamed over `scan.db`); the scan service then re-evaluates
 * the stored images. The previous DB blob is deleted once unpinned for longer than `gc.grace`.
 *
 * Which replica updates: the job of each interval is keyed by the interval's start, so replicas
 * queue it once and one claims it. The replica that ran the last update goes first (its feed
 * cache is warm: conditional requests only); the others wait a little before they take it over.
 * A failed update logs a warning and is shown by GET /api/v1/system/vulndb; scanning goes on with
 * the DB there is.
 */
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { asDigest } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import type { BlobStore, MetadataStore } from '../storage/index.js';
import { feedStatePath, installAdvisoryDb, type DbInfo, type FeedsFile, type FeedState, type PackedDb } from '../vuln/index.js';
import type { DbUpdateOutcome } from './advisory-db-task.js';
import { JobThread } from './job-thread.js';
import { DEFAULT_LEASE_MS, JobWorker, type RunningJob } from './job-worker.js';

export const DB_UPDATE_JOB = 'vulndb-update';
/** The name the published DB blob is pinned under. */
const PIN = 'advisory-db';
/** The DB the last update published: what every replica polls. */
const PUBLISHED = 'scan.db.published';
/** How the last update went (GET /api/v1/system/vulndb). */
const STATUS = 'scan.db.update';
/** Where in each interval this registry's updates fall, chosen once: installations do not all fetch the feeds at midnight. */
const PHASE = 'scan.db.update-phase';
/** How long one update may run in its thread. */
const UPDATE_TIMEOUT_MS = 6 * 3_600_000;
/** While there is no DB anywhere, a failed update is tried again this often (or every interval, when shorter). */
const NO_DB_RETRY_MS = 15 * 60_000;
/** Blobs of DBs published before that are kept on the list to delete (older ones are left to garbage collection). */
const MAX_RETIRED = 10;

/** The published DB, as the setting records it. */
interface PublishedDb {
  readonly digest: string;
  readonly size: number;
  readonly builtAt: string;
  readonly schemaVersion: number;
  readonly publishedAt: string;
  readonly holder: string;
  /** Blobs of DBs published before, deleted once `gc.grace` has passed since they were unpinned. */
  readonly retired: readonly string[];
}

export interface FeedView {
  /** The feed's URL without user information, and with query values that look like secrets replaced. */
  readonly url: string;
  /** What its last fetch did: `unchanged` (304, or the copy is current), `updated`, `failed` (its previous copy, if any, is used). */
  readonly result: 'updated' | 'unchanged' | 'failed' | null;
  readonly lastSuccess: string | null;
  readonly lastError: { readonly at: string; readonly message: string } | null;
  readonly etag?: string;
  readonly size?: number;
}

/** How the last update went, as the replica that ran it recorded it. */
interface UpdateStatus {
  /** The replica that ran (or runs) the last update. */
  readonly holder?: string;
  readonly runningSince?: string;
  readonly lastRun?: string;
  readonly lastSuccess?: string;
  /** The last run's problem (failed feeds, a DB not handed on, a failure); absent when it had none. */
  readonly lastError?: { readonly at: string; readonly message: string };
  readonly feeds?: readonly FeedView[];
}

export interface UpdateView {
  readonly enabled: boolean;
  readonly intervalSeconds: number;
  readonly running: boolean;
  readonly holder: string | null;
  readonly lastRun: string | null;
  readonly lastSuccess: string | null;
  readonly lastError: { readonly at: string; readonly message: string } | null;
  readonly nextRun: string | null;
}

/** GET /api/v1/system/vulndb. */
export type VulnDbView =
  | {
      readonly present: true;
      readonly builtAt: string;
      readonly ageSeconds: number;
      readonly stale: boolean;
      readonly maxAgeSeconds: number;
      readonly schema: number;
      readonly counts: DbInfo['counts'];
      /** `update`: the DB the updates published; `file`: one put in place otherwise (`db pull`, `db update`, a copy). */
      readonly source: 'update' | 'file';
      readonly update: UpdateView;
      readonly feeds: readonly FeedView[];
    }
  | { readonly present: false; readonly hint: string; readonly maxAgeSeconds: number; readonly update: UpdateView; readonly feeds: readonly FeedView[] };

export interface AdvisoryDbUpdaterDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly log: Logger;
  readonly now: () => number;
  /** This replica's id: who holds the update job's lease. */
  readonly holder: string;
  /** The live DB the scans read (`scan.db`). */
  readonly dbPath: string;
  /** How often the feeds are fetched; 0: never (the DB file is the operator's, nothing is polled). */
  readonly intervalMs: number;
  /** The feed URLs (asked each time: the official set grows with the year). */
  readonly feeds: () => readonly string[];
  readonly maxDbAgeMs: number;
  /** Garbage collection's grace: a DB blob let go is deleted no sooner (a replica may be reading it). */
  readonly graceMs: number;
  /** The update thread's heap cap (`jobs.maxMemory`). */
  readonly maxMemoryBytes: number;
  /** The DB the scans read now. */
  readonly current: () => { readonly info: DbInfo } | { readonly reason: string };
  /** Told when a new build was renamed over the DB file. */
  readonly installed: () => void;
  /** How often the published DB and the schedule are looked at (two or three point reads); default 2 s (interval / 20 when shorter, at least 100 ms). */
  readonly pollMs?: number;
  readonly leaseMs?: number;
}

export class AdvisoryDbUpdater {
  private readonly cacheDir: string;
  private readonly buildPath: string;
  private readonly pollMs: number;
  private thread: JobThread | undefined;
  private worker: JobWorker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private syncing: Promise<void> | undefined;
  private phase: number | undefined;
  private enqueued: string | undefined;
  /** The published record last acted on (installed, or found not newer than the DB here). */
  private seen: string | undefined;
  /** A published DB this replica could not install, and when: tried again after a while, not every poll. */
  private refused: { digest: string; at: number } | undefined;

  constructor(private readonly deps: AdvisoryDbUpdaterDeps) {
    this.cacheDir = join(dirname(deps.dbPath), 'feeds');
    this.buildPath = join(this.cacheDir, 'advisory.db');
    this.pollMs = deps.pollMs ?? Math.min(2_000, Math.max(100, Math.floor(deps.intervalMs / 20)));
  }

  get enabled(): boolean {
    return this.deps.intervalMs > 0;
  }

  start(): void {
    if (!this.enabled || this.worker !== undefined) return;
    this.thread = new JobThread('the advisory DB update', { maxMemoryBytes: this.deps.maxMemoryBytes, timeoutMs: UPDATE_TIMEOUT_MS, timeoutSetting: 'the time limit of an update' }, this.deps.log);
    // Claims only when woken (below): when the job is due, and this replica's turn.
    this.worker = new JobWorker({
      what: 'advisory DB update',
      kinds: [DB_UPDATE_JOB],
      jobs: this.deps.meta.jobs,
      holder: this.deps.holder,
      log: this.deps.log,
      now: this.deps.now,
      pollMs: 2 ** 31 - 1,
      leaseMs: this.deps.leaseMs ?? DEFAULT_LEASE_MS,
      run: (job) => this.run(job),
    });
    this.worker.start();
    this.timer = setInterval(() => void this.tick(), this.pollMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stops polling and the update in hand (its job goes back to the queue). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.worker?.stop();
    await this.ticking;
    await this.syncing;
    await this.thread?.close();
  }

  /** Queues an update now (an administrator asked); undefined when updates are off. */
  async updateNow(): Promise<{ readonly queued: boolean } | undefined> {
    if (!this.enabled) return undefined;
    const { meta, now } = this.deps;
    const counts = await meta.jobs.counts(DB_UPDATE_JOB);
    // One queued or running is enough: it fetches what changed until it runs.
    if (counts.queued + counts.running > 0) {
      this.worker?.wake();
      return { queued: false };
    }
    const at = new Date(now()).toISOString();
    await meta.jobs.enqueue(DB_UPDATE_JOB, `manual:${at}`, JSON.stringify({ manual: true }), now());
    this.worker?.wake();
    return { queued: true };
  }

  private tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        await this.schedule();
      } catch (err) {
        this.deps.log.warn({ err: messageOf(err) }, 'could not look at the advisory DB update schedule');
      }
      await this.sync();
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** The interval `at` falls in: its key (its start, ISO), start and end. */
  private async slotAt(at: number): Promise<{ key: string; start: number; next: number }> {
    if (this.phase === undefined) {
      const f = Number(await this.deps.meta.settings.putIfAbsent(PHASE, String(Math.random())));
      this.phase = Number.isFinite(f) && f >= 0 && f < 1 ? f : 0;
    }
    const interval = this.deps.intervalMs;
    const offset = Math.floor(this.phase * interval);
    const start = Math.floor((at - offset) / interval) * interval + offset;
    return { key: new Date(start).toISOString(), start, next: start + interval };
  }

  /** Queues this interval's update (once, whichever replica is first) and wakes the worker when it is due and this replica's turn. */
  private async schedule(): Promise<void> {
    const { meta, now, holder, intervalMs } = this.deps;
    const at = now();
    const slot = await this.slotAt(at);
    if (slot.key !== this.enqueued) {
      await meta.jobs.enqueue(DB_UPDATE_JOB, slot.key, JSON.stringify({ slot: slot.key }), at);
      this.enqueued = slot.key;
    }
    const job = await meta.jobs.get(DB_UPDATE_JOB, slot.key);
    if (job === undefined) return;
    if (job.state === 'queued') {
      if (job.runAfter > at) return;
      const last = (await this.readStatus())?.holder;
      const affinityMs = Math.min(60_000, intervalMs / 4);
      if (last === undefined || last === holder || at - Math.max(job.runAfter, slot.start) >= affinityMs) this.worker?.wake();
      return;
    }
    // No DB anywhere yet (the first update failed: no network, a feed down): try again well before the next interval.
    if (job.state !== 'running' && at - job.updatedAt >= Math.min(NO_DB_RETRY_MS, intervalMs) && !('info' in this.deps.current()) && (await meta.settings.get(PUBLISHED)) === undefined) {
      if (await meta.jobs.requeue(DB_UPDATE_JOB, slot.key, at)) this.deps.log.info({}, 'there is no advisory DB yet: the update is tried again');
      return;
    }
    // Other update jobs (one an administrator asked for, waiting for its retry): whoever looks first.
    if ((await meta.jobs.counts(DB_UPDATE_JOB)).queued > 0) this.worker?.wake();
  }

  private async run(job: RunningJob): Promise<void> {
    const { log, now, holder } = this.deps;
    const payload = JSON.parse(job.record.payload) as { slot?: string };
    // An interval's job that waited past its interval (every replica was down): the current interval's covers it.
    if (payload.slot !== undefined && payload.slot !== (await this.slotAt(now())).key) {
      await job.complete();
      return;
    }
    const started = now();
    const previous = await this.readStatus();
    await this.putStatus({ ...previous, holder, runningSince: iso(started) });
    const packTo = join(this.cacheDir, `.advisory.db.${process.pid}.publish.gz`);
    try {
      const published = await this.readPublished();
      const o = await this.thread!.run(
        { kind: 'db-update', buildPath: this.buildPath, cacheDir: this.cacheDir, urls: this.deps.feeds(), livePath: this.deps.dbPath, publishedBuiltAt: published?.builtAt ?? null, packTo },
        undefined,
        job.signal,
      );
      const handed = o.packed !== undefined && o.info !== undefined ? await this.publish(o.packed, packTo, o.info, published) : undefined;
      const problem = this.problemOf(o);
      const finished = iso(now());
      const feeds = this.feedViews(o, started);
      await this.putStatus({
        holder,
        lastRun: finished,
        ...(problem === undefined ? { lastSuccess: finished } : previous?.lastSuccess !== undefined ? { lastSuccess: previous.lastSuccess } : {}),
        ...(problem !== undefined ? { lastError: { at: finished, message: problem } } : {}),
        feeds,
      });
      await job.complete();
      const counts = { updated: 0, unchanged: 0, failed: 0 };
      for (const f of o.feeds) counts[f.result] += 1;
      const summary = { ...counts, rebuilt: o.rebuilt, builtAt: o.info?.builtAt ?? null, published: handed !== undefined, skippedRecords: o.skippedRecords, ms: now() - started };
      if (problem !== undefined) log.warn({ ...summary, problem }, 'advisory DB update: not every feed could be used (scans go on with the DB there is)');
      else log.info(summary, 'advisory DB updated');
      // This replica installs what it published the way every other does.
      if (handed !== undefined) await this.sync();
    } catch (err) {
      if (job.signal.aborted) return;
      const { message, retrying } = await job.fail(err);
      const text = this.redact(message);
      await this.putStatus({ ...previous, holder, lastRun: iso(now()), lastError: { at: iso(now()), message: text } }).catch(() => undefined);
      log.warn({ err: text, attempt: job.record.attempts, retrying }, 'advisory DB update failed (scans go on with the DB there is)');
    } finally {
      await rm(packTo, { force: true });
    }
  }

  /** What the update did not do that it should have, in a sentence; undefined when nothing. */
  private problemOf(o: DbUpdateOutcome): string | undefined {
    const parts: string[] = [];
    const failed = o.feeds.flatMap((f) => (f.result === 'failed' ? [`${displayUrl(f.url)} (${this.redact(f.error)}${f.kept ? '; its previous copy is used' : ''})`] : []));
    if (failed.length > 0) parts.push(`${failed.length} of ${o.feeds.length} feeds failed: ${failed.join(', ')}`);
    if (o.info === undefined) parts.push('no DB could be built: no feed has been fetched yet');
    if (o.lost.length > 0) parts.push(`the DB built was not handed to the replicas: it lacks ${o.lost.map(displayUrl).join(', ')}, which the current DB has`);
    return parts.length === 0 ? undefined : parts.join('; ');
  }

  private feedViews(o: DbUpdateOutcome, started: number): FeedView[] {
    const states = new Map(o.states.map((s) => [s.url, s]));
    return o.feeds.map((out) => {
      const url = out.url;
      const st = states.get(url);
      const lastError = out.result === 'failed' ? { at: st?.lastError?.at ?? iso(started), message: this.redact(out.error) } : null;
      return viewOf(url, st, out.result, lastError);
    });
  }

  /** Stores the packed DB in the blob store, pins it, names it for the replicas, and deletes DB blobs let go long enough ago. */
  private async publish(packed: PackedDb, path: string, info: DbInfo, previous: PublishedDb | undefined): Promise<PublishedDb> {
    const { meta, blobs, now, holder } = this.deps;
    const digest = asDigest(packed.digest);
    if ((await meta.blobs.reserve(digest, now())) === 'busy') throw new Error(`garbage collection is deleting ${digest}: the next update hands the DB on`);
    await blobs.put(digest, createReadStream(path), { expectedSize: packed.size });
    const pinned = await meta.blobs.pin(PIN, digest, packed.size, now());
    if (pinned === false) throw new Error(`garbage collection took ${digest} meanwhile: the next update hands the DB on`);
    const retired = [...(previous?.retired ?? []), ...(pinned.previous !== undefined ? [pinned.previous] : [])].filter((d) => d !== digest);
    const record: PublishedDb = { digest, size: packed.size, builtAt: info.builtAt, schemaVersion: info.schemaVersion, publishedAt: iso(now()), holder, retired: await this.deleteRetired(retired) };
    await meta.settings.put(PUBLISHED, JSON.stringify(record));
    return record;
  }

  /** Deletes the retired DB blobs garbage collection would (through its claims); resolves to those still to delete. */
  private async deleteRetired(digests: readonly string[]): Promise<string[]> {
    const { meta, blobs, now, graceMs, log } = this.deps;
    const left: string[] = [];
    for (const d of new Set(digests)) {
      const digest = asDigest(d);
      try {
        if (await meta.gc.claim(digest, now() - graceMs)) {
          await blobs.delete(digest);
          await meta.gc.forget(digest);
        } else if ((await blobs.stat(digest)) !== undefined) left.push(d);
      } catch (err) {
        log.warn({ err: messageOf(err), digest }, 'could not delete the blob of an advisory DB published before');
        left.push(d);
      }
    }
    return left.slice(-MAX_RETIRED);
  }

  /** Installs the published DB here when it is newer than the DB file; a failure leaves the file as it is. */
  private sync(): Promise<void> {
    this.syncing ??= this.syncNow()
      .catch((err: unknown) => this.deps.log.warn({ err: messageOf(err) }, 'could not look for a new advisory DB'))
      .finally(() => {
        this.syncing = undefined;
      });
    return this.syncing;
  }

  private async syncNow(): Promise<void> {
    const { meta, blobs, log, now, dbPath } = this.deps;
    const text = await meta.settings.get(PUBLISHED);
    if (text === undefined || text === this.seen) return;
    const p = JSON.parse(text) as PublishedDb;
    const here = this.deps.current();
    if ('info' in here && (here.info.builtAt === p.builtAt || Date.parse(here.info.builtAt) > Date.parse(p.builtAt))) {
      if (here.info.builtAt !== p.builtAt) log.info({ dbBuiltAt: here.info.builtAt, published: p.builtAt }, 'the advisory DB here is newer than the one the last update published: kept');
      this.seen = text;
      return;
    }
    if (this.refused?.digest === p.digest && now() - this.refused.at < Math.min(10 * 60_000, this.deps.intervalMs)) return;
    try {
      const body = await blobs.open(asDigest(p.digest));
      if (body === undefined) throw new Error('its blob is gone from the storage');
      const info = await installAdvisoryDb(body, dbPath, { digest: p.digest, builtAt: p.builtAt });
      this.seen = text;
      this.refused = undefined;
      log.info({ dbBuiltAt: info.builtAt, digest: p.digest, builtBy: p.holder }, 'installed the advisory DB the last update built');
      this.deps.installed();
    } catch (err) {
      this.refused = { digest: p.digest, at: now() };
      log.warn({ err: messageOf(err), digest: p.digest, dbBuiltAt: p.builtAt }, 'could not install the advisory DB the last update built: the current one stays');
    }
  }

  /** The DB the scans read, its age, and how its updates go. */
  async view(): Promise<VulnDbView> {
    const { meta, now, intervalMs, maxDbAgeMs } = this.deps;
    const at = now();
    const here = this.deps.current();
    const [published, status] = await Promise.all([this.readPublished(), this.readStatus()]);
    let nextRun: string | null = null;
    let running = false;
    if (this.enabled) {
      const slot = await this.slotAt(at);
      const job = await meta.jobs.get(DB_UPDATE_JOB, slot.key);
      running = (await meta.jobs.counts(DB_UPDATE_JOB)).running > 0;
      nextRun = iso(job?.state === 'queued' ? Math.max(job.runAfter, at) : slot.next);
    }
    const update: UpdateView = {
      enabled: this.enabled,
      intervalSeconds: Math.round(intervalMs / 1000),
      running,
      holder: status?.holder ?? null,
      lastRun: status?.lastRun ?? null,
      lastSuccess: status?.lastSuccess ?? null,
      lastError: status?.lastError ?? null,
      nextRun,
    };
    // With updates off, the feeds `portcullis db update` recorded beside the DB, if it made it.
    const feeds = this.enabled ? (status?.feeds ?? []) : await this.recordedFeeds();
    const maxAgeSeconds = Math.round(maxDbAgeMs / 1000);
    if (!('info' in here)) {
      const hint = this.enabled
        ? 'the first update has not completed yet (see update and feeds)'
        : 'scan.update is off: set scan.update.interval, or run `portcullis db update` (the official feeds) or `portcullis db pull` on this replica';
      return { present: false, hint, maxAgeSeconds, update, feeds };
    }
    const { info } = here;
    const ageMs = at - Date.parse(info.builtAt);
    return {
      present: true,
      builtAt: info.builtAt,
      ageSeconds: Number.isFinite(ageMs) ? Math.max(0, Math.round(ageMs / 1000)) : 0,
      stale: !(ageMs <= maxDbAgeMs),
      maxAgeSeconds,
      schema: info.schemaVersion,
      counts: info.counts,
      source: this.enabled && published?.builtAt === info.builtAt ? 'update' : 'file',
      update,
      feeds,
    };
  }

  private async recordedFeeds(): Promise<FeedView[]> {
    const file = await readFile(feedStatePath(this.deps.dbPath), 'utf8').then((t) => JSON.parse(t) as FeedsFile, () => undefined);
    return (file?.feeds ?? []).map((s) => viewOf(s.url, s, null, s.lastError !== undefined ? { at: s.lastError.at, message: this.redact(s.lastError.message) } : null));
  }

  private async readPublished(): Promise<PublishedDb | undefined> {
    const text = await this.deps.meta.settings.get(PUBLISHED);
    return text === undefined ? undefined : (JSON.parse(text) as PublishedDb);
  }

  private async readStatus(): Promise<UpdateStatus | undefined> {
    const text = await this.deps.meta.settings.get(STATUS);
    return text === undefined ? undefined : (JSON.parse(text) as UpdateStatus);
  }

  private putStatus(s: UpdateStatus): Promise<void> {
    return this.deps.meta.settings.put(STATUS, JSON.stringify(s));
  }

  /** A message with every configured feed URL in its shown form. */
  private redact(message: string): string {
    let out = message;
    for (const url of this.deps.feeds()) out = out.split(url).join(displayUrl(url));
    return out;
  }
}

function viewOf(url: string, st: FeedState | undefined, result: FeedView['result'], lastError: FeedView['lastError']): FeedView {
  return {
    url: displayUrl(url),
    result,
    lastSuccess: st?.lastSuccess ?? null,
    lastError,
    ...(st?.etag !== undefined ? { etag: st.etag } : {}),
    ...(st?.bytes !== undefined ? { size: st.bytes } : {}),
  };
}

/** Query parameters whose values are secrets in the usual schemes (signed URLs, API keys, tokens). */
const SECRET_PARAM = /token|key|secret|sig|signature|password|passw|pwd|auth|credential|session|^x-(amz|goog)-/i;

/** A value that reads as a token: long, of token characters, letters and digits mixed. */
const looksLikeToken = (v: string): boolean => v.length >= 20 && /^[A-Za-z0-9+/=_.~-]+$/.test(v) && /\d/.test(v) && /[A-Za-z]/.test(v);

/** A feed URL as it may be shown: no user information; query values that look like secrets replaced. */
export function displayUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return '(not a URL)';
  }
  u.username = '';
  u.password = '';
  for (const [k, v] of [...u.searchParams]) if (SECRET_PARAM.test(k) || looksLikeToken(v)) u.searchParams.set(k, 'REDACTED');
  return u.toString();
}

const iso = (ms: number): string => new Date(ms).toISOString();
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
