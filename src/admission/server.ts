/**
 * `portcullis admission serve`: HTTPS only. POST /validate and /mutate take an AdmissionReview
 * (admission.k8s.io/v1) and answer one; GET /healthz (the process answers), /readyz (a policy is
 * in force) and /metrics (Prometheus). Bodies are bounded, every decision is logged, and the
 * serving certificate is read again when its files change (cert-manager rotates them).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../shared/index.js';
import type { AdmissionController } from './controller.js';
import { AdmissionError } from './errors.js';
import type { AdmissionMetrics } from './metrics.js';
import { parseReview, reviewResponse } from './review.js';

/** An AdmissionReview holds the object and the old one: Kubernetes objects are at most ~1.5 MiB each. */
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

export interface AdmissionServerOptions {
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly controller: AdmissionController;
  readonly metrics: AdmissionMetrics;
  readonly log: Logger;
  readonly now: () => number;
}

export interface RunningAdmissionServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer; version: string } {
  try {
    const cert = readFileSync(certFile);
    const key = readFileSync(keyFile);
    return { cert, key, version: createHash('sha256').update(cert).update(key).digest('hex') };
  } catch (err) {
    throw new AdmissionError('TLS_INVALID', `the serving certificate cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (--tls-cert ${certFile}, --tls-key ${keyFile})`, { cause: err });
  }
}

export async function startAdmissionServer(o: AdmissionServerOptions): Promise<RunningAdmissionServer> {
  let tls = readTls(o.certFile, o.keyFile);
  let server: Server;
  try {
    server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (req, res) => void handle(o, req, res));
  } catch (err) {
    throw new AdmissionError('TLS_INVALID', `the serving certificate and key do not make a TLS server: ${(err as Error).message}`, { cause: err });
  }
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const reload = setInterval(() => {
    try {
      const next = readTls(o.certFile, o.keyFile);
      if (next.version === tls.version) return;
      server.setSecureContext({ cert: next.cert, key: next.key });
      tls = next;
      o.log.info({ cert: o.certFile }, 'serving certificate reloaded');
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'the serving certificate was not reloaded: the one in use stays');
    }
  }, 10_000);
  reload.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `https://${shown}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(reload);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(o: AdmissionServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  try {
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (req.method === 'GET' && path === '/metrics') return send(res, 200, o.metrics.contentType, await o.metrics.text());
    if (path !== '/validate' && path !== '/mutate') return send(res, 404, 'text/plain; charset=utf-8', 'not found: POST /validate or /mutate\n');
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return send(res, 405, 'text/plain; charset=utf-8', `${path} takes POST\n`);
    }
    await review(o, path === '/mutate' ? 'mutate' : 'validate', req, res);
  } catch (err) {
    o.log.error({ err, path }, 'admission request failed');
    if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'the webhook failed; see its log\n');
    else res.destroy();
  }
}

async function review(o: AdmissionServerOptions, endpoint: 'validate' | 'mutate', req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    o.metrics.review(endpoint, 'error', 0);
    return send(res, 415, 'text/plain; charset=utf-8', 'an AdmissionReview is sent as application/json\n');
  }
  const body = await readBody(req);
  if (body === 'too-large') {
    o.metrics.review(endpoint, 'error', 0);
    return send(res, 413, 'text/plain; charset=utf-8', `an AdmissionReview of more than ${MAX_REVIEW_BYTES} bytes is refused\n`);
  }
  let request;
  try {
    request = parseReview(JSON.parse(body.toString('utf8')) as unknown);
  } catch (err) {
    o.metrics.review(endpoint, 'error', 0);
    const message = err instanceof AdmissionError ? err.message : 'the body is not JSON';
    return send(res, 400, 'text/plain; charset=utf-8', `${message}\n`);
  }
  let answer;
  let verdicts: Awaited<ReturnType<AdmissionController['decide']>>['verdicts'] = [];
  try {
    const decision = await o.controller.decide(request, endpoint === 'mutate');
    answer = decision.answer;
    verdicts = decision.verdicts;
  } catch (err) {
    // Whatever failed, the object is not admitted.
    if (!(err instanceof AdmissionError)) o.log.error({ err, uid: request.uid }, 'the admission decision failed: denied');
    answer = { allowed: false, code: err instanceof AdmissionError ? 400 : 500, message: err instanceof AdmissionError ? err.message : 'the admission webhook failed while judging this object; it is denied (see the webhook log)' };
  }
  const seconds = (performance.now() - started) / 1000;
  const result = !answer.allowed ? 'denied' : (answer.warnings?.length ?? 0) > 0 ? 'warned' : 'allowed';
  o.metrics.review(endpoint, result, seconds);
  for (const v of verdicts) {
    o.metrics.image(v.mode, !v.allowed ? 'denied' : v.reasons.length > 0 ? 'warned' : 'allowed');
    o.log.info(
      {
        endpoint,
        uid: request.uid,
        kind: request.kind.kind,
        namespace: request.namespace,
        name: request.name,
        operation: request.operation,
        dryRun: request.dryRun,
        user: request.user,
        image: v.image,
        digest: v.digest,
        rule: v.rule,
        mode: v.mode,
        allowed: v.allowed,
        reasons: v.reasons.map((r) => r.code),
        ms: Math.round(seconds * 1000),
      },
      v.allowed ? (v.reasons.length > 0 ? `admission: ${v.mode === 'audit' ? 'audited' : 'warned'}` : 'admission: allowed') : 'admission: denied',
    );
  }
  send(res, 200, 'application/json', JSON.stringify(reviewResponse(request.uid, answer)));
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > MAX_REVIEW_BYTES) {
      req.resume();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > MAX_REVIEW_BYTES) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}
