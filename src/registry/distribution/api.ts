import type { IncomingMessage, ServerResponse } from 'node:http';
import { OciError } from '../../oci/index.js';
import { ANONYMOUS } from '../auth/access.js';
import { clientAddress } from '../auth/client-address.js';
import { cancelUpload, deleteBlob, finishUpload, getBlob, patchUpload, startUpload, uploadStatus } from './blobs.js';
import { challenge, type Caller, type DistributionDeps, type RequestContext } from './context.js';
import { DISTRIBUTION_HEADERS, hasUnreadBody, send, toWireError, type Reply } from './http.js';
import { catalog, deleteManifest, getManifest, listTags, putManifest, referrers } from './manifests.js';
import { ROUTE_METHODS, parseRoute, type Route } from './routes.js';

/**
 * The OCI Distribution API as a plain node:http handler. Handlers return a Reply or throw;
 * errors are written here, in the spec's JSON shape, and nowhere else.
 */
export function createDistributionHandler(deps: DistributionDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // handle() answers every failure itself; this catches a fault in that answering, so that one
    // request can never take the process down.
    handle(deps, req, res).catch((err: unknown) => {
      deps.log.error({ err, method: req.method, path: req.url?.split('?')[0] }, 'request handler failed');
      res.destroy();
    });
  };
}

async function handle(deps: DistributionDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const method = req.method ?? 'GET';
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://registry.invalid');
  } catch {
    url = new URL('http://registry.invalid/');
  }
  const route = parseRoute(url.pathname);
  let status = 500;
  let caller: Caller = { kind: 'anonymous' };
  try {
    if (route.kind === 'unknown') throw new OciError('UNSUPPORTED', `no such endpoint: ${method} ${url.pathname.slice(0, 200)}`, { status: 404 });
    const allowed = ROUTE_METHODS[route.kind];
    if (!allowed.includes(method)) throw new OciError('UNSUPPORTED', `${method} is not supported here; use ${allowed.join(', ')}`, { headers: { Allow: allowed.join(', ') } });
    caller = await identify(deps, req);
    const reply = await dispatch({ deps, req, url, caller }, route, method);
    status = reply.status;
    await send(req, res, reply);
  } catch (err) {
    status = writeError(deps, req, res, err, route, caller);
  } finally {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const entry = { method, path: url.pathname, status, ms: Math.round(ms * 10) / 10, caller: callerName(caller) };
    if (status >= 500 && status !== CLIENT_GONE) deps.log.error(entry, 'request failed');
    else if ((method === 'GET' || method === 'HEAD') && status < 400) deps.log.debug(entry, 'request');
    else deps.log.info(entry, 'request');
  }
}

function dispatch(ctx: RequestContext, route: Exclude<Route, { kind: 'unknown' }>, method: string): Promise<Reply> {
  switch (route.kind) {
    case 'base':
      return base(ctx);
    case 'catalog':
      return catalog(ctx);
    case 'manifest':
      if (method === 'PUT') return putManifest(ctx, route.name, route.reference);
      if (method === 'DELETE') return deleteManifest(ctx, route.name, route.reference);
      return getManifest(ctx, route.name, route.reference);
    case 'blob':
      return method === 'DELETE' ? deleteBlob(ctx, route.name, route.digest) : getBlob(ctx, route.name, route.digest);
    case 'upload-start':
      return startUpload(ctx, route.name);
    case 'upload':
      if (method === 'PATCH') return patchUpload(ctx, route.name, route.id);
      if (method === 'PUT') return finishUpload(ctx, route.name, route.id);
      if (method === 'DELETE') return cancelUpload(ctx, route.name, route.id);
      return uploadStatus(ctx, route.name, route.id);
    case 'tags':
      return listTags(ctx, route.name);
    case 'referrers':
      return referrers(ctx, route.name, route.digest);
  }
}

/** GET /v2/: 200 for any valid credentials, else the challenge that tells clients where to log in. */
async function base(ctx: RequestContext): Promise<Reply> {
  if (ctx.caller.kind === 'anonymous') {
    throw new OciError('UNAUTHORIZED', 'authentication required', { headers: { 'WWW-Authenticate': challenge(ctx) } });
  }
  return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' };
}

async function identify(deps: DistributionDeps, req: IncomingMessage): Promise<Caller> {
  const header = req.headers.authorization;
  if (header === undefined) return { kind: 'anonymous' };
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer') {
    const claims = await deps.auth.bearer(value);
    if (claims === undefined) {
      throw new OciError('UNAUTHORIZED', 'invalid or expired token: log in again', { headers: { 'WWW-Authenticate': challenge({ deps, req }, undefined, 'invalid_token') } });
    }
    return { kind: 'token', claims };
  }
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      const result = await deps.auth.login(decoded.slice(0, colon), decoded.slice(colon + 1), clientAddress(req, deps.options.trustProxy));
      if (result.kind === 'ok') return { kind: 'basic', principal: result.principal };
      if (result.kind === 'locked') {
        const seconds = Math.ceil(result.retryAfterMs / 1000);
        throw new OciError('TOOMANYREQUESTS', `too many failed logins: try again in ${seconds} s`, { headers: { 'Retry-After': String(seconds) } });
      }
    }
    throw new OciError('UNAUTHORIZED', 'invalid username or password', { headers: { 'WWW-Authenticate': challenge({ deps, req }) } });
  }
  return { kind: 'anonymous' };
}


/** nginx's "client closed request": the client went away before we answered. */
const CLIENT_GONE = 499;

// A fully read request is `destroyed` too (autoDestroy): only the socket tells a client that left.
// Node detaches the socket (null) once the connection is over.
function clientGone(req: IncomingMessage): boolean {
  const socket = req.socket as IncomingMessage['socket'] | null;
  return socket === null || socket.destroyed;
}

function isClientAbort(err: unknown, req: IncomingMessage): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return clientGone(req) || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR';
}

function writeError(deps: DistributionDeps, req: IncomingMessage, res: ServerResponse, err: unknown, route: Route, caller: Caller): number {
  if (!(err instanceof OciError) && isClientAbort(err, req)) {
    res.destroy();
    return CLIENT_GONE;
  }
  const wire = toWireError(err);
  if (wire.internal) deps.log.error({ err, method: req.method, path: req.url?.split('?')[0], route: route.kind, caller: callerName(caller) }, 'internal error');
  if (res.headersSent) {
    // Mid-stream failure: the status is gone; cut the connection so the client sees a short body.
    res.destroy();
    return wire.status;
  }
  const body = Buffer.from(JSON.stringify({ errors: wire.errors }));
  const headers: Record<string, string | number> = { ...DISTRIBUTION_HEADERS, ...wire.headers, 'Content-Type': 'application/json', 'Content-Length': body.byteLength };
  // Do not read (or make the client send) a body we have refused.
  if (hasUnreadBody(req)) headers['Connection'] = 'close';
  if (clientGone(req)) return wire.status;
  res.writeHead(wire.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
  return wire.status;
}

function callerName(caller: Caller): string {
  switch (caller.kind) {
    case 'anonymous':
      return ANONYMOUS.kind;
    case 'token':
      return caller.claims.subject;
    case 'basic':
      return caller.principal.kind === 'anonymous' ? 'anonymous' : caller.principal.name;
  }
}
