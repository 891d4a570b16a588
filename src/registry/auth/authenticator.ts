import { createHmac, randomBytes } from 'node:crypto';
import { parseRepositoryName } from '../../oci/index.js';
import type { MetadataStore, RepositoryAction, Visibility } from '../../storage/index.js';
import { ANONYMOUS, ROBOT_PREFIX, allowedActions, type Principal } from './access.js';
import { verifyPassword, verifySecret } from './password.js';
import type { LoginLimiter } from './rate-limit.js';
import type { TokenClaims, TokenService } from './tokens.js';
import type { EventBus } from '../events.js';

export type LoginResult =
  | { readonly kind: 'ok'; readonly principal: Principal }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'locked'; readonly retryAfterMs: number };

const CACHE_TTL_MS = 60_000;

/**
 * Turns credentials into a principal and a principal into permissions, from the metadata store.
 * Verified Basic credentials are remembered for a minute (keyed by an HMAC under a per-process
 * key, never the password itself), so CI clients sending Basic on every request do not pay for
 * scrypt each time; any credential change clears the memory.
 */
export class Authenticator {
  private readonly cacheKey = randomBytes(32);
  private readonly cache = new Map<string, { principal: Principal; expires: number }>();

  constructor(
    private readonly meta: MetadataStore,
    private readonly tokens: TokenService,
    /**
     * `pairs` counts failures per (user, client address): a guesser locks only his own address out
     * of the account, never the real user elsewhere. `addresses` counts failures per client address
     * over all accounts (password spraying), with a higher bar so one NAT's users do not lock each
     * other out. Robots are counted per address only: their secrets cannot be guessed, and a lock
     * per robot would only let anyone stop a CI pipeline.
     */
    private readonly limiters: { readonly pairs: LoginLimiter; readonly addresses: LoginLimiter },
    private readonly now: () => number,
    /** Where logins (checked credentials, failed or not) are told: the audit log. */
    private readonly events?: Pick<EventBus, 'emit'>,
  ) {}

  /** Forget remembered logins: call after any password, robot or user change. */
  invalidate(): void {
    this.cache.clear();
  }

