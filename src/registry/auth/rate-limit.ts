/**
 * Failed-login limiting per key (the Authenticator uses account+address pairs and addresses).
 * After `maxFailures` within `windowMs` the key is locked until the window that started with its
 * first failure ends. A check is counted before the password is verified (`reserve`), so
 * concurrent guesses cannot all pass the check while the first ones are still hashing: at most
 * `maxFailures` checks are ever in flight or failed per key and window.
 * In-process: with several replicas each one counts on its own (documented in docs/security.md).
 */
export interface LoginLimiterOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly now: () => number;
}

/** What a key allows now: a check may start, the key is locked, or it waits for checks in flight. */
export type LimiterState =
  | { readonly kind: 'free' }
  | { readonly kind: 'locked'; readonly retryAfterMs: number }
  /** Failures and checks in flight fill the budget: `settled` resolves when one of them ends. */
  | { readonly kind: 'busy'; readonly settled: Promise<void> };

interface Entry {
  /** Failures in the window; the window starts with the first of them. */
  failures: number;
  windowStart: number;
  /** Checks reserved and not yet settled. */
  pending: number;
  /** Wakes those waiting for a check in flight to end. */
  wake?: { promise: Promise<void>; resolve: () => void };
}

export class LoginLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: LoginLimiterOptions) {}

  /** Milliseconds until `keys` may try again; 0 when none is locked. */
  retryAfter(keys: readonly string[]): number {
    const s = this.state(keys);
    return s.kind === 'locked' ? s.retryAfterMs : 0;
  }

  /** Synchronous, so a caller can check and then `reserve` with nothing running in between. */
  state(keys: readonly string[]): LimiterState {
    const now = this.options.now();
    let wait = 0;
    let busy: Entry | undefined;
    for (const key of keys) {
      const e = this.live(key, now);
      if (e === undefined) continue;
      if (e.failures >= this.options.maxFailures) wait = Math.max(wait, e.windowStart + this.options.windowMs - now);
      else if (e.failures + e.pending >= this.options.maxFailures) busy ??= e;
    }
    if (wait > 0) return { kind: 'locked', retryAfterMs: wait };
    if (busy === undefined) return { kind: 'free' };
    if (busy.wake === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      busy.wake = { promise, resolve };
    }
    return { kind: 'busy', settled: busy.wake.promise };
  }

  /** Counts a check as in flight on every key; call only when `state(keys)` is free. */
  reserve(keys: readonly string[]): void {
    for (const key of keys) {
      const e = this.entries.get(key);
      if (e === undefined) this.entries.set(key, { failures: 0, windowStart: this.options.now(), pending: 1 });
      else e.pending++;
    }
  }

  /** A reserved check failed: it stays counted, as a failure. */
  failReserved(keys: readonly string[]): void {
    this.settle(keys);
    this.fail(keys);
  }

  /** A reserved check succeeded: its slot is given back (the failures so far stay; see `succeed`). */
  release(keys: readonly string[]): void {
    this.settle(keys);
    this.forgetIdle(keys);
  }

  /** Records a failure not reserved beforehand. */
  fail(keys: readonly string[]): void {
    const now = this.options.now();
    for (const key of keys) {
      const e = this.live(key, now);
      if (e === undefined) this.entries.set(key, { failures: 1, windowStart: now, pending: 0 });
      else if (e.failures === 0) {
        e.failures = 1;
        e.windowStart = now;
      } else e.failures++;
    }
    if (this.entries.size > 100_000) this.prune(now);
  }

  /** Forgets the key's failures (checks in flight stay counted). */
  succeed(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    e.failures = 0;
    this.wakeUp(e);
    this.forgetIdle([key]);
  }

  private settle(keys: readonly string[]): void {
    for (const key of keys) {
      const e = this.entries.get(key);
      if (e === undefined || e.pending === 0) continue;
      e.pending--;
      this.wakeUp(e);
    }
  }

  private wakeUp(e: Entry): void {
    e.wake?.resolve();
    delete e.wake;
  }

  /** The entry with an ended window's failures dropped; undefined when nothing is counted. */
  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.failures > 0 && e.windowStart + this.options.windowMs <= now) e.failures = 0;
    if (e.failures === 0 && e.pending === 0) {
      this.wakeUp(e);
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private forgetIdle(keys: readonly string[]): void {
    const now = this.options.now();
    for (const key of keys) this.live(key, now);
  }

  private prune(now: number): void {
    for (const key of [...this.entries.keys()]) this.live(key, now);
  }
}
