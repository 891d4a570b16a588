import { STATUS_CODES } from 'node:http';
import { httpExchange, networkReason, readReply, replyOk, type HttpReply } from '../shared/index.js';
import { lookupCredentials, type Credentials } from './docker-config.js';
import { CliError } from './errors.js';

/** `host:port` or a URL → a base URL. Without a scheme, localhost and loopback speak HTTP (as docker assumes), others HTTPS. */
export function serverUrl(server: string, insecure = false): string {
  if (/^https?:\/\//.test(server)) return server.replace(/\/+$/, '');
  const host = server.replace(/\/+$/, '');
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
  return `${insecure || loopback ? 'http' : 'https'}://${host}`;
}

export interface ClientSettings {
  readonly server?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly insecure?: boolean | undefined;
}

/** The largest management API answer read (the API pages its lists: a page is far smaller). */
const API_ANSWER_LIMIT = 64 * 1024 * 1024;

/** A client of the management API, signed in with Basic credentials. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly credentials: Credentials | undefined,
  ) {}

  /** Server from --server or $PORTCULLIS_SERVER; credentials from flags, $PORTCULLIS_USERNAME/PASSWORD, or the Docker config. */
  static async create(settings: ClientSettings, env: NodeJS.ProcessEnv): Promise<ApiClient> {
    const server = settings.server ?? env['PORTCULLIS_SERVER'];
    if (server === undefined || server === '') throw new CliError('USAGE', 'no server: pass --server URL or set PORTCULLIS_SERVER (e.g. http://127.0.0.1:5000)');
    const base = serverUrl(server, settings.insecure);
    const username = settings.username ?? env['PORTCULLIS_USERNAME'];
    const password = settings.password ?? env['PORTCULLIS_PASSWORD'];
    let creds: Credentials | undefined;
    if (username !== undefined && password !== undefined) creds = { username, password };
    else if (username !== undefined) throw new CliError('USAGE', 'a username needs a password: set PORTCULLIS_PASSWORD or use --password-stdin');
    else creds = await lookupCredentials(base);
    return new ApiClient(base, creds);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.credentials !== undefined) headers['Authorization'] = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: HttpReply;
    let text: string;
    try {
      res = await httpExchange(`${this.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      text = (await readReply(res, API_ANSWER_LIMIT, () => new Error(`an answer larger than ${API_ANSWER_LIMIT} bytes`))).toString('utf8');
    } catch (err) {
      throw new CliError('FAILED', `cannot reach ${this.baseUrl}: ${networkReason(err)}`);
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!replyOk(res)) {
      const first = (json as { errors?: { message?: string; detail?: Record<string, unknown> }[] } | undefined)?.errors?.[0];
      const message = first?.message ?? `${res.statusCode} ${STATUS_CODES[res.statusCode] ?? ''}`.trimEnd();
      const hint = res.statusCode === 401 && this.credentials === undefined ? ' (no credentials: run portcullis login first)' : '';
      throw new CliError('FAILED', `${message}${hint}`, first?.detail !== undefined ? { detail: first.detail } : {});
    }
    return json as T;
  }
}
