/**
 * Failed-login limiting, per account name and per client address. After `maxFailures` within
 * `windowMs` the key is locked until the window that started with its first failure ends.
 * In-process: with several replicas each one counts on its own (documented in docs/security.md).
 */
export interface LoginLimiterOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly now: () => number;
}

interface Entry {
  failures: number;
  windowStart: number;
}

export class LoginLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: LoginLimiterOptions) {}

  /** Milliseconds until `keys` may try again; 0 when none is locked. */
  retryAfter(keys: readonly string[]): number {
    const now = this.options.now();
    let wait = 0;
    for (const key of keys) {
      const e = this.entries.get(key);
      if (e === undefined) continue;
      const end = e.windowStart + this.options.windowMs;
      if (end <= now) {
        this.entries.delete(key);
        continue;
      }
      if (e.failures >= this.options.maxFailures) wait = Math.max(wait, end - now);
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    const now = this.options.now();
    for (const key of keys) {
      const e = this.entries.get(key);
      if (e === undefined || e.windowStart + this.options.windowMs <= now) this.entries.set(key, { failures: 1, windowStart: now });
      else e.failures++;
    }
    if (this.entries.size > 100_000) this.prune(now);
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private prune(now: number): void {
    for (const [k, e] of this.entries) if (e.windowStart + this.options.windowMs <= now) this.entries.delete(k);
  }
}
