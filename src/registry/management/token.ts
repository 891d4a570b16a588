import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/access.js';
import { normaliseActions, parseScopes, type AccessEntry } from '../auth/scope.js';
import { ApiError } from './errors.js';
import { BASIC_CHALLENGE, basicCredentials, clientOf, type ManagementDeps } from './context.js';

/**
 * The Docker token endpoint (distribution's "token authentication specification"): GET with
 * optional Basic credentials, as docker, podman and skopeo do, and the OAuth2 password grant by
 * POST, which containerd tries first. Grants are the intersection of the requested scopes and
 * what the account may do; refused actions are recorded in the token so the registry can answer
 * them with 403 rather than another challenge.
 */
export function registerTokenRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  app.get('/service/token', async (req, reply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    checkService(deps, first(q['service']));
    const principal = await login(deps, req, basicCredentials(req.headers.authorization));
    const body = await issue(deps, principal, all(q['scope']));
    return send(reply, { token: body.token, access_token: body.token, expires_in: body.expiresIn, issued_at: body.issuedAt });
  });

  app.post('/service/token', async (req, reply) => {
    const form = req.body instanceof URLSearchParams ? req.body : undefined;
    if (form === undefined) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the token request as application/x-www-form-urlencoded');
    checkService(deps, form.get('service') ?? undefined);
    const grant = form.get('grant_type');
    if (grant !== 'password') throw new ApiError('BAD_REQUEST', `unsupported grant_type "${grant ?? ''}": use password, or GET with Basic credentials`);
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const principal = await login(deps, req, { username, password });
    const body = await issue(deps, principal, form.getAll('scope'));
    return send(reply, { access_token: body.token, token_type: 'Bearer', expires_in: body.expiresIn, issued_at: body.issuedAt, scope: form.getAll('scope').join(' ') });
  });
}

function send(reply: FastifyReply, body: Record<string, unknown>): FastifyReply {
  return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(body);
}

function checkService(deps: ManagementDeps, service: string | undefined): void {
  if (service !== undefined && service !== deps.options.service) throw new ApiError('BAD_REQUEST', `unknown service "${service.slice(0, 100)}": this registry's token service is "${deps.options.service}"`);
}

async function login(deps: ManagementDeps, req: FastifyRequest, creds: { username: string; password: string } | undefined): Promise<Principal> {
  if (creds === undefined) return { kind: 'anonymous' };
  const result = await deps.auth.login(creds.username, creds.password, clientOf(req, deps.options.trustProxy));
  if (result.kind === 'ok') return result.principal;
  if (result.kind === 'locked') {
    const s = Math.ceil(result.retryAfterMs / 1000);
    throw new ApiError('TOO_MANY_REQUESTS', `too many failed logins: try again in ${s} s`, { headers: { 'Retry-After': String(s) } });
  }
  throw new ApiError('UNAUTHORIZED', 'invalid username or password', { headers: BASIC_CHALLENGE });
}

async function issue(deps: ManagementDeps, principal: Principal, scopes: readonly string[]): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
  const access: AccessEntry[] = [];
  const refused: AccessEntry[] = [];
  for (const scope of parseScopes(scopes)) {
    if (scope.type === 'registry') {
      if (principal.kind !== 'anonymous') access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    const requested = normaliseActions(scope.actions);
    const allowed = await deps.auth.actionsOn(principal, scope.name);
    const granted = requested.filter((a) => allowed.has(a));
    const denied = requested.filter((a) => !allowed.has(a));
    access.push({ type: 'repository', name: scope.name, actions: granted });
    // Refusals are recorded only for accounts: an anonymous caller must be challenged to log in.
    if (denied.length > 0 && principal.kind !== 'anonymous') refused.push({ type: 'repository', name: scope.name, actions: denied });
  }
  const subject = principal.kind === 'anonymous' ? '' : principal.name;
  const t = await deps.tokens.issue(subject, access, refused);
  return { token: t.token, expiresIn: t.expiresIn, issuedAt: t.issuedAt.toISOString() };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function all(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
