/**
 * Runs tasks that read images or their stored documents (SBOMs, scans, report rebuilds) in a
 * worker thread, off the event loop that serves requests, under a heap cap (`resourceLimits`) and
 * a time limit. A hostile image (a zip bomb, a package database of 369k entries) then costs that
 * thread, not the registry: a task past a limit ends the thread and fails with the limit named;
 * the next task gets a fresh thread. Tasks run one at a time, in the order given. The thread
 * reads an image only through the ContentSource the caller serves it (the repository's links).
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { serveContentSource, type ContentSource } from '../image/index.js';
import type { Logger } from '../shared/index.js';
import type { DbUpdateOutcome, DbUpdateTask } from './advisory-db-task.js';
import { transferList, type DocumentTask, type ImageTask, type KeysOutcome, type KeysTask, type ReportOutcome, type ReportTask, type ScanOutcome, type ScanTask, type SbomOutcome, type SbomTask, type Task, type TaskOutcome } from './image-tasks.js';
import { PermanentJobFailure } from './job-worker.js';

export interface JobLimits {
  /** The thread's V8 heap cap, bytes (`jobs.maxMemory`). Buffers are outside it: the readers bound those themselves. */
  readonly maxMemoryBytes: number;
  /** How long one task may run (`jobs.timeout`). */
  readonly timeoutMs: number;
  /** The setting that limit comes from, for the message when a task passes it (default `jobs.timeout`). */
  readonly timeoutSetting?: string;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { maxMemoryBytes: 2 * 1024 ** 3, timeoutMs: 10 * 60_000 };

/** What the thread is sent: a task, and for an image task the port its image is served on. */
export interface ThreadRequest {
  readonly task: Task;
  readonly port?: MessagePort;
}

/** What the thread answers a task with. */
export type ThreadReply = { readonly ok: true; readonly outcome: TaskOutcome } | { readonly ok: false; readonly error: { readonly message: string; readonly name: string } };

const MiB = 1024 * 1024;

/** Errors V8 raises when a value passes its fixed limits: the same input always does. */
const TOO_LARGE = /^Invalid (string|array|typed array) length/;

function formatBytes(n: number): string {
  return n % 1024 ** 3 === 0 ? `${n / 1024 ** 3} GiB` : `${Math.round(n / MiB)} MiB`;
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

export class JobThread {
  private worker: Worker | undefined;
  /** The task before the next one: tasks run one at a time. */
  private tail: Promise<unknown> = Promise.resolve();
  private busy = false;

  constructor(
    private readonly what: string,
    private readonly limits: JobLimits,
    private readonly log: Logger,
  ) {}

  run(task: SbomTask, source: ContentSource, signal?: AbortSignal): Promise<SbomOutcome>;
  run(task: ScanTask, source: ContentSource, signal?: AbortSignal): Promise<ScanOutcome>;
  run(task: KeysTask, source?: undefined, signal?: AbortSignal): Promise<KeysOutcome>;
  run(task: ReportTask, source?: undefined, signal?: AbortSignal): Promise<ReportOutcome>;
  run(task: DbUpdateTask, source?: undefined, signal?: AbortSignal): Promise<DbUpdateOutcome>;
  /**
   * Runs `task` in the thread once the tasks before it have ended, serving it `source` (image
   * tasks). Rejects with PermanentJobFailure when it passes a limit, and with `signal`'s reason
   * when that is aborted (the task is stopped).
   */
  run(task: ImageTask | DocumentTask | DbUpdateTask, source?: ContentSource, signal?: AbortSignal): Promise<TaskOutcome> {
    const turn = this.tail.then(() => this.runNow(task, source, signal));
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** Ends the thread (a task running in it fails). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private async runNow(task: Task, source: ContentSource | undefined, signal: AbortSignal | undefined): Promise<TaskOutcome> {
    signal?.throwIfAborted();
    this.busy = true;
    const worker = this.thread();
    const channel = source === undefined ? undefined : new MessageChannel();
    const stopServing = channel === undefined || source === undefined ? undefined : serveContentSource(channel.port1, source);
    try {
      return await new Promise<TaskOutcome>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
          signal?.removeEventListener('abort', onAbort);
        };
        const stop = (err: Error): void => {
          done();
          this.discard(worker);
          reject(err);
        };
        const timer = setTimeout(() => stop(new PermanentJobFailure(`${this.what} stopped: it ran longer than ${formatDuration(this.limits.timeoutMs)} (${this.limits.timeoutSetting ?? 'jobs.timeout'})`)), this.limits.timeoutMs);
        const onAbort = (): void => stop(signal?.reason instanceof Error ? signal.reason : new Error(`${this.what} stopped`));
        const onMessage = (reply: ThreadReply): void => {
          done();
          if (reply.ok) resolve(reply.outcome);
          else if (reply.error.name === 'RangeError' && TOO_LARGE.test(reply.error.message)) reject(new PermanentJobFailure(`${this.what} failed: the image yields more than can be held (${reply.error.message})`));
          else reject(new Error(reply.error.message));
        };
        const onError = (err: Error & { code?: string }): void => {
          stop(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new PermanentJobFailure(`${this.what} stopped: it needed more than ${formatBytes(this.limits.maxMemoryBytes)} of memory (jobs.maxMemory)`) : err);
        };
        const onExit = (code: number): void => stop(new Error(`the ${this.what} thread ended (exit code ${code})`));
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        signal?.addEventListener('abort', onAbort, { once: true });
        const request: ThreadRequest = channel === undefined ? { task } : { task, port: channel.port2 };
        worker.postMessage(request, [...transferList(task), ...(channel !== undefined ? [channel.port2] : [])]);
      });
    } finally {
      this.busy = false;
      stopServing?.();
      channel?.port1.close();
    }
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./job-thread-main.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(this.limits.maxMemoryBytes / MiB)) },
    });
    // An idle thread does not keep the process alive; one that ends between tasks is replaced.
    worker.unref();
    worker.on('error', (err) => {
      if (!this.busy) this.log.warn({ err }, `the idle ${this.what} thread failed`);
    });
    worker.once('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }

  private discard(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    worker.terminate().catch((err: unknown) => this.log.warn({ err }, `could not end the ${this.what} thread`));
  }
}
