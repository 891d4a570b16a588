import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { PromotionRecord } from '../../storage/index.js';
import { ArtifactWriteError } from '../artifact-writer.js';
import { parseImageReference, PromotionError } from '../promotion.js';
import { clientOf, demand, hostOf, isAdmin, parse, projectAccess, requireSignedIn, writeToApi, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

const body = z.object({ source: z.string().min(3).max(512), target: z.string().min(3).max(512) }).strict();

export function toPromotionJson(p: PromotionRecord): Record<string, unknown> {
  return {
    id: p.id,
    source: `${p.source}@${p.sourceDigest}`,
    target: `${p.target}:${p.targetTag ?? ''}`,
    digest: p.sourceDigest,
    outcome: p.outcome,
    actor: p.actor,
    gates: p.gates,
    signature: p.signature,
    createdAt: new Date(p.createdAt).toISOString(),
  };
}

/** The refusal of a promotion, a signature or a push that gates judged: 422, every failed gate as data and in words. */
export function refused(what: string, gates: readonly { readonly gate: string; readonly passed: boolean; readonly reason: string; readonly ids?: readonly string[] }[]): ApiError {
  const failed = gates.filter((g) => !g.passed);
  return new ApiError('POLICY_REFUSED', `${what} refused: ${failed.map((g) => `${g.gate}: ${g.reason}`).join('; ')}`, { detail: { gates: failed.map((g) => ({ gate: g.gate, reason: g.reason, ids: [...(g.ids ?? [])] })) } });
}

const actorOf = (req: FastifyRequest): string | null => (req.principal.kind === 'anonymous' ? null : req.principal.name);

/**
 * Promotions: pull on the source and push on the target; the target project's gates decide.
 * Listing: promotions into a project, for those who may pull there (administrators: all).
 */
export function registerPromotionRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  app.post('/api/v1/promotions', async (req, reply) => {
    requireSignedIn(req);
    const b = parse(body, req.body);
    let source;
    let target;
    try {
      source = parseImageReference(b.source, 'source');
      target = parseImageReference(b.target, 'target');
    } catch (err) {
      if (err instanceof PromotionError) throw new ApiError('BAD_REQUEST', err.message);
      throw err;
    }
    demand(req, await projectAccess(deps, req, source.project), 'pull');
    demand(req, await projectAccess(deps, req, target.project), 'push');
    let outcome;
    try {
      outcome = await deps.promotions.promote({ source: b.source, target: b.target, actor: actorOf(req), client: clientOf(req, deps.options.trustProxy), host: hostOf(deps, req) });
    } catch (err) {
      if (err instanceof PromotionError) throw new ApiError(err.code === 'SOURCE_UNKNOWN' ? 'NOT_FOUND' : 'BAD_REQUEST', err.message);
      if (err instanceof ArtifactWriteError) writeToApi(err);
      throw err;
    }
    if (outcome.kind === 'refused') throw refused(`promotion of ${b.source} to ${b.target}`, outcome.record.gates);
    deps.log.info({ actor: actorOf(req), source: b.source, target: b.target, digest: outcome.record.sourceDigest }, 'image promoted');
    return reply.code(201).send(toPromotionJson(outcome.record));
  });

  app.get<{ Querystring: { project?: string; limit?: string } }>('/api/v1/promotions', async (req) => {
    requireSignedIn(req);
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000);
    if (req.query.project === undefined) {
      if (!isAdmin(req.principal)) throw new ApiError('BAD_REQUEST', 'project: give the project whose promotions to list (only administrators list them all)');
      return (await deps.meta.promotions.list({ limit })).map(toPromotionJson);
    }
    const access = await projectAccess(deps, req, req.query.project);
    demand(req, access, 'pull');
    return (await deps.meta.promotions.list({ project: access.project.name, limit })).map(toPromotionJson);
  });
}
