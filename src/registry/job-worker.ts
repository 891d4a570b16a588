/**
 * The loop behind every background service of the registry (SBOMs, scans): woken by a push or
 * by a timer (jobs other replicas queued), it drains the durable queue one job at a time per
 * service, so background work never starves the API, and a wake that comes while it runs makes
 * it drain once more. A claimed job is held by a short lease, renewed while the job runs: a
 * replica that dies leaves its job to another within a minute, and gives it back at once when it
 * restarts (`releaseHeldJobs`).
 */
import { isDigest, type Digest } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import type { BlobStore, JobRecord, JobStore, MetadataStore } from '../storage/index.js';
import type { ArtifactWriter } from './artifact-writer.js';
import type { JobLimits } from './job-thread.js';

/** Attempts of a job before it fails for good; a retry waits 30 s × the attempts so far. */
export const MAX_ATTEMPTS = 3;

/** How long a claim holds a job unless renewed; it is renewed every third of that while the job runs. */
export const DEFAULT_LEASE_MS = 60_000;

/** The {repository, digest} an image job is about; undefined, and the job failed for good, when its payload is not that. */
export async function imageJobTarget(job: RunningJob): Promise<{ repository: string; digest: Digest } | undefined> {
  try {
    const target = JSON.parse(job.record.payload) as { repository?: unknown; digest?: unknown };
    if (typeof target.repository === 'string' && typeof target.digest === 'string' && isDigest(target.digest)) return { repository: target.repository, digest: target.digest as Digest };
  } catch {
    // not JSON: failed below
  }
  await job.fail(new PermanentJobFailure('the job payload is not {repository, digest}'));
  return undefined;
}

/** A failure that running the job again would only repeat (over its memory or time limit): no retry. */
export class PermanentJobFailure extends Error {
  override readonly name = 'PermanentJobFailure';
}

/** A claimed job while it runs, with what its run may record. */
export interface RunningJob {
  readonly record: JobRecord;
  /** The first job of a drain. */
  readonly first: boolean;
  /**
   * Aborted when the worker stops (the job goes back to the queue) or loses the job's lease
   * (another replica may run it): then the run records nothing.
   */
  readonly signal: AbortSignal;
  complete(): Promise<void>;
  /**
   * Records a failed attempt: queued again (in 30 s × the attempts so far) until the last one,
   * or at once failed for good for a PermanentJobFailure; resolves to the message and whether it
   * will be retried.
   */
  fail(err: unknown): Promise<{ message: string; retrying: boolean }>;
}

/** Gives back the jobs this replica held when its process ended (they run again at once); resolves to how many. */
export async function releaseHeldJobs(jobs: JobStore, holder: string, now: number, log: Logger): Promise<number> {
  const n = await jobs.release(holder, now);
  if (n > 0) log.warn({ jobs: n, holder }, 'jobs this replica was running when it stopped are queued again');
  return n;
}

/** What a background service that reads images (SBOMs, scans) is made of. */
export interface ImageJobDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  /** Where the documents made of images are stored (the one write path). */
  readonly writer: ArtifactWriter;
  readonly log: Logger;
  readonly now: () => number;
  /** The Portcullis version, named as the documents' tool. */
  readonly version: string;
  /** Layer cache directory; undefined keeps nothing between jobs. */
  readonly cacheDir: string | undefined;
  /** Where large files of a layer are spooled while it is read. */
  readonly tmpDir?: string;
  /** This replica's id: who holds the leases of the jobs it runs. */
  readonly holder: string;
  /** The job thread's memory and time limits. */
  readonly limits?: JobLimits;
  /** How often an idle worker looks for jobs other replicas queued. */
  readonly pollMs?: number;
  /** How long a claim holds a job unless renewed (it is, while the job runs). */
  readonly leaseMs?: number;
}

/** The part of a JobWorker's options that comes from a service's deps. */
export function queueOf(deps: ImageJobDeps): Pick<JobWorkerOptions, 'jobs' | 'holder' | 'log' | 'now' | 'pollMs' | 'leaseMs'> {
  return { jobs: deps.meta.jobs, holder: deps.holder, log: deps.log, now: deps.now, pollMs: deps.pollMs ?? 2000, leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS };
}

