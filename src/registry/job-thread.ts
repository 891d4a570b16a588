/**
 * Runs image tasks (SBOMs, scans) in a worker thread, off the event loop that serves requests,
 * under a heap cap (`resourceLimits`) and a time limit. A hostile image (a zip bomb, a package
 * database of 369k entries) then costs that thread, not the registry: a task past a limit ends
 * the thread and fails with the limit named; the next task gets a fresh thread. The thread reads
 * the image only through the ContentSource the caller serves it (the repository's links).
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { serveContentSource, type ContentSource } from '../image/index.js';
import type { Logger } from '../shared/index.js';
import type { ImageTask, ScanOutcome, ScanTask, SbomOutcome, SbomTask, TaskOutcome } from './image-tasks.js';
import { PermanentJobFailure } from './job-worker.js';

export interface JobLimits {
  /** The thread's V8 heap cap, bytes (`jobs.maxMemory`). */
  readonly maxMemoryBytes: number;
  /** How long one task may run (`jobs.timeout`). */
  readonly timeoutMs: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { maxMemoryBytes: 2 * 1024 ** 3, timeoutMs: 10 * 60_000 };

/** What the thread answers a task with. */
export type ThreadReply = { readonly ok: true; readonly outcome: TaskOutcome } | { readonly ok: false; readonly error: { readonly message: string; readonly name: string } };

const MiB = 1024 * 1024;

function formatBytes(n: number): string {
  return n % 1024 ** 3 === 0 ? `${n / 1024 ** 3} GiB` : `${Math.round(n / MiB)} MiB`;
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

export class JobThread {
  private worker: Worker | undefined;
  private busy = false;

  constructor(
    private readonly what: string,
    private readonly limits: JobLimits,
    private readonly log: Logger,
  ) {}

  run(task: SbomTask, source: ContentSource): Promise<SbomOutcome>;
  run(task: ScanTask, source: ContentSource): Promise<ScanOutcome>;
  /** Runs `task` in the thread, serving it `source`. Rejects with PermanentJobFailure when it passes a limit. */
  async run(task: ImageTask, source: ContentSource): Promise<TaskOutcome> {
    if (this.busy) throw new Error(`the ${this.what} thread runs one task at a time`);
    this.busy = true;
    const worker = this.thread();
    const channel = new MessageChannel();
    const stopServing = serveContentSource(channel.port1, source);
    try {
      return await new Promise<TaskOutcome>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        };
        const timer = setTimeout(() => {
          done();
          this.discard(worker);
          reject(new PermanentJobFailure(`${this.what} stopped: it ran longer than ${formatDuration(this.limits.timeoutMs)} (jobs.timeout)`));
        }, this.limits.timeoutMs);
        const onMessage = (reply: ThreadReply): void => {
          done();
          if (reply.ok) resolve(reply.outcome);
          // A string or an array past V8's limits: the same image will always do that.
          else if (reply.error.name === 'RangeError') reject(new PermanentJobFailure(`${this.what} failed: the image yields more than can be held (${reply.error.message})`));
          else reject(new Error(reply.error.message));
        };
        const onError = (err: Error & { code?: string }): void => {
          done();
          this.discard(worker);
          if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') reject(new PermanentJobFailure(`${this.what} stopped: it needed more than ${formatBytes(this.limits.maxMemoryBytes)} of memory (jobs.maxMemory)`));
          else reject(err);
        };
        const onExit = (code: number): void => {
          done();
          this.discard(worker);
          reject(new Error(`the ${this.what} thread ended (exit code ${code})`));
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        worker.postMessage({ task, port: channel.port2 }, [channel.port2]);
      });
    } finally {
      stopServing();
      channel.port1.close();
      this.busy = false;
    }
  }

  /** Ends the thread (between tasks, or to give up on the one running). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./job-thread-main.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(this.limits.maxMemoryBytes / MiB)) },
    });
    // An idle thread does not keep the process alive; a failure between tasks only ends the thread.
    worker.unref();
    worker.on('error', (err) => {
      if (!this.busy) this.log.warn({ err }, `the idle ${this.what} thread failed`);
    });
    this.worker = worker;
    return worker;
  }

  private discard(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    worker.terminate().catch((err: unknown) => this.log.warn({ err }, `could not end the ${this.what} thread`));
  }
}
