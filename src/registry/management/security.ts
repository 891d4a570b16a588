import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parse, requireSignedIn, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

/** Harbor's paging: `page` from 1, `page_size` up to 100; the total in `X-Total-Count`. */
const PAGE = { page: z.coerce.number().int().min(1).max(100_000).default(1), page_size: z.coerce.number().int().min(1).max(100).default(10) };
const VULN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{1,99}$/;

/**
 * Security search across every image the caller may pull from: which images hold a
 * vulnerability, which hold a package, and the security summary (Harbor's Security Hub).
 * Signed-in callers; each answer is limited to the projects they may pull from.
 */
export function registerSecurityRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const scopeOf = async (req: FastifyRequest) => {
    requireSignedIn(req);
    return deps.auth.visibility(req.principal);
  };
  const paged = (reply: FastifyReply, req: FastifyRequest, total: number, page: { page: number; page_size: number }): void => {
    void reply.header('X-Total-Count', String(total));
    if (page.page * page.page_size < total) {
      const next = new URL(req.url, 'http://x');
      next.searchParams.set('page', String(page.page + 1));
      next.searchParams.set('page_size', String(page.page_size));
      void reply.header('Link', `<${next.pathname}${next.search}>; rel="next"`);
    }
  };

  app.get<{ Params: { id: string } }>('/api/v1/vulnerabilities/:id/artifacts', async (req, reply) => {
    const scope = await scopeOf(req);
    if (!VULN_ID.test(req.params.id)) throw new ApiError('BAD_REQUEST', `"${req.params.id.slice(0, 100)}" is not a vulnerability id (CVE-2024-3094, GHSA-…, DSA-…)`);
    const page = parse(z.object(PAGE).strict(), req.query, 'query');
    const r = await deps.search.artifactsOf(req.params.id, scope, { page: page.page, pageSize: page.page_size });
    paged(reply, req, r.total, page);
    return { vulnerability: r.vulnerability, total: r.total, artifacts: r.artifacts };
  });

  app.get('/api/v1/packages', async (req, reply) => {
    const scope = await scopeOf(req);
    const q = parse(
      z
        .object({
          purl: z.string().min(5).max(1000).startsWith('pkg:').optional(),
          name: z.string().min(1).max(300).optional(),
          version: z.string().min(1).max(300).optional(),
          ecosystem: z.string().min(1).max(100).optional(),
          ...PAGE,
        })
        .strict()
        .refine((x) => (x.purl === undefined) !== (x.name === undefined), 'give either purl or name (with version and ecosystem if you like)')
        .refine((x) => x.purl === undefined || (x.version === undefined && x.ecosystem === undefined), 'a purl holds its version and ecosystem: give them in it'),
      req.query,
      'query',
    );
    const query = q.purl !== undefined ? { purl: q.purl } : { name: q.name!, ...(q.version !== undefined ? { version: q.version } : {}), ...(q.ecosystem !== undefined ? { ecosystem: q.ecosystem } : {}) };
    const r = await deps.search.imagesWithPackage(query, scope, { page: q.page, pageSize: q.page_size });
    paged(reply, req, r.total, q);
    return { packages: r.packages.map(({ ecosystem, name, version }) => ({ ecosystem, name, version })), total: r.total, artifacts: r.artifacts };
  });

  app.get('/api/v1/security/summary', async (req) => {
    const scope = await scopeOf(req);
    const q = parse(z.object({ top: z.coerce.number().int().min(1).max(50).default(5) }).strict(), req.query, 'query');
    return deps.search.summary(scope, q.top);
  });
}