export interface JobWorkerOptions {
  /** For logs: `SBOM`, `scan`. */
  readonly what: string;
  readonly kinds: readonly string[];
  readonly jobs: JobStore;
  /** This replica's id (see `ClaimOptions.holder`). */
  readonly holder: string;
  readonly log: Logger;
  readonly now: () => number;
  /** How often an idle worker looks for jobs other replicas queued. */
  readonly pollMs: number;
  readonly leaseMs: number;
  /** Runs one claimed job to its end, recording its outcome (nothing when its signal is aborted). */
  readonly run: (job: RunningJob) => Promise<void>;
  /** Called at the start of every drain, before the first claim. */
  readonly onDrain?: () => Promise<void>;
}

export class JobWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stoppedFlag = true;
  private wakeAgain = false;
  /** Aborts the job in hand when the worker stops. */
  private stopping = new AbortController();

  constructor(private readonly o: JobWorkerOptions) {}

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  start(): void {
    if (!this.stoppedFlag) return;
    this.stoppedFlag = false;
    this.stopping = new AbortController();
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops claiming and the job in hand (it goes back to the queue, its attempt not counted); resolves when it has. */
  async stop(): Promise<void> {
    this.stoppedFlag = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.stopping.abort(new Error(`the ${this.o.what} worker is stopping`));
    await this.running;
  }

  wake(): void {
    if (this.stoppedFlag) return;
    if (this.running !== undefined) {
      this.wakeAgain = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.o.log.error({ err }, `the ${this.o.what} worker failed`))
      .finally(() => {
        this.running = undefined;
        if (this.wakeAgain) {
          this.wakeAgain = false;
          this.wake();
        }
      });
  }

  private async drain(): Promise<void> {
    const { jobs, kinds, holder, leaseMs, now } = this.o;
    await this.o.onDrain?.();
    let first = true;
    while (!this.stoppedFlag) {
      const record = await jobs.claim({ kinds, now: now(), leaseMs, holder, maxAttempts: MAX_ATTEMPTS });
      if (record === undefined) return;
      await this.held(record, first);
      first = false;
    }
  }

  /** Runs a claimed job while renewing its lease; gives it back when the worker stops meanwhile. */
  private async held(record: JobRecord, first: boolean): Promise<void> {
    const { jobs, holder, leaseMs, now, log } = this.o;
    const lost = new AbortController();
    const signal = AbortSignal.any([this.stopping.signal, lost.signal]);
    let renewing: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = jobs.renew(record.id, holder, now() + leaseMs, now()).then(
        (held) => {
          if (held || lost.signal.aborted) return;
          log.warn({ job: record.key, kind: record.kind }, 'lost the lease of a running job: stopping it (another replica runs it)');
          lost.abort(new Error('the lease of the job was lost'));
        },
        (err: unknown) => log.warn({ err, job: record.key, kind: record.kind }, 'could not renew the lease of a running job'),
      );
    }, Math.max(1, Math.floor(leaseMs / 3)));
    const job: RunningJob = {
      record,
      first,
      signal,
      complete: async () => {
        if (!signal.aborted) await jobs.complete(record.id, holder, now());
      },
      fail: async (err) => {
        const message = err instanceof Error ? err.message : String(err);
        const retry = record.attempts < MAX_ATTEMPTS && !(err instanceof PermanentJobFailure) ? now() + 30_000 * record.attempts : null;
        if (!signal.aborted) await jobs.fail(record.id, holder, message, now(), retry);
        return { message, retrying: retry !== null };
      },
    };
    try {
      await this.o.run(job);
    } finally {
      clearInterval(timer);
      await renewing;
      if (this.stopping.signal.aborted && !lost.signal.aborted) {
        await jobs.giveBack(record.id, holder, now()).catch((err: unknown) => log.warn({ err, job: record.key }, 'could not give a job back to the queue'));
      }
    }
  }
}
