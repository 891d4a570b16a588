/**
 * npm run bench:registry — Portcullis and Debian's docker-registry (distribution 2.8) side by side
 * on loopback, the same client and the same data against each:
 *   blob push and pull MB/s: 100 × 1 MiB and 2 × 256 MiB, concurrency 1 and 8 (pushes from a
 *   Node client, pulls with curl --parallel: a C client that does not become the bottleneck;
 *   pulls after one untimed warm-up round, median of three);
 *   manifest GET requests/s and p99 at 32 connections (wrk); Portcullis again with a pull-gate policy
 *   (preventVulnerable + requireSignature, the signature verified) against the registry's plain GET;
 *   peak RSS of the server while a 1 GiB blob is pushed.
 * Prints a table with the ratio Portcullis / docker-registry. Not a test: nothing here asserts.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { makeBlob, pullBlob, pullWithCurl, pushBlob, putManifest, randomBase, timed, type BenchBlob, type Endpoint } from './lib/blobs.js';
import { freePort, peakRss, startProcess, which, type Started } from './lib/proc.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const ADMIN_PASSWORD = 'bench-admin-password';
const REPO = 'bench/blobs';

interface Target {
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly proc: Started;
  readonly cleanup: () => void;
  /** Portcullis: turns the pull gates on for the benchmark's repository (the image signed, a policy set). */
  readonly gate?: () => Promise<void>;
}

