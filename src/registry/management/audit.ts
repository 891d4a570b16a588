import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AUDIT_ACTIONS, checkpointJson, toEntryJson } from '../audit.js';
import { demand, isAdmin, parse, projectAccess, requireAdmin, requireSignedIn, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

const MAX_LIMIT = 1000;
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds of an RFC 3339 time, or undefined (for 2024-02-30 too: Date.parse would roll it over). */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (m === null) return undefined;
  const [y, mo, d] = m[1]!.split('-').map(Number) as [number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  // Date.parse reads ISO 8601's own profile: T, Z and at most milliseconds.
  const ms = Date.parse(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}${m[4]!.toUpperCase()}`);
  return Number.isNaN(ms) ? undefined : ms;
}

const number = (max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a non-negative integer')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max}`);

const ListQuery = z
  .object({
    project: z.string().min(1).optional(),
    actor: z.string().min(1).optional(),
    action: z.enum(AUDIT_ACTIONS, { error: `must be one of ${AUDIT_ACTIONS.join(', ')}` }).optional(),
    since: z
      .string()
      .transform((s, ctx) => {
        const ms = parseRfc3339(s);
        if (ms === undefined) ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 time, e.g. 2024-05-01T00:00:00Z' });
        return ms ?? 0;
      })
      .optional(),
    after: number(Number.MAX_SAFE_INTEGER).optional(),
    limit: number(MAX_LIMIT)
      .refine((n) => n >= 1, 'must be at least 1')
      .default(100),
  })
  .strict();

/**
 * The audit log's routes. Reading only: no route changes or deletes an entry (retention is the
 * server's own, at a checkpoint). System administrators read everything; a project's
 * administrators read the entries of their project (`?project=`).
 */
export function registerAuditRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  app.get('/api/v1/audit', async (req) => {
    const principal = requireSignedIn(req);
    const q = parse(ListQuery, req.query, 'query');
    if (!isAdmin(principal)) {
      if (q.project === undefined) throw new ApiError('FORBIDDEN', 'only system administrators may read the whole audit log; a project administrator adds ?project=NAME');
      // A project the caller cannot see is not found; one they do not administer is forbidden.
      demand(req, await projectAccess(deps, req, q.project), 'admin');
    }
    const [entries, checkpoint] = await Promise.all([
      deps.audit.list({
        limit: q.limit,
        ...(q.project !== undefined ? { project: q.project } : {}),
        ...(q.actor !== undefined ? { actor: q.actor } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.after !== undefined ? { after: q.after } : {}),
      }),
      deps.audit.checkpoint(),
    ]);
    return {
      entries: entries.map(toEntryJson),
      // A full page may have more after it: pass `next` as `after`.
      next: entries.length === q.limit ? entries[entries.length - 1]!.seq : null,
      // Where the chain starts, when retention cut it (entries up to its seq are gone).
      checkpoint: checkpoint === undefined ? null : checkpointJson(checkpoint),
    };
  });

  app.get('/api/v1/audit/verify', async (req) => {
    requireAdmin(req);
    return deps.audit.verify();
  });

  app.get('/api/v1/audit/export', async (req, reply) => {
    requireAdmin(req);
    const chunks = deps.audit.exportChunks();
    // Read the first chunk before answering: a store that fails now is a 500, not a cut-short 200.
    const first = await chunks.next();
    async function* body(): AsyncGenerator<string> {
      if (first.done !== true) yield first.value;
      yield* chunks;
    }
    return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(body(), { objectMode: false }));
  });
}
