import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { parseRepositoryName } from '../../oci/index.js';
import type { Logger } from '../../shared/index.js';
import { StorageError, type BlobStore, type MetadataStore, type ProjectRecord, type ProjectRole, type RepositoryAction, type ScanResultRecord, type UploadStore } from '../../storage/index.js';
import { ANONYMOUS, allowedActions, canAdminProject, type Principal } from '../auth/access.js';
import { ArtifactWriteError, type ArtifactWriter, type Origin } from '../artifact-writer.js';
import type { AuditLog } from '../audit.js';
import type { EventBus, RegistryEvent } from '../events.js';
import type { GateService } from '../gates.js';
import type { PolicyService } from '../policies.js';
import type { PromotionService } from '../promotion.js';
import type { WebhookService } from '../webhooks.js';
import type { Authenticator } from '../auth/authenticator.js';
import { clientAddress } from '../auth/client-address.js';
import type { TokenService } from '../auth/tokens.js';
import type { AdvisoryDbUpdater } from '../advisory-db-update.js';
import type { GcOptions, GcReport } from '../gc.js';
import type { ReevaluateOutcome } from '../scan.js';
import type { SigningService } from '../signing.js';
import type { SecuritySearch } from '../security-search.js';
import type { FindingDecision, ReportFormat } from '../../scan/index.js';
import { ApiError } from './errors.js';

export interface ManagementDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  /** The one write path of artifacts (deletes through the API pass its guard too). */
  readonly writer: ArtifactWriter;
  readonly events: EventBus;
  readonly audit: AuditLog;
  readonly webhooks: WebhookService;
  readonly policies: PolicyService;
  readonly gates: GateService;
  readonly promotions: PromotionService;
  readonly auth: Authenticator;
  readonly tokens: TokenService;
  readonly now: () => number;
  readonly log: Logger;
  readonly options: {
    readonly service: string;
    readonly projectCreation: 'everyone' | 'adminonly';
    /** Trusted reverse proxies in front (0: none). */
    readonly trustProxy: number;
    readonly version: string;
    /** The registry host clients pull from (`externalUrl`'s); undefined: the Host the request reached. */
    readonly registryHost?: string;
  };
  /** Runs one garbage collection at a time; rejects with CONFLICT while one runs. */
  readonly runGc: (options: Pick<GcOptions, 'dryRun' | 'deleteUntagged'>, who?: { actor: string | null; client: string | null }) => Promise<GcReport>;
  /** Queues the SBOM of an image (one pushed before SBOMs existed, or whose job failed for good). */
  readonly sbom: { enqueue(repository: string, digest: string, again?: boolean): Promise<void> };
  /** Queues scans, re-evaluates stored images against the current advisory DB. */
  readonly scan: {
    enqueue(repository: string, digest: string): Promise<void>;
    reevaluate(): Promise<ReevaluateOutcome>;
    /** The full report of a result, rebuilt against the current DB when a re-evaluation made it stale. */
    formattedReport(repository: string, result: ScanResultRecord, format: ReportFormat, decisions?: readonly FindingDecision[]): Promise<Uint8Array | undefined>;
    readonly maxDbAgeMs: number;
  };
  /** "Which images hold CVE-X?", packages, the security summary. */
  readonly search: Pick<SecuritySearch, 'artifactsOf' | 'imagesWithPackage' | 'summary'>;
  /** The advisory DB's age and updates; an update queued now. */
  readonly vulndb: Pick<AdvisoryDbUpdater, 'view' | 'updateNow'>;
  /** Projects' server-side signing keys, signing with them, and what is stored for an image. */
  readonly signing: Pick<SigningService, 'createKey' | 'publicKey' | 'deleteKey' | 'sign' | 'list'>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="portcullis", charset="UTF-8"' };

export function clientOf(req: FastifyRequest, trustProxy: number): string {
  return clientAddress(req.raw, trustProxy);
}

/**
 * The registry host signatures name: `externalUrl`'s when configured (a caller cannot make a
 * project key name another registry), else the one the client reached, as it pulls from it.
 */
