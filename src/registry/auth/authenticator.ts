import { createHmac, randomBytes } from 'node:crypto';
import { parseRepositoryName } from '../../oci/index.js';
import type { MetadataStore, RepositoryAction, Visibility } from '../../storage/index.js';
import { ANONYMOUS, ROBOT_PREFIX, allowedActions, type Principal } from './access.js';
import { verifyPassword, verifySecret } from './password.js';
import type { LoginLimiter } from './rate-limit.js';
import type { TokenClaims, TokenService } from './tokens.js';

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
    /** Failures per account name, and (with a higher bar, so one NAT's users do not lock each other out) per client address. */
    private readonly limiters: { readonly accounts: LoginLimiter; readonly addresses: LoginLimiter },
    private readonly now: () => number,
  ) {}

  /** Forget remembered logins: call after any password, robot or user change. */
  invalidate(): void {
    this.cache.clear();
  }

  async login(username: string, password: string, client: string): Promise<LoginResult> {
    const key = createHmac('sha256', this.cacheKey).update(username).update('\0').update(password).digest('base64');
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expires > this.now()) return { kind: 'ok', principal: hit.principal };

    const account = [username.toLowerCase()];
    const address = [client];
    const wait = Math.max(this.limiters.accounts.retryAfter(account), this.limiters.addresses.retryAfter(address));
    if (wait > 0) return { kind: 'locked', retryAfterMs: wait };

    const principal = username.startsWith(ROBOT_PREFIX) ? await this.robotLogin(username, password) : await this.userLogin(username, password);
    if (principal === undefined) {
      this.limiters.accounts.fail(account);
      this.limiters.addresses.fail(address);
      return { kind: 'invalid' };
    }
    this.limiters.accounts.succeed(account[0]!);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, { principal, expires: this.now() + CACHE_TTL_MS });
    return { kind: 'ok', principal };
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
