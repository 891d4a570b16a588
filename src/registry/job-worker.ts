/**
 * The loop behind every background service of the registry (SBOMs, scans): woken by a push or
 * by a timer (jobs other replicas queued), it drains the durable queue one job at a time per
 * process, so background work never starves the API, and a wake that comes while it runs makes
 * it drain once more.
 */
import type { Logger } from '../shared/index.js';

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
