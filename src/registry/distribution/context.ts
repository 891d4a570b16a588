import type { IncomingMessage } from 'node:http';
import { OciError, parseRepositoryName } from '../../oci/index.js';
import type { Logger } from '../../shared/index.js';
import type { BlobStore, MetadataStore, RepositoryAction, UploadStore } from '../../storage/index.js';
import { ANONYMOUS, type Principal } from '../auth/access.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { ArtifactWriter, Origin } from '../artifact-writer.js';
import type { EventBus } from '../events.js';
import type { GateService } from '../gates.js';
import type { TokenClaims } from '../auth/tokens.js';

export interface DistributionOptions {
  /** The token service name (`service=` in challenges, `aud` in tokens). */
  readonly service: string;
  /** Absolute URL of the token endpoint; derived from the request's Host when undefined. */
  readonly realm: string | undefined;
  /** Largest blob accepted in one upload. */
  readonly maxBlobBytes: number;
  /** HEAD of a blob refreshes its last-use time when older than this (keeps GC off blobs being reused). */
  readonly touchAfterMs: number;
  /** Honour X-Forwarded-Proto/Host (behind a reverse proxy). */
  readonly trustProxy: number;
}

export interface DistributionDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly auth: Authenticator;
  readonly now: () => number;
  readonly log: Logger;
  readonly options: DistributionOptions;
  /** The one write path of artifacts. */
  readonly writer: ArtifactWriter;
  readonly events: EventBus;
  /** The pull gate. */
  readonly gates: GateService;
}

/** Who sent the request, as far as its credentials tell. */
export type Caller =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'token'; readonly claims: TokenClaims }
  | { readonly kind: 'basic'; readonly principal: Principal };

export interface RequestContext {
  readonly deps: DistributionDeps;
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly caller: Caller;
}

/** The caller as the origin of a write (for the write guard and the audit log). */
export function originOf(ctx: RequestContext, client: string): Origin {
  const { caller } = ctx;
  const actor = caller.kind === 'token' ? caller.claims.subject : caller.kind === 'basic' && caller.principal.kind !== 'anonymous' ? caller.principal.name : undefined;
  return { kind: 'client', ...(actor !== undefined ? { actor } : {}), client };
}

export function realmOf(ctx: { deps: DistributionDeps; req: IncomingMessage }): string {
  if (ctx.deps.options.realm !== undefined) return ctx.deps.options.realm;
  const { req } = ctx;
  const fwdProto = ctx.deps.options.trustProxy ? headerValue(req, 'x-forwarded-proto') : undefined;
  const fwdHost = ctx.deps.options.trustProxy ? headerValue(req, 'x-forwarded-host') : undefined;
  const proto = fwdProto ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  const host = fwdHost ?? req.headers.host ?? 'localhost';
  return `${proto}://${host}/service/token`;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;
}

export function challenge(ctx: { deps: DistributionDeps; req: IncomingMessage }, scope?: string, error?: 'invalid_token' | 'insufficient_scope'): string {
  let h = `Bearer realm="${realmOf(ctx)}",service="${ctx.deps.options.service}"`;
  if (scope !== undefined) h += `,scope="${scope}"`;
  if (error !== undefined) h += `,error="${error}"`;
  return h;
}

function scopeFor(name: string, action: RepositoryAction): string {
  return `repository:${name}:${action === 'pull' ? 'pull' : action === 'push' ? 'pull,push' : 'delete'}`;
}

/**
 * May the caller take `action` on repository `name`? 'challenge' means "get a token that covers
 * this scope" (401); 'denied' that the caller's credentials were judged and fall short (403).
 */
export async function decide(ctx: RequestContext, name: string, action: RepositoryAction): Promise<'allowed' | 'challenge' | 'denied'> {
  const { caller } = ctx;
  switch (caller.kind) {
    case 'token': {
      const covers = (entries: TokenClaims['access']) => entries.some((a) => a.type === 'repository' && a.name === name && a.actions.includes(action));
      if (covers(caller.claims.access)) return 'allowed';
      // Anonymous rights (public pull) hold whatever the token says.
      if ((await ctx.deps.auth.actionsOn(ANONYMOUS, name)).has(action)) return 'allowed';
      // Asked for and refused by the token endpoint: a new token would not help.
      if (covers(caller.claims.refused)) return 'denied';
      return 'challenge';
    }
    case 'basic':
      return (await ctx.deps.auth.actionsOn(caller.principal, name)).has(action) ? 'allowed' : 'denied';
    case 'anonymous':
      return (await ctx.deps.auth.actionsOn(ANONYMOUS, name)).has(action) ? 'allowed' : 'challenge';
  }
}

/** Throws the spec's 401 or 403 unless the caller may take `action` on `name`. */
export async function authorize(ctx: RequestContext, name: string, action: RepositoryAction): Promise<void> {
  parseRepositoryName(name);
  const verdict = await decide(ctx, name, action);
  if (verdict === 'allowed') return;
  const scope = scopeFor(name, action);
  if (verdict === 'challenge') {
    throw new OciError('UNAUTHORIZED', 'authentication required', {
      detail: { type: 'repository', name, action },
      headers: { 'WWW-Authenticate': challenge(ctx, scope, ctx.caller.kind === 'token' ? 'insufficient_scope' : undefined) },
    });
  }
  throw new OciError('DENIED', `requested access to the resource is denied: ${action} on ${name}`, { detail: { type: 'repository', name, action } });
}
