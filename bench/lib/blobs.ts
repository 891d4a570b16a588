import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { Agent, request } from 'node:http';

/** A blob the benchmark pushes: deterministic chunks, so its digest is known before it is sent. */
export interface BenchBlob {
  readonly digest: string;
  readonly size: number;
  chunks(): Generator<Buffer>;
}

const CHUNK = 1 << 20;

/** `size` bytes from a shared random base, each 1 MiB chunk stamped with (seed, index) so every blob differs. */
export function makeBlob(base: Buffer, seed: number, size: number): BenchBlob {
  const chunks = function* (): Generator<Buffer> {
    for (let off = 0, i = 0; off < size; off += CHUNK, i++) {
      const n = Math.min(CHUNK, size - off);
      const c = Buffer.from(base.subarray((i * 4096) % (base.length - CHUNK), ((i * 4096) % (base.length - CHUNK)) + n));
      c.writeUInt32LE(seed, 0);
      c.writeUInt32LE(i, 4);
      yield c;
    }
  };
  const h = createHash('sha256');
  for (const c of chunks()) h.update(c);
  return { digest: `sha256:${h.digest('hex')}`, size, chunks };
}

export function randomBase(bytes = 16 * CHUNK): Buffer {
  return randomFillSync(Buffer.alloc(bytes));
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly auth: string | undefined;
}

function call(ep: Endpoint, agent: Agent, method: string, path: string, headers: Record<string, string | number>, body?: Iterable<Buffer>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ep.host, port: ep.port, method, path, agent, headers: { ...headers, ...(ep.auth ? { Authorization: ep.auth } : {}) } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined) {
      req.end();
      return;
    }
    const it = body[Symbol.iterator]();
    const pump = (): void => {
      for (;;) {
        const next = it.next();
        if (next.done) {
          req.end();
          return;
        }
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** POST an upload, then PUT the whole blob with ?digest= (the two-request monolithic push). */
export async function pushBlob(ep: Endpoint, agent: Agent, repo: string, blob: BenchBlob): Promise<void> {
  const start = await call(ep, agent, 'POST', `/v2/${repo}/blobs/uploads/`, { 'Content-Length': 0 });
  const location = start.headers['location'];
  if (start.status !== 202 || typeof location !== 'string') throw new Error(`POST upload: ${start.status}`);
  const url = new URL(location, `http://${ep.host}:${ep.port}`);
  url.searchParams.set('digest', blob.digest);
  const put = await call(ep, agent, 'PUT', `${url.pathname}${url.search}`, { 'Content-Length': blob.size, 'Content-Type': 'application/octet-stream' }, blob.chunks());
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status}`);
}

export async function pullBlob(ep: Endpoint, agent: Agent, repo: string, blob: BenchBlob): Promise<void> {
  const res = await call(ep, agent, 'GET', `/v2/${repo}/blobs/${blob.digest}`, {});
  if (res.status !== 200 || res.bytes !== blob.size) throw new Error(`GET blob: ${res.status}, ${res.bytes} bytes`);
}

export async function putManifest(ep: Endpoint, agent: Agent, repo: string, tag: string, body: Buffer, mediaType: string): Promise<void> {
  const res = await call(ep, agent, 'PUT', `/v2/${repo}/manifests/${tag}`, { 'Content-Type': mediaType, 'Content-Length': body.length }, [body]);
  if (res.status !== 201) throw new Error(`PUT manifest: ${res.status}`);
}

/**
 * Pulls blobs with curl (C, one process, `--parallel` for concurrency): a client light enough
 * that the servers, not the client, set the pace. Resolves to elapsed seconds.
 */
export async function pullWithCurl(curl: string, ep: Endpoint, repo: string, blobs: readonly BenchBlob[], concurrency: number): Promise<number> {
  const args = ['-sS', '--fail', '--parallel', '--parallel-max', String(concurrency), '-w', '%{http_code} %{size_download}\\n'];
  if (ep.auth !== undefined) args.push('-H', `Authorization: ${ep.auth}`);
  for (const b of blobs) args.push('-o', '/dev/null', `http://${ep.host}:${ep.port}/v2/${repo}/blobs/${b.digest}`);
  const started = process.hrtime.bigint();
  const out = await new Promise<string>((resolve, reject) => {
    execFile(curl, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`curl: ${stderr || err.message}`)) : resolve(stdout)));
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const lines = out.trim().split('\n');
  const expected = blobs.reduce((n, b) => n + b.size, 0);
  const got = lines.reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  if (lines.length !== blobs.length || lines.some((l) => !l.startsWith('200 ')) || got !== expected) throw new Error(`curl pulled ${got} of ${expected} bytes: ${out.slice(0, 200)}`);
  return elapsed;
}

/** Runs `fn` over `items` with at most `concurrency` at once; resolves to elapsed seconds. */
export async function timed<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
  return Number(process.hrtime.bigint() - started) / 1e9;
}
