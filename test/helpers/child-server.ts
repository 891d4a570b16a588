/**
 * The real server as a child process (the CLI's `portcullis serve`), for tests that kill it,
 * restart it on the same data directory, or run it in a sandbox (a small file system); and a
 * raw HTTP client whose bodies stream with backpressure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './docker-registry.js';
import { ADMIN_PASSWORD, basicAuth } from './server.js';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const AUTH = basicAuth('admin', ADMIN_PASSWORD);

export interface Child {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  output(): string;
  kill(): Promise<void>;
}

function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PORTCULLIS_')) env[k] = v;
  env['PORTCULLIS_ADMIN_PASSWORD'] = ADMIN_PASSWORD;
  // No network in tests: no advisory DB updates from the official feeds unless a test sets them.
  env['PORTCULLIS_SCAN_UPDATE_INTERVAL'] = '0';
  return { ...env, ...extra };
}

export interface ChildOptions {
  /** Rewrites the command line, e.g. to run the server inside `unshare`. */
  readonly wrap?: (argv: readonly string[]) => string[];
}

/** `portcullis serve` on `port` (a fresh one if that is taken), waiting until /healthz answers. */
export async function startServerProcess(t: TestContext, dataDir: string, port?: number, env: Record<string, string> = {}, options: ChildOptions = {}): Promise<Child> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const p = attempt === 0 && port !== undefined ? port : await freePort();
    const argv = [process.execPath, MAIN, 'serve', '--addr', `127.0.0.1:${p}`, '--data', dataDir];
    const [command, ...args] = options.wrap?.(argv) ?? argv;
    const child = spawn(command!, args, { cwd: dataDir, env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (c: Buffer) => {
      out += c.toString('utf8');
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let killing: Promise<void> | undefined;
    const kill = () =>
      (killing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      })());
    t.after(kill);
    const url = `http://127.0.0.1:${p}`;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`${url}/healthz`);
        await res.arrayBuffer();
        if (res.status === 200) return { url, port: p, process: child, output: () => out, kill };
      } catch {
        await sleep(50);
      }
    }
    await kill();
    if (!/EADDRINUSE/.test(out)) throw new Error(`portcullis serve did not become healthy on ${url}:\n${out}`);
  }
  throw new Error('portcullis serve found no free port');
}

// ------------------------------------------------------------------ HTTP

export interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface SendOptions {
  readonly method: string;
  /** The Authorization header; the admin's Basic credentials by default. */
  readonly auth?: string;
  readonly headers?: Record<string, string | number>;
  readonly body?: Iterable<Buffer>;
  /** Called after each piece is handed to the socket (with backpressure), with the bytes sent so far. */
  readonly onSent?: (sent: number) => Promise<void> | void;
}

/** Resolves when `req` can take more data, or is closed. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/** One request with a streamed body; rejects when the connection breaks. */
export function send(base: string, path: string, options: SendOptions): Promise<Response> {
  const url = new URL(path, base);
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, { method: options.method, headers: { Authorization: options.auth ?? AUTH, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    void (async () => {
      try {
        let sent = 0;
        for (const piece of options.body ?? []) {
          if (req.destroyed) return;
          const flushed = req.write(piece);
          sent += piece.byteLength;
          if (!flushed) await drained(req);
          await options.onSent?.(sent);
        }
        req.end();
      } catch (err) {
        req.destroy(err as Error);
      }
    })();
  });
}

