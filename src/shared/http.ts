/**
 * The one HTTP client of the code base: undici's `request` over one connection pool per process,
 * at most MAX_CONNECTIONS_PER_ORIGIN sockets to a server, kept alive. It costs a third of the CPU
 * of `fetch` per request, and a burst of work queues on the pool instead of opening (and then
 * closing) a socket per request in flight: an admission webhook asks a registry several small
 * questions per review, hundreds of times a second. No redirect is followed here; callers decide.
 */
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { Agent, Dispatcher } from 'undici';

/** Sockets to one origin; requests beyond them wait for one. */
const MAX_CONNECTIONS_PER_ORIGIN = 32;

/** undici and the pool, loaded at the first request (undici takes ~100 ms and ~20 MB to load: a CLI command that asks nothing should not pay). */
let client: Promise<{ pool: Agent; request: typeof import('undici').request }> | undefined;

export type HttpReply = Dispatcher.ResponseData;

export interface HttpExchange {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Sent with its Content-Length; a Blob can be sent again (after an authentication round trip). */
  readonly body?: Blob | string;
  readonly signal?: AbortSignal;
}

/** One request and its answer (status, headers, a body the caller must read or dump). */
export async function httpExchange(url: string | URL, o: HttpExchange = {}): Promise<HttpReply> {
  client ??= import('undici').then(({ Agent, request }) => ({ pool: new Agent({ connections: MAX_CONNECTIONS_PER_ORIGIN, keepAliveTimeout: 4_000 }), request }));
  const { pool, request } = await client;
  const headers = { ...o.headers };
  let body: Readable | string | undefined;
  if (typeof o.body === 'string') body = o.body;
  else if (o.body !== undefined) {
    headers['Content-Length'] = String(o.body.size);
    body = Readable.fromWeb(o.body.stream() as ReadableStream<Uint8Array>);
  }
  return request(url, {
    method: (o.method ?? 'GET') as Dispatcher.HttpMethod,
    headers,
    dispatcher: pool,
    ...(body !== undefined ? { body } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  });
}

/** One response header's value (the first, when a server repeats it). */
export function replyHeader(res: HttpReply, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** True for a 2xx answer. */
export function replyOk(res: HttpReply): boolean {
  return res.statusCode >= 200 && res.statusCode < 300;
}

/**
 * The whole body, at most `limit` bytes: past it (declared or sent) the connection is dropped and
 * `tooLarge` thrown, so a hostile server cannot fill this process's memory.
 */
export async function readReply(res: HttpReply, limit: number, tooLarge: (declared?: number) => Error): Promise<Buffer> {
  const declared = Number(replyHeader(res, 'content-length') ?? '0');
  if (declared > limit) {
    res.body.destroy();
    throw tooLarge(declared);
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      res.body.destroy();
      throw tooLarge();
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, n);
}

/** Why a request did not reach its server, in a word or two (ECONNREFUSED, ENOTFOUND, a timeout). */
export function networkReason(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  return e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

const TLS_UNTRUSTED = /^(?:CERT_|UNABLE_TO_(?:GET|VERIFY)|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID)/;
const TLS_OTHER = /^(?:ERR_TLS_|ERR_SSL_|EPROTO$)/;

/**
 * Why a download failed, in words a person can act on, with the code: DNS (the name does not
 * resolve), TLS (the certificate is not trusted, or not for this host), a refused or cut
 * connection, a timeout, an unreachable network. Anything else: networkReason's code or message.
 */
export function describeNetworkFailure(err: unknown): string {
  const code = networkReason(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') return `DNS: the host name does not resolve (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS: the server's certificate is not for this host name (${code})`;
  if (TLS_UNTRUSTED.test(code)) return `TLS: the server's certificate is not trusted (${code}; a mirror with a private CA needs NODE_EXTRA_CA_CERTS)`;
  if (TLS_OTHER.test(code)) return `TLS: the handshake failed (${code})`;
  if (code === 'ECONNREFUSED') return `the connection was refused (${code})`;
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return `the connection was cut (${code})`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `timeout: no connection could be made (${code})`;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return `timeout: the server stopped answering (${code})`;
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return `the network or host is unreachable (${code})`;
  return code;
}