async function startPortcullis(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-portcullis-'));
  const port = await freePort();
  const main = resolve(new URL('.', import.meta.url).pathname, '../src/cli/main.js');
  const proc = await startProcess(
    process.execPath,
    [main, 'serve', '--addr', `127.0.0.1:${port}`, '--data', dir],
    { ...process.env, PORTCULLIS_ADMIN_PASSWORD: ADMIN_PASSWORD, PORTCULLIS_TOKEN_TTL: '2h', PORTCULLIS_SCAN_UPDATE_INTERVAL: '0' },
    `http://127.0.0.1:${port}/healthz`,
  );
  const base = `http://127.0.0.1:${port}`;
  const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
  const created = await fetch(`${base}/api/v1/projects`, { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
  if (created.status !== 201) throw new Error(`creating project: ${created.status}`);
  // A client holds a bearer token, as docker, podman and skopeo do after the first challenge.
  const tokenRes = await fetch(`${base}/service/token?service=portcullis&scope=repository:${REPO}:pull,push`, { headers: { Authorization: basic } });
  const { token } = (await tokenRes.json()) as { token: string };
  const gate = async (): Promise<void> => {
    const call = async (method: string, path: string, body: unknown, status: number): Promise<void> => {
      const res = await fetch(`${base}${path}`, { method, headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    };
    await call('POST', '/api/v1/projects/bench/signing-key', {}, 201);
    await call('POST', '/api/v1/projects/bench/repositories/blobs/artifacts/latest/sign', {}, 201);
    // The image's layer is random bytes, which no scanner reads: it has no findings, and unscanned images pass.
    await call('PUT', '/api/v1/projects/bench/policy', { preventVulnerable: { severity: 'high' }, requireSignature: { keys: ['project'] } }, 200);
  };
  return { name: 'portcullis', endpoint: { host: '127.0.0.1', port, auth: `Bearer ${token}` }, proc, gate, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function startDockerRegistry(bin: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-distribution-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  // distribution's example configuration with the in-memory descriptor cache, and its request
  // logging off: the peer runs as fast as it can.
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  cache:',
      '    blobdescriptor: inmemory',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
    ].join('\n'),
  );
  const proc = await startProcess(bin, ['serve', config], process.env, `http://127.0.0.1:${port}/v2/`);
  return { name: 'docker-registry', endpoint: { host: '127.0.0.1', port, auth: undefined }, proc, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Results {
  [measure: string]: number;
}

async function measure(target: Target, sets: BlobSets, wrk: string | undefined, curl: string | undefined): Promise<Results> {
  const ep = target.endpoint;
  const out: Results = {};
  const phases: [string, readonly BenchBlob[], number][] = [
    ['1 MiB c1', sets.small1, 1],
    ['1 MiB c8', sets.small8, 8],
    ['256 MiB c1', sets.large1, 1],
    ['256 MiB c8', sets.large8, 8],
  ];
  for (const [label, blobs, concurrency] of phases) {
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const bytes = blobs.reduce((n, b) => n + b.size, 0) / MiB;
    const push = await timed(blobs, concurrency, (b) => pushBlob(ep, agent, REPO, b));
    out[`push ${label} MB/s`] = bytes / push;
    const pullOnce = (): Promise<number> => (curl !== undefined ? pullWithCurl(curl, ep, REPO, blobs, concurrency) : timed(blobs, concurrency, (b) => pullBlob(ep, agent, REPO, b)));
    // Pulls are short and this machine is shared: one untimed round warms both servers the same
    // way, then the median of three timed rounds is kept.
    await pullOnce();
    const rounds = [await pullOnce(), await pullOnce(), await pullOnce()].sort((a, b) => a - b);
    const pull = rounds[1]!;
    out[`pull ${label} MB/s`] = bytes / pull;
    agent.destroy();
    process.stderr.write(`  ${target.name}: ${label} push ${(bytes / push).toFixed(0)} MB/s, pull ${(bytes / pull).toFixed(0)} MB/s\n`);
  }

  // A small image to GET the manifest of.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await pushBlob(ep, agent, REPO, { digest: configDigest, size: config.length, chunks: function* () { yield config; } });
  const layer = sets.small1[0]!;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
    }),
  );
  await putManifest(ep, agent, REPO, 'latest', manifest, 'application/vnd.oci.image.manifest.v1+json');
  agent.destroy();
  if (wrk !== undefined) {
    const script = join(tmpdir(), `bench-wrk-${process.pid}.lua`);
    const headers = [`wrk.headers["Accept"] = "application/vnd.oci.image.manifest.v1+json"`];
    if (ep.auth !== undefined) headers.push(`wrk.headers["Authorization"] = "${ep.auth}"`);
    writeFileSync(script, `${headers.join('\n')}\n`);
    const { stdout } = await run(wrk, ['-t1', '-c32', '-d10s', '--latency', '-s', script, `http://${ep.host}:${ep.port}/v2/${REPO}/manifests/latest`]);
    if (/Non-2xx or 3xx responses: (\d+)/.test(stdout)) throw new Error(`wrk saw errors against ${target.name}:\n${stdout}`);
    out['manifest GET req/s'] = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
    out['manifest GET p99 ms'] = toMs(/\s99%\s+([\d.]+\w+)/.exec(stdout)?.[1]);
    process.stderr.write(`  ${target.name}: manifest GET ${out['manifest GET req/s']!.toFixed(0)} req/s, p99 ${out['manifest GET p99 ms']!.toFixed(2)} ms\n`);
    // Portcullis again with the pull gates on (preventVulnerable + requireSignature, the signature
    // verified), against the registry's plain GET: the gates are Portcullis's own cost.
    if (target.gate !== undefined) {
      await target.gate();
      const gated = await run(wrk, ['-t1', '-c32', '-d10s', '--latency', '-s', script, `http://${ep.host}:${ep.port}/v2/${REPO}/manifests/latest`]);
      if (/Non-2xx or 3xx responses: (\d+)/.test(gated.stdout)) throw new Error(`wrk saw errors against ${target.name} with pull gates:\n${gated.stdout}`);
      out['manifest GET req/s, pull gates'] = Number(/Requests\/sec:\s+([\d.]+)/.exec(gated.stdout)?.[1] ?? NaN);
      out['manifest GET p99 ms, pull gates'] = toMs(/\s99%\s+([\d.]+\w+)/.exec(gated.stdout)?.[1]);
      process.stderr.write(`  ${target.name}: manifest GET with pull gates ${out['manifest GET req/s, pull gates']!.toFixed(0)} req/s, p99 ${out['manifest GET p99 ms, pull gates']!.toFixed(2)} ms\n`);
    } else {
      out['manifest GET req/s, pull gates'] = out['manifest GET req/s'];
      out['manifest GET p99 ms, pull gates'] = out['manifest GET p99 ms'];
    }
    rmSync(script, { force: true });
  }

  const big = sets.huge;
  const bigAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { peak } = await peakRss(target.proc.child.pid!, () => pushBlob(ep, bigAgent, REPO, big));
  bigAgent.destroy();
  out['peak RSS pushing 1 GiB MB'] = peak / MiB;
  process.stderr.write(`  ${target.name}: peak RSS while pushing 1 GiB: ${(peak / MiB).toFixed(0)} MB\n`);
  return out;
}

function toMs(v: string | undefined): number {
  if (v === undefined) return NaN;
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (m === null) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

interface BlobSets {
  small1: BenchBlob[];
  small8: BenchBlob[];
  large1: BenchBlob[];
  large8: BenchBlob[];
  huge: BenchBlob;
}

function makeSets(seedBase: number): BlobSets {
  const base = randomBase();
  let seed = seedBase;
  const many = (n: number, size: number) => Array.from({ length: n }, () => makeBlob(base, seed++, size));
  return { small1: many(100, MiB), small8: many(100, MiB), large1: many(2, 256 * MiB), large8: many(2, 256 * MiB), huge: makeBlob(base, seed++, 1024 * MiB) };
}

async function main(): Promise<void> {
  const registryBin = which('docker-registry') ?? (which('registry') !== undefined ? which('registry') : undefined);
  if (registryBin === undefined) throw new Error("Debian's docker-registry is not installed: apt-get install -y docker-registry");
  const wrk = which('wrk');
  const curl = which('curl');
  if (curl === undefined) process.stderr.write('curl is not installed: pulling with the Node client, which saturates before fast servers do\n');
  if (wrk === undefined) process.stderr.write('wrk is not installed (apt-get install -y wrk): skipping the manifest GET measures\n');

  process.stderr.write('generating blobs (deterministic, digests computed up front)...\n');
  const sets = makeSets(1);
  const results: Record<string, Results> = {};
  for (const start of [() => startDockerRegistry(registryBin), startPortcullis]) {
    const target = await start();
    process.stderr.write(`measuring ${target.name}...\n`);
    try {
      results[target.name] = await measure(target, sets, wrk, curl);
    } finally {
      await target.proc.stop();
      target.cleanup();
    }
  }

  const p = results['portcullis']!;
  const d = results['docker-registry']!;
  const rows = Object.keys(p).map((k) => {
    const ratio = p[k]! / d[k]!;
    // RSS is judged against the target (300 MB), not against a Go binary's footprint.
    const better = k.includes('RSS') ? p[k]! < 300 : k.includes('p99') ? ratio <= 1 : ratio >= 1;
    return [k, d[k]!.toFixed(k.includes('p99') ? 2 : 0), p[k]!.toFixed(k.includes('p99') ? 2 : 0), `${ratio.toFixed(2)}×`, better ? 'ok' : 'BEHIND'];
  });
  const header = ['measure', 'docker-registry', 'portcullis', 'portcullis/registry', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nregistry benchmark on loopback (${new Date().toISOString()}, node ${process.version})`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`\nportcullis peak RSS pushing 1 GiB: ${p['peak RSS pushing 1 GiB MB']!.toFixed(0)} MB (target < 300 MB)`);
}

main().catch((err: unknown) => {
  console.error(`bench:registry failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
