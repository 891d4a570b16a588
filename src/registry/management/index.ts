import type { FastifyError, FastifyInstance } from 'fastify';
import { ANONYMOUS } from '../auth/access.js';
import { registerAuditRoutes } from './audit.js';
import { identify, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';
import { registerPolicyRoutes } from './policies.js';
import { registerProjectRoutes } from './projects.js';
import { registerFactRoutes } from './facts.js';
import { registerPromotionRoutes } from './promotions.js';
import { registerRobotRoutes } from './robots.js';
import { registerScanRoutes } from './scans.js';
import { registerSecurityRoutes } from './security.js';
import { registerSigningRoutes } from './signing.js';
import { registerSystemRoutes } from './system.js';
import { registerTokenRoutes } from './token.js';
import { registerUserRoutes } from './users.js';
import { registerVulnDbRoutes } from './vulndb.js';
import { registerWaiverRoutes } from './waivers.js';
import { registerWebhookRoutes } from './webhooks.js';

export { ApiError, API_ERROR_STATUS, type ApiErrorCode } from './errors.js';
export type { ManagementDeps } from './context.js';

/**
 * The JSON management API (`/api/v1`), the token endpoint and health checks, on fastify. Every
 * request is identified first; each route then demands what it needs. Errors have one shape:
 * `{"errors":[{"code","message"}]}`.
 */
export function registerManagementApi(app: FastifyInstance, deps: ManagementDeps): void {
  // Declared without a default (fastify forbids shared objects); the onRequest hook sets it on every request.
  app.decorateRequest('principal');

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, new URLSearchParams(body as string));
  });

  app.addHook('onRequest', async (req) => {
    req.principal = ANONYMOUS;
    const path = req.url.split('?')[0]!;
    // Health checks need no caller; the token endpoint judges credentials itself.
    if (path === '/healthz' || path === '/readyz' || path === '/service/token') return;
    req.principal = await identify(deps, req);
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    let api: ApiError;
    if (err instanceof ApiError) api = err;
    else if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') api = new ApiError('PAYLOAD_TOO_LARGE', 'request body too large');
    else if (err.statusCode === 415 || err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') api = new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send JSON (Content-Type: application/json)');
    else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) api = new ApiError('BAD_REQUEST', err.message);
    else {
      deps.log.error({ err, method: req.method, path: req.url.split('?')[0] }, 'internal error');
      api = new ApiError('INTERNAL', 'internal error: see the server log');
    }
    void reply
      .code(api.status)
      .headers(api.headers)
      .send({ errors: [{ code: api.code, message: api.message, ...(api.detail !== undefined ? { detail: api.detail } : {}) }] });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ errors: [{ code: 'NOT_FOUND', message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` }] });
  });

  app.addHook('onResponse', async (req, reply) => {
    const entry = { method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, caller: req.principal.kind === 'anonymous' ? 'anonymous' : req.principal.name };
    if (reply.statusCode >= 500) deps.log.error(entry, 'request failed');
    else if (req.method === 'GET' && reply.statusCode < 400) deps.log.debug(entry, 'request');
    else deps.log.info(entry, 'request');
  });

  registerTokenRoutes(app, deps);
  registerSystemRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerProjectRoutes(app, deps);
  registerScanRoutes(app, deps);
  registerVulnDbRoutes(app, deps);
  registerSecurityRoutes(app, deps);
  registerFactRoutes(app, deps);
  registerSigningRoutes(app, deps);
  registerPolicyRoutes(app, deps);
  registerWaiverRoutes(app, deps);
  registerPromotionRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  registerRobotRoutes(app, deps);
}
