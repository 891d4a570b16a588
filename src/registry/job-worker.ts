/**
 * The loop behind every background service of the registry (SBOMs, scans): woken by a push or
 * by a timer (jobs other replicas queued), it drains the durable queue one job at a time per
 * process, so background work never starves the API, and a wake that comes while it runs makes
 * it drain once more.
 */
import { isDigest, type Digest } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import type { JobRecord, JobStore } from '../storage/index.js';

/** Attempts of a job before it fails for good; a retry waits 30 s × the attempts so far. */
const MAX_ATTEMPTS = 3;

/** The {repository, digest} an image job is about; undefined, and the job failed for good, when its payload is not that. */
export async function imageJobTarget(jobs: JobStore, job: JobRecord, now: number): Promise<{ repository: string; digest: Digest } | undefined> {
  try {
    const target = JSON.parse(job.payload) as { repository?: unknown; digest?: unknown };
    if (typeof target.repository === 'string' && typeof target.digest === 'string' && isDigest(target.digest)) return { repository: target.repository, digest: target.digest as Digest };
  } catch {
    // not JSON: failed below
  }
  await jobs.fail(job.id, 'the job payload is not {repository, digest}', now, null);
  return undefined;
}

/** Records a failed attempt: queued again until the last one; resolves to the message and whether it will be retried. */
export async function failAttempt(jobs: JobStore, job: JobRecord, err: unknown, now: number): Promise<{ message: string; retrying: boolean }> {
  const message = err instanceof Error ? err.message : String(err);
  const retry = job.attempts < MAX_ATTEMPTS ? now + 30_000 * job.attempts : null;
  await jobs.fail(job.id, message, now, retry);
  return { message, retrying: retry !== null };
}

export class JobWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stoppedFlag = true;
  private wakeAgain = false;

  /** `drain` runs jobs until none is due, checking `stopped` between them. */
  constructor(
    private readonly what: string,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly drain: () => Promise<void>,
  ) {}

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  start(): void {
    if (!this.stoppedFlag) return;
    this.stoppedFlag = false;
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops claiming; resolves when the job in hand (if any) has ended. */
  async stop(): Promise<void> {
    this.stoppedFlag = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }

  wake(): void {
    if (this.stoppedFlag) return;
    if (this.running !== undefined) {
      this.wakeAgain = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.log.error({ err }, `the ${this.what} worker failed`))
      .finally(() => {
        this.running = undefined;
        if (this.wakeAgain) {
          this.wakeAgain = false;
          this.wake();
        }
      });
  }
}
