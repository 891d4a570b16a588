import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { WebhookRecord } from '../../storage/index.js';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS, WebhookError, type WebhookDelivery } from '../webhooks.js';
import { demand, emitEvent, parse, projectAccess, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

const NEW_WEBHOOK = z
  .object({
    url: z.string().min(1).max(2048),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length * 2),
    // Omitted: one is made and shown in the answer, once.
    secret: z.string().min(16, 'at least 16 characters').max(256).optional(),
    format: z.enum(WEBHOOK_FORMATS).default('default'),
  })
  .strict();

const PAGE = z.object({ page_size: z.coerce.number().int().min(1).max(1000).default(100), last: z.string().max(100).optional() }).strict();

/** A webhook as the API shows it: never its secret. */
function toWebhookJson(w: WebhookRecord): Record<string, unknown> {
  return { id: w.id, project: w.project, url: w.url, events: w.events, format: w.format, enabled: w.enabled, createdAt: new Date(w.createdAt).toISOString(), createdBy: w.createdBy };
}

function toDeliveryJson(d: WebhookDelivery): Record<string, unknown> {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: d.id,
    event: d.event,
    state: d.state,
    attempts: d.attempts,
    statusCode: d.statusCode,
    error: d.error,
    response: d.response,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    nextAttemptAt: iso(d.nextAttemptAt),
    history: d.history.map((a) => ({ at: iso(a.at), statusCode: a.statusCode, error: a.error, durationMs: a.durationMs })),
  };
}

/** A webhook id from the path; a malformed one is no webhook (404). */
function webhookId(text: string): number {
  const id = /^[1-9][0-9]{0,14}$/.test(text) ? Number(text) : undefined;
  if (id === undefined) throw new ApiError('NOT_FOUND', `webhook ${text.slice(0, 40)} not found`);
  return id;
}

/**
 * A project's webhooks and their delivery logs: project admins (and administrators) only, since
 * a receiver URL may itself be a credential (Slack's are).
 */
export function registerWebhookRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { webhooks } = deps;

  const adminAccess = async (req: FastifyRequest, project: string) => {
    const access = await projectAccess(deps, req, project);
    demand(req, access, 'admin');
    return access.project.name;
  };
  const actorOf = (req: FastifyRequest) => (req.principal.kind === 'anonymous' ? null : req.principal.name);

  const found = async (project: string, idText: string): Promise<WebhookRecord> => {
    const w = await webhooks.get(project, webhookId(idText));
    if (w === undefined) throw new ApiError('NOT_FOUND', `webhook ${idText} not found in project "${project}"`);
    return w;
  };

  app.post<{ Params: { project: string } }>('/api/v1/projects/:project/webhooks', async (req, reply) => {
    const project = await adminAccess(req, req.params.project);
    const body = parse(NEW_WEBHOOK, req.body);
    let created: Awaited<ReturnType<typeof webhooks.create>>;
    try {
      created = await webhooks.create({ project, url: body.url, events: body.events, secret: body.secret, format: body.format, createdBy: actorOf(req) });
    } catch (err) {
      if (!(err instanceof WebhookError)) throw err;
      switch (err.code) {
        case 'URL_INVALID':
        case 'URL_REFUSED':
          throw new ApiError('BAD_REQUEST', err.message, { cause: err });
        case 'PROJECT_UNKNOWN':
          throw new ApiError('NOT_FOUND', err.message, { cause: err });
        case 'TOO_MANY_WEBHOOKS':
          throw new ApiError('CONFLICT', err.message, { cause: err });
      }
    }
    const { webhook, generatedSecret } = created;
    // The audit log keeps where deliveries go by origin only: a path may hold a token.
    await emitEvent(deps, req, {
      action: 'webhook.create',
      project,
      resource: `webhook ${webhook.id}`,
      outcome: 'succeeded',
      detail: { id: webhook.id, receiver: new URL(webhook.url).origin, events: webhook.events, format: webhook.format },
    });
    return reply.code(201).send({ ...toWebhookJson(webhook), ...(generatedSecret !== undefined ? { secret: generatedSecret } : {}) });
  });

  app.get<{ Params: { project: string } }>('/api/v1/projects/:project/webhooks', async (req) => {
    const project = await adminAccess(req, req.params.project);
    return (await webhooks.list(project)).map(toWebhookJson);
  });

  app.get<{ Params: { project: string; id: string } }>('/api/v1/projects/:project/webhooks/:id', async (req) => {
    const project = await adminAccess(req, req.params.project);
    return toWebhookJson(await found(project, req.params.id));
  });

  app.delete<{ Params: { project: string; id: string } }>('/api/v1/projects/:project/webhooks/:id', async (req, reply) => {
    const project = await adminAccess(req, req.params.project);
    const id = webhookId(req.params.id);
    if (!(await webhooks.delete(project, id))) throw new ApiError('NOT_FOUND', `webhook ${id} not found in project "${project}"`);
    await emitEvent(deps, req, { action: 'webhook.delete', project, resource: `webhook ${id}`, outcome: 'succeeded', detail: { id } });
    return reply.code(204).send();
  });

  app.get<{ Params: { project: string; id: string } }>('/api/v1/projects/:project/webhooks/:id/deliveries', async (req) => {
    const project = await adminAccess(req, req.params.project);
    const w = await found(project, req.params.id);
    const page = parse(PAGE, req.query, 'query');
    return (await webhooks.deliveries(w.id, { limit: page.page_size, ...(page.last !== undefined ? { after: page.last } : {}) })).map(toDeliveryJson);
  });
}
