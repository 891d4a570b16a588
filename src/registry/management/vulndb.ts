import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parse, requireAdmin, requireSignedIn, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

/**
 * The advisory DB of the registry: its age and how its updates go, for any signed-in account (a
 * CI job may check the DB is current before it trusts a clean scan; feed URLs are shown without
 * credentials); an update queued now, for system administrators. Re-evaluation is in scans.ts.
 */
export function registerVulnDbRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  app.get('/api/v1/system/vulndb', async (req) => {
    requireSignedIn(req);
    return deps.vulndb.view();
  });

  app.post('/api/v1/system/vulndb/update', async (req, reply) => {
    const p = requireAdmin(req);
    parse(z.object({}).strict(), req.body);
    const r = await deps.vulndb.updateNow();
    if (r === undefined) throw new ApiError('CONFLICT', 'advisory DB updates are off here (scan.update.interval is 0, or scanning is off)');
    deps.log.info({ actor: p.name, queued: r.queued }, 'advisory DB update requested');
    return reply.code(202).send({ status: r.queued ? 'queued' : 'already queued' });
  });
}