export function hostOf(deps: ManagementDeps, req: FastifyRequest): string {
  if (deps.options.registryHost !== undefined) return deps.options.registryHost;
  const forwarded = deps.options.trustProxy ? req.headers['x-forwarded-host'] : undefined;
  const host = (Array.isArray(forwarded) ? forwarded[0] : forwarded) ?? req.headers.host;
  const first = host?.split(',')[0]?.trim() ?? '';
  // It goes into what the project key signs: a host[:port], nothing else (no path, no user info).
  if (!/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(first)) {
    throw new ApiError('BAD_REQUEST', 'the Host header is not a host[:port]: the signature must name the registry host (or set externalUrl)');
  }
  return first;
}

/** Basic credentials from an Authorization header, or undefined. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Who is calling: Basic credentials or a bearer token of ours; anonymous without either. */
export async function identify(deps: ManagementDeps, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization;
  if (header === undefined) return ANONYMOUS;
  if (/^bearer /i.test(header)) {
    const claims = await deps.auth.bearer(header.slice(7).trim());
    if (claims === undefined) throw new ApiError('UNAUTHORIZED', 'invalid or expired token: log in again', { headers: BASIC_CHALLENGE });
    return deps.auth.principalOf(claims.subject);
  }
  const creds = basicCredentials(header);
  if (creds === undefined) throw new ApiError('UNAUTHORIZED', 'unsupported Authorization header: use Basic or Bearer', { headers: BASIC_CHALLENGE });
  const result = await deps.auth.login(creds.username, creds.password, clientOf(req, deps.options.trustProxy));
  if (result.kind === 'locked') throw tooManyFailedLogins(result.retryAfterMs);
  if (result.kind === 'invalid') throw new ApiError('UNAUTHORIZED', 'invalid username or password', { headers: BASIC_CHALLENGE });
  return result.principal;
}

/** The 429 for a locked login, with Retry-After in whole seconds. */
export function tooManyFailedLogins(retryAfterMs: number): ApiError {
  const s = Math.ceil(retryAfterMs / 1000);
  return new ApiError('TOO_MANY_REQUESTS', `too many failed logins: try again in ${s} s`, { headers: { 'Retry-After': String(s) } });
}

export function requireSignedIn(req: FastifyRequest): Exclude<Principal, { kind: 'anonymous' }> {
  const p = req.principal;
  if (p.kind === 'anonymous') throw new ApiError('UNAUTHORIZED', 'sign in first: send Basic credentials or a bearer token', { headers: BASIC_CHALLENGE });
  return p;
}

export function requireUser(req: FastifyRequest): Extract<Principal, { kind: 'user' }> {
  const p = requireSignedIn(req);
  if (p.kind !== 'user') throw new ApiError('FORBIDDEN', 'robot accounts cannot use this endpoint');
  return p;
}

export function requireAdmin(req: FastifyRequest): Extract<Principal, { kind: 'user' }> {
  const p = requireUser(req);
  if (!p.admin) throw new ApiError('FORBIDDEN', 'only system administrators may do this');
  return p;
}

export function isAdmin(p: Principal): boolean {
  return p.kind === 'user' && p.admin;
}

export interface ProjectAccess {
  readonly project: ProjectRecord;
  readonly role: ProjectRole | undefined;
  readonly actions: ReadonlySet<RepositoryAction>;
  readonly canAdmin: boolean;
}

/**
 * The project as `req.principal` sees it. A project the caller may not see is NOT_FOUND, not
 * FORBIDDEN, so private project names do not leak.
 */
