import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isDigest, type Digest } from '../../oci/index.js';
import { parseDuration } from '../../shared/index.js';
import type { WaiverRecord } from '../../storage/index.js';
import { demand, emitEvent, isAdmin, parse, projectAccess, repositoryName, requireSignedIn, requireUser, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

/** The longest a waiver may run: long enough to ship a fix, short enough to be looked at again. */
const MAX_WAIVER_MS = 90 * 86_400_000;

const requestBody = z
  .object({
    project: z.string().min(1).max(64),
    repository: z.string().min(1).max(255).optional(),
    digest: z.string().refine(isDigest, 'not a digest (sha256:…)').optional(),
    ids: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'a finding id: CVE-…, GHSA-…, a secret rule or a check id')).min(1).max(100),
    reason: z.string().trim().min(1, 'say why the findings may be accepted').max(2000),
    /** A duration from now (`30d`) or an RFC 3339 time. */
    expires: z.string().min(1).max(64),
  })
  .strict();

const decisionBody = z.object({ comment: z.string().max(2000).optional() }).strict();

/** A waiver as the API shows it: an approved one past its expiry reads `expired`. */
export function toWaiverJson(w: WaiverRecord, now: number): Record<string, unknown> {
  return {
    id: w.id,
    project: w.project,
    repository: w.repository,
    digest: w.digest,
    ids: w.ids,
    reason: w.reason,
    requestedBy: w.requestedBy,
    requestedAt: new Date(w.requestedAt).toISOString(),
    expiresAt: new Date(w.expiresAt).toISOString(),
    state: w.state === 'approved' && w.expiresAt <= now ? 'expired' : w.state,
    decidedBy: w.decidedBy,
    decidedAt: w.decidedAt === null ? null : new Date(w.decidedAt).toISOString(),
    comment: w.comment,
  };
}

const actorOf = (req: FastifyRequest): string => (req.principal.kind === 'anonymous' ? 'anonymous' : req.principal.name);

/**
 * Waivers: anyone who may pull in a project asks for findings to be accepted, for an image, a
 * repository or the whole project, with a reason and an expiry; only a member of the security team
 * decides, and never on their own request (four eyes, for administrators too).
 */
export function registerWaiverRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta } = deps;
  const isSecurityTeam = async (req: FastifyRequest): Promise<boolean> => req.principal.kind === 'user' && ((await meta.users.get(req.principal.name))?.securityTeam ?? false);

  /** The waiver when the caller may see it: its project's members, the security team, administrators. */
  const visible = async (req: FastifyRequest, id: string): Promise<WaiverRecord> => {
    // Governance records: for signed-in accounts only, public project or not.
    requireSignedIn(req);
    const n = Number(id);
    const w = Number.isSafeInteger(n) && n > 0 ? await meta.waivers.get(n) : undefined;
    if (w === undefined) throw new ApiError('NOT_FOUND', `waiver ${id} not found`);
    if (isAdmin(req.principal) || (await isSecurityTeam(req))) return w;
    const access = await projectAccess(deps, req, w.project).catch(() => undefined);
    if (access === undefined || !access.actions.has('pull')) throw new ApiError('NOT_FOUND', `waiver ${id} not found`);
    return w;
  };

  app.post('/api/v1/waivers', async (req, reply) => {
    requireSignedIn(req);
    const body = parse(requestBody, req.body);
    const access = await projectAccess(deps, req, body.project);
    demand(req, access, 'pull');
    const project = access.project.name;
    const repository = body.repository === undefined ? null : body.repository.startsWith(`${project}/`) ? body.repository : repositoryName(project, body.repository);
    if (body.digest !== undefined && repository === null) throw new ApiError('BAD_REQUEST', 'digest: a waiver for one image names its repository too');
    const now = deps.now();
    const relative = parseDuration(body.expires);
    const expiresAt = relative !== undefined ? now + relative : Date.parse(body.expires);
    if (!Number.isFinite(expiresAt)) throw new ApiError('BAD_REQUEST', `expires: "${body.expires}" is neither a duration (30d) nor a time (RFC 3339)`);
    if (expiresAt <= now) throw new ApiError('BAD_REQUEST', 'expires: the waiver would be over before it starts');
    if (expiresAt - now > MAX_WAIVER_MS) throw new ApiError('BAD_REQUEST', 'expires: a waiver runs 90 days at most; ask again when it ends');
    const w = await meta.waivers.create({ project, repository, digest: (body.digest ?? null) as Digest | null, ids: [...new Set(body.ids)], reason: body.reason, requestedBy: actorOf(req), requestedAt: now, expiresAt });
    if (w === undefined) throw new ApiError('NOT_FOUND', `project "${project}" not found`);
    await emitEvent(deps, req, { action: 'waiver.request', project, resource: `waiver ${w.id}`, outcome: 'succeeded', detail: toWaiverJson(w, now) });
    return reply.code(201).send(toWaiverJson(w, now));
  });

  app.get<{ Querystring: { project?: string; state?: string; limit?: string } }>('/api/v1/waivers', async (req) => {
    requireSignedIn(req);
    const state = req.query.state;
    if (state !== undefined && state !== 'pending' && state !== 'approved' && state !== 'rejected') throw new ApiError('BAD_REQUEST', 'state: one of pending, approved, rejected');
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000);
    let project: string | undefined;
    if (req.query.project !== undefined) {
      const access = await projectAccess(deps, req, req.query.project);
      demand(req, access, 'pull');
      project = access.project.name;
    } else if (!isAdmin(req.principal) && !(await isSecurityTeam(req))) {
      throw new ApiError('BAD_REQUEST', 'project: give the project whose waivers to list (only administrators and the security team list them all)');
    }
    const now = deps.now();
    return (await meta.waivers.list({ ...(project !== undefined ? { project } : {}), ...(state !== undefined ? { state } : {}), limit })).map((w) => toWaiverJson(w, now));
  });

  app.get<{ Params: { id: string } }>('/api/v1/waivers/:id', async (req) => toWaiverJson(await visible(req, req.params.id), deps.now()));

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    app.post<{ Params: { id: string } }>(`/api/v1/waivers/:id/${verb}`, async (req) => {
      const p = requireUser(req);
      const body = parse(decisionBody, req.body ?? {});
      const w = await visible(req, req.params.id);
      if (!(await isSecurityTeam(req))) throw new ApiError('FORBIDDEN', `only members of the security team may ${verb} waivers`);
      if (w.requestedBy === p.name) throw new ApiError('FORBIDDEN', `four eyes: ${p.name} asked for waiver ${w.id}, so another member of the security team must decide it`);
      const decided = await meta.waivers.decide(w.id, decision, p.name, body.comment ?? null, deps.now());
      if (decided === undefined) throw new ApiError('NOT_FOUND', `waiver ${w.id} not found`);
      if (decided === 'not-pending') throw new ApiError('CONFLICT', `waiver ${w.id} was decided already: request a new one`);
      deps.gates.invalidate();
      const json = toWaiverJson(decided, deps.now());
      await emitEvent(deps, req, { action: 'waiver.decide', project: w.project, resource: `waiver ${w.id}`, outcome: 'succeeded', detail: json });
      return json;
    });
  }
}
