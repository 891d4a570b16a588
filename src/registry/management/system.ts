import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { clientOf, parse, requireAdmin, requireSignedIn, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

const LAST_GC = 'gc.last-report';

export function registerSystemRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.meta.ping();
      return { status: 'ok' };
    } catch (err) {
      deps.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', reason: 'metadata store unreachable' });
    }
  });

  app.get('/api/v1/system/info', async (req) => {
    requireSignedIn(req);
    return { version: deps.options.version, tokenService: deps.options.service };
  });

  app.post('/api/v1/system/gc', async (req) => {
    const p = requireAdmin(req);
    const body = parse(z.object({ dryRun: z.boolean().default(false), deleteUntagged: z.boolean().default(false) }).strict(), req.body);
    deps.log.info({ actor: p.name, ...body }, 'garbage collection requested');
    const report = await deps.runGc(body, { actor: p.name, client: clientOf(req, deps.options.trustProxy) });
    if (!report.dryRun) await deps.meta.settings.put(LAST_GC, JSON.stringify(report));
    return report;
  });

  app.get('/api/v1/system/gc', async (req) => {
    requireAdmin(req);
    const last = await deps.meta.settings.get(LAST_GC);
    if (last === undefined) throw new ApiError('NOT_FOUND', 'no garbage collection has run yet');
    return JSON.parse(last) as unknown;
  });
}