export async function projectAccess(deps: ManagementDeps, req: FastifyRequest, name: string): Promise<ProjectAccess> {
  const project = await deps.meta.projects.get(name);
  const principal = req.principal;
  let role: ProjectRole | undefined;
  if (project !== undefined && principal.kind === 'user' && !principal.admin) {
    role = (await deps.meta.projects.membershipsOf(principal.name)).find((m) => m.project === name)?.role;
  }
  const actions = allowedActions(principal, project, role);
  const visible = project !== undefined && (isAdmin(principal) || project.public || role !== undefined || actions.size > 0);
  if (!visible) {
    if (principal.kind === 'anonymous') throw new ApiError('UNAUTHORIZED', `project "${name}" not found, or sign in to see it`, { headers: BASIC_CHALLENGE });
    throw new ApiError('NOT_FOUND', `project "${name}" not found`);
  }
  return { project: project!, role, actions, canAdmin: canAdminProject(principal, role) };
}

export function demand(req: FastifyRequest, access: ProjectAccess, what: RepositoryAction | 'admin'): void {
  const ok = what === 'admin' ? access.canAdmin : access.actions.has(what);
  if (!ok && req.principal.kind === 'anonymous') requireSignedIn(req);
  if (!ok) throw new ApiError('FORBIDDEN', what === 'admin' ? `only project admins of "${access.project.name}" may do this` : `you may not ${what} in project "${access.project.name}"`);
}

/** Validates a JSON body (or query) against `schema`; the error names the field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, what = 'body'): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.length > 0 ? issue.path.join('.') : what;
  const extra = issue.code === 'unrecognized_keys' ? `unknown field ${(issue as { keys: string[] }).keys.join(', ')}` : issue.message;
  throw new ApiError('BAD_REQUEST', `${path}: ${extra}`);
}

/** `project/repo` from route parameters; the repository part may arrive with %2F (or Harbor's %252F). */
export function repositoryName(project: string, repo: string): string {
  const inner = repo.includes('%2F') || repo.includes('%2f') ? decodeURIComponent(repo) : repo;
  const name = `${project}/${inner}`;
  try {
    parseRepositoryName(name);
  } catch (err) {
    throw new ApiError('BAD_REQUEST', (err as Error).message);
  }
  return name;
}

/**
 * Tells the event bus (the audit log, the webhooks) what a management request did, as its caller
 * from its client address. Resolves once every sink has taken it; never rejects (a sink's failure
 * is logged), so a route may await it: the change is then in the audit log before the answer.
 */
export function emitEvent(deps: Pick<ManagementDeps, 'events' | 'options'>, req: FastifyRequest, event: Omit<RegistryEvent, 'actor' | 'client'>): Promise<void> {
  const p = req.principal;
  return deps.events.emit({ ...event, actor: p.kind === 'anonymous' ? null : p.name, client: clientOf(req, deps.options.trustProxy) });
}

/** A write a caller of the management API makes, as the writer records it. */
export function clientOrigin(req: FastifyRequest, deps: Pick<ManagementDeps, 'options'>): Origin {
  return { kind: 'client', actor: req.principal.kind === 'anonymous' ? 'anonymous' : req.principal.name, client: clientOf(req, deps.options.trustProxy) };
}

/** A refused or failed write (ArtifactWriteError) in the management API's terms; anything else is rethrown. */
export function writeToApi(err: unknown): never {
  if (err instanceof ArtifactWriteError) {
    switch (err.code) {
      case 'UNKNOWN':
        throw new ApiError('NOT_FOUND', err.message, { cause: err });
      case 'DENIED':
        throw new ApiError('FORBIDDEN', err.message, { cause: err });
      case 'REFERENCED':
        throw new ApiError('CONFLICT', err.message, { cause: err });
      case 'BLOB_BUSY':
        throw new ApiError('TOO_MANY_REQUESTS', err.message, { cause: err, headers: { 'Retry-After': '5' } });
      case 'PROJECT_UNKNOWN':
      case 'REFERENCES_MISSING':
      case 'BLOB_GONE':
        throw new ApiError('CONFLICT', err.message, { cause: err });
    }
  }
  throw err;
}

export function storageToApi(err: unknown): never {
  if (err instanceof StorageError) {
    if (err.code === 'CONFLICT') throw new ApiError('CONFLICT', err.message, { cause: err });
    if (err.code === 'NOT_FOUND') throw new ApiError('NOT_FOUND', err.message, { cause: err });
  }
  throw err;
}

export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