  /**
   * Checks credentials, counting a wrong one against the account from `client` and against
   * `client`. The attempt is counted before the (slow) check, so parallel guesses cannot outrun
   * the limit; a success gives the slot back.
   */
  async login(username: string, password: string, client: string): Promise<LoginResult> {
    const robot = username.startsWith(ROBOT_PREFIX);
    const counted: [LoginLimiter, string[]][] = [[this.limiters.addresses, [client]]];
    const pair = `${username.toLowerCase()}\0${client}`;
    if (!robot) counted.push([this.limiters.pairs, [pair]]);
    // Locks come before remembered logins: else a locked guesser would still learn, at no cost,
    // which guess is the password the real user signed in with a moment ago.
    const locked = Math.max(...counted.map(([limiter, keys]) => limiter.retryAfter(keys)));
    if (locked > 0) return { kind: 'locked', retryAfterMs: locked };

    const key = createHmac('sha256', this.cacheKey).update(username).update('\0').update(password).digest('base64');
    const cached = this.cached(key);
    if (cached !== undefined) return { kind: 'ok', principal: cached };

    const wait = await admit(counted);
    if (wait > 0) return { kind: 'locked', retryAfterMs: wait };

    let principal: Principal | undefined;
    try {
      // Another request may have verified these credentials while this one waited for a slot.
      principal = this.cached(key) ?? (robot ? await this.robotLogin(username, password) : await this.userLogin(username, password));
    } catch (err) {
      // The store failed: that is no wrong guess.
      for (const [limiter, keys] of counted) limiter.release(keys);
      throw err;
    }
    const who = username.slice(0, 256);
    if (principal === undefined) {
      for (const [limiter, keys] of counted) limiter.failReserved(keys);
      void this.events?.emit({ action: 'login', actor: who, client, project: null, resource: robot ? who : `user ${who}`, outcome: 'failed' });
      return { kind: 'invalid' };
    }
    for (const [limiter, keys] of counted) limiter.release(keys);
    // The address keeps its failures: a sprayer signing in to an account of his own resets nothing.
    if (!robot) this.limiters.pairs.succeed(pair);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, { principal, expires: this.now() + CACHE_TTL_MS });
    // Checked credentials only: a remembered login is no new one, and locked attempts are not checked.
    const name = principal.kind === 'anonymous' ? who : principal.name;
    void this.events?.emit({ action: 'login', actor: name, client, project: null, resource: principal.kind === 'robot' ? name : `user ${name}`, outcome: 'succeeded' });
    return { kind: 'ok', principal };
  }

  private cached(key: string): Principal | undefined {
    const hit = this.cache.get(key);
    return hit !== undefined && hit.expires > this.now() ? hit.principal : undefined;
  }

  private async userLogin(username: string, password: string): Promise<Principal | undefined> {
    const creds = await this.meta.users.credentials(username);
    const ok = await verifyPassword(password, creds?.passwordHash);
    return ok && creds !== undefined ? { kind: 'user', name: creds.user.username, admin: creds.user.admin } : undefined;
  }

  private async robotLogin(name: string, secret: string): Promise<Principal | undefined> {
    const creds = await this.meta.robots.credentials(name);
    const ok = verifySecret(secret, creds?.secretHash);
    if (!ok || creds === undefined) return undefined;
    const { robot } = creds;
    if (robot.disabled || (robot.expiresAt !== null && robot.expiresAt <= this.now())) return undefined;
    return { kind: 'robot', name: robot.name, permissions: robot.permissions };
  }

  /** Claims of a valid bearer token. */
  bearer(token: string): Promise<TokenClaims | undefined> {
    return this.tokens.verify(token);
  }

  /** The current principal behind a token subject (it may have been deleted or disabled since). */
  async principalOf(subject: string): Promise<Principal> {
    if (subject.startsWith(ROBOT_PREFIX)) {
      const robot = await this.meta.robots.get(subject);
      if (robot === undefined || robot.disabled || (robot.expiresAt !== null && robot.expiresAt <= this.now())) return ANONYMOUS;
      return { kind: 'robot', name: robot.name, permissions: robot.permissions };
    }
    const user = await this.meta.users.get(subject);
    return user === undefined ? ANONYMOUS : { kind: 'user', name: user.username, admin: user.admin };
  }

  /** What `principal` may do to repository `name`. */
  async actionsOn(principal: Principal, name: string): Promise<Set<RepositoryAction>> {
    const { project } = parseRepositoryName(name);
    const facts = await this.meta.projects.get(project);
    let role;
    if (principal.kind === 'user' && !principal.admin && facts !== undefined) {
      role = (await this.meta.projects.membershipsOf(principal.name)).find((m) => m.project === project)?.role;
    }
    return allowedActions(principal, facts, role);
  }

  /** Which projects' repositories `principal` may see in listings. */
  async visibility(principal: Principal): Promise<Visibility> {
    switch (principal.kind) {
      case 'anonymous':
        return { kind: 'projects', projects: [], includePublic: true };
      case 'user':
        if (principal.admin) return { kind: 'all' };
        return { kind: 'projects', projects: (await this.meta.projects.membershipsOf(principal.name)).map((m) => m.project), includePublic: true };
      case 'robot':
        return { kind: 'projects', projects: principal.permissions.filter((p) => p.actions.includes('pull')).map((p) => p.project), includePublic: true };
    }
  }
}

/**
 * Reserves a check on every limiter's keys at once, waiting while checks in flight fill a budget;
 * resolves to 0 when reserved, else the milliseconds until the caller may try again. The state of
 * all limiters is read and the reservation made with no await in between, so no other login can
 * slip in.
 */
async function admit(counted: readonly (readonly [LoginLimiter, readonly string[]])[]): Promise<number> {
  for (;;) {
    let wait = 0;
    let busy: Promise<void> | undefined;
    for (const [limiter, keys] of counted) {
      const s = limiter.state(keys);
      if (s.kind === 'locked') wait = Math.max(wait, s.retryAfterMs);
      else if (s.kind === 'busy') busy ??= s.settled;
    }
    if (wait > 0) return wait;
    if (busy === undefined) {
      for (const [limiter, keys] of counted) limiter.reserve(keys);
      return 0;
    }
    await busy;
  }
}
