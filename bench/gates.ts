/**
 * npm run bench:gates — what the gates cost, on one Portcullis (SQLite, scanning and SBOMs on,
 * against a small advisory DB built here):
 *   manifest GET   req/s and p99 at 32 connections (wrk, 10 s a round) of one small signed, scanned
 *                  image, from a project without a policy and from one with `preventVulnerable` +
 *                  `requireSignature` (the project's key, verified), rounds alternating, median of
 *                  three each (target: ≥ 0.9× the throughput, p99 ≤ 1.2×);
 *   promote        `POST /api/v1/promotions` of the ~900 MB fixture image (bench/lib/image-fixture.ts)
 *                  into a project with every promotion gate (a fresh scan, severity, the entrypoint
 *                  check, CI's signature, an SBOM), each time into a new repository so every
 *                  promotion links, copies and signs for real; median of five (target ≤ 200 ms:
 *                  only metadata and one signature move);
 *   audit          `npm run bench:audit` (append cost per request; `verify` over 1,000,000 entries,
 *                  target ≤ 10 s), its table relayed; AUDIT_BENCH_ENTRIES sets the count.
 * GATES_BENCH=get|promote|audit (comma-separated) runs only those parts. Results on stdout,
 * progress on stderr. Not a test: nothing here asserts.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { RegistrySource } from '../src/image/index.js';
import { digestOf, type Descriptor, type Digest } from '../src/oci/index.js';
import { generateKeyPair, publicKeyPem, signImage } from '../src/sign/index.js';
import { buildAdvisoryDb, type FeedRecords } from '../src/vuln/index.js';
import { ensureImageFixture } from './lib/image-fixture.js';
import { median } from './lib/measure.js';
import { freePort, startProcess, which } from './lib/proc.js';

const run = promisify(execFile);
const ADMIN_PASSWORD = 'bench-admin-password';
const PROMOTE_TARGET_MS = 200;
const PROMOTIONS = 5;
const ROUNDS = 3;
const log = (m: string): void => void process.stderr.write(`${m}\n`);
const PARTS = new Set((process.env['GATES_BENCH'] ?? 'get,promote,audit').split(',').map((x) => x.trim()));
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Api {
  (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

function apiOf(base: string, basic: string): Api {
  return async (method, path, body) => {
    const res = await fetch(`${base}${path}`, { method, headers: { Authorization: basic, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  };
}

async function expect(answer: Promise<{ status: number; body: any }>, status: number, what: string): Promise<any> {
  const a = await answer;
  if (a.status !== status) throw new Error(`${what}: ${a.status} ${JSON.stringify(a.body).slice(0, 400)}`);
  return a.body;
}

/** GETs `path` until it answers anything but 202 (a scan or an SBOM being made). */
async function settled(api: Api, path: string, what: string): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const a = await api('GET', path);
    if (a.status === 200) return;
    if (a.status !== 202 || Date.now() > deadline) throw new Error(`${what}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function wrkRound(wrk: string, url: string, auth: string): Promise<{ rps: number; p99: number }> {
  const script = join(tmpdir(), `bench-gates-wrk-${process.pid}.lua`);
  writeFileSync(script, `wrk.headers["Accept"] = "${OCI_MANIFEST}"\nwrk.headers["Authorization"] = "${auth}"\n`);
  const { stdout } = await run(wrk, ['-t1', '-c32', '-d10s', '--latency', '-s', script, url]);
  rmSync(script, { force: true });
  if (/Non-2xx or 3xx responses: (\d+)/.test(stdout)) throw new Error(`wrk saw errors for ${url}:\n${stdout}`);
  const m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  const p99 = m === null ? NaN : Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN), p99 };
}

/** An uncompressed tar of these files. */
async function tarOf(files: readonly { name: string; mode: number; body: Buffer }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const f of files) await new Promise<void>((ok, fail) => p.entry({ name: f.name, mode: f.mode, size: f.body.length, mtime: new Date(0) }, f.body, (err) => (err ? fail(err) : ok())));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** `npm run bench:audit` in a child process; its stdout. */
function auditBench(): Promise<string> {
  const script = resolve(new URL('.', import.meta.url).pathname, 'audit.js');
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`bench:audit exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const wrk = which('wrk');
  if (wrk === undefined) throw new Error('wrk is not installed: apt-get install -y wrk');
  const fixture = PARTS.has('promote') ? await ensureImageFixture(log) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bench-gates-'));
  // One advisory, for a package no image here holds: the scans run the whole matcher and find nothing to refuse.
  const db = join(dir, 'advisory.db');
  async function* files(): AsyncGenerator<{ file: string; records: FeedRecords }> {
    yield {
      file: 'advisories.json',
      records: {
        vulnerabilities: [{ id: 'CVE-2099-0001', aliases: [], summary: 'bench', references: [], cvss: [], severity: { source: 'ghsa', severity: 'CRITICAL' }, source: 'ghsa' }],
        affected: [{ vulnId: 'CVE-2099-0001', ecosystem: 'npm', name: 'no-such-package-here', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }], versions: [], status: 'affected', source: 'ghsa' }],
        errors: [],
      },
    };
  }
  await buildAdvisoryDb(db, [{ feed: 'bench', files: files() }], { now: new Date() });

  const port = await freePort();
  const cli = resolve(new URL('.', import.meta.url).pathname, '../src/cli/main.js');
  const server = await startProcess(
    process.execPath,
    [cli, 'serve', '--addr', `127.0.0.1:${port}`, '--data', join(dir, 'data')],
    { ...process.env, PORTCULLIS_ADMIN_PASSWORD: ADMIN_PASSWORD, PORTCULLIS_SCAN_DB: db, PORTCULLIS_TOKEN_TTL: '2h', PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_SCAN_UPDATE_INTERVAL: '0' },
    `http://127.0.0.1:${port}/healthz`,
  );
  const host = `127.0.0.1:${port}`;
  const base = `http://${host}`;
  const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
  const api = apiOf(base, basic);
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const credentials = (): Promise<{ username: string; password: string }> => Promise.resolve({ username: 'admin', password: ADMIN_PASSWORD });
  const sourceOf = (repository: string): RegistrySource => new RegistrySource({ registry: host, repository, tag: 'bench' }, { insecure: true, credentials });
  const rows: string[][] = [];
  try {
    for (const p of ['open', 'gated', 'staging', 'prod']) await expect(api('POST', '/api/v1/projects', { name: p }), 201, `creating ${p}`);

    // ---- manifest GET with and without pull gates
    if (PARTS.has('get')) {
      log('pushing a small image to open/app and gated/app, waiting for its scans...');
      // A real layer the scanner reads: the program the entrypoint names, and 1 MiB of data.
      const data = Buffer.alloc(1024 * 1024, 7);
      for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
      const layer = await tarOf([
        { name: 'bin/true', mode: 0o755, body: Buffer.from('#!/bin/sh\n') },
        { name: 'srv/data.bin', mode: 0o644, body: data },
      ]);
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] }, config: { User: '1000', Entrypoint: ['/bin/true'], Healthcheck: { Test: ['CMD', '/bin/true'] } } }));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }] }));
      for (const repo of ['open/app', 'gated/app']) {
        const s = sourceOf(repo);
        await s.pushBlob(digestOf(layer), new Blob([layer]));
        await s.pushBlob(digestOf(config), new Blob([config]));
        await s.putManifest('1.0', manifest, OCI_MANIFEST);
        await settled(api, `/api/v1/projects/${repo.split('/')[0]}/repositories/app/artifacts/1.0/scan`, `scan of ${repo}`);
      }
      await expect(api('POST', '/api/v1/projects/gated/signing-key', {}), 201, 'the signing key of gated');
      await expect(api('POST', '/api/v1/projects/gated/repositories/app/artifacts/1.0/sign', {}), 201, 'signing gated/app:1.0');
      await expect(api('PUT', '/api/v1/projects/gated/policy', { preventVulnerable: { severity: 'high', unscanned: 'deny' }, requireSignature: { keys: ['project'] } }), 200, 'the policy of gated');
      const token = ((await (await fetch(`${base}/service/token?service=portcullis&scope=repository:open/app:pull&scope=repository:gated/app:pull`, { headers: { Authorization: basic } })).json()) as { token: string }).token;
      const check = await fetch(`${base}/v2/gated/app/manifests/1.0`, { headers: { Authorization: `Bearer ${token}`, Accept: OCI_MANIFEST } });
      if (check.status !== 200) throw new Error(`the gated image does not pull: ${check.status} ${await check.text()}`);
      const results: Record<'open' | 'gated', { rps: number; p99: number }[]> = { open: [], gated: [] };
      for (let i = 0; i < ROUNDS; i++) {
        for (const p of ['open', 'gated'] as const) {
          const r = await wrkRound(wrk, `${base}/v2/${p}/app/manifests/1.0`, `Bearer ${token}`);
          results[p].push(r);
          log(`  round ${i + 1}, ${p}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms`);
        }
      }
      const rps = (p: 'open' | 'gated') => median(results[p].map((r) => r.rps));
      const p99 = (p: 'open' | 'gated') => median(results[p].map((r) => r.p99));
      const rpsRatio = rps('gated') / rps('open');
      const p99Ratio = p99('gated') / p99('open');
      rows.push(['manifest GET req/s', rps('open').toFixed(0), rps('gated').toFixed(0), `${rpsRatio.toFixed(2)}×`, '≥ 0.90×', rpsRatio >= 0.9 ? 'ok' : 'MISSED']);
      rows.push(['manifest GET p99 ms', p99('open').toFixed(2), p99('gated').toFixed(2), `${p99Ratio.toFixed(2)}×`, '≤ 1.20×', p99Ratio <= 1.2 ? 'ok' : 'MISSED']);
    }

    // ---- promotion of the fixture image
    if (fixture !== undefined) {
      log('pushing the fixture image to staging/app, signing it with a CI key, waiting for its scan and SBOM...');
      const staging = sourceOf('staging/app');
      const index = JSON.parse(readFileSync(join(fixture.layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      const blobPath = (d: string): string => join(fixture.layoutDir, 'blobs', ...d.split(':'));
      const fixtureBytes = readFileSync(blobPath(index.manifests[0]!.digest));
      const fixtureManifest = JSON.parse(fixtureBytes.toString()) as { mediaType?: string; config: { digest: string }; layers: { digest: string; size: number }[] };
      for (const d of [fixtureManifest.config.digest, ...fixtureManifest.layers.map((l) => l.digest)]) await staging.pushBlob(d, await openAsBlob(blobPath(d)));
      const mediaType = fixtureManifest.mediaType ?? OCI_MANIFEST;
      await staging.putManifest('1.0', fixtureBytes, mediaType);
      const ci = generateKeyPair();
      const target: Descriptor = { mediaType, digest: digestOf(fixtureBytes) as Digest, size: fixtureBytes.byteLength };
      await signImage(staging, ci.privateKey, { dockerReference: `${host}/staging/app`, target });
      await settled(api, '/api/v1/projects/staging/repositories/app/artifacts/1.0/scan', 'scan of the fixture');
      await settled(api, '/api/v1/projects/staging/repositories/app/artifacts/1.0/sbom', 'SBOM of the fixture');
      await expect(api('POST', '/api/v1/projects/prod/signing-key', {}), 201, 'the signing key of prod');
      await expect(api('POST', '/api/v1/projects/prod/trusted-keys', { name: 'ci', publicKey: publicKeyPem(ci.publicKey) }), 201, 'trusting the CI key');
      // The fixture runs as root (DS002, HIGH): the bar is critical here, every other gate as in the runbook.
      await expect(
        api('PUT', '/api/v1/projects/prod/policy', {
          immutableTags: [{ repositories: '**', tags: '[0-9]*' }],
          promotion: { requireScan: { maxAge: '24h' }, maxSeverity: 'critical', denyMisconfigurations: ['PCL-IMG-001'], requireSignature: { keys: ['trusted:ci'] }, requireSbom: true },
        }),
        200,
        'the policy of prod',
      );
      const times: number[] = [];
      let first = NaN;
      for (let i = 0; i <= PROMOTIONS; i++) {
        const t0 = performance.now();
        const promoted = await expect(api('POST', '/api/v1/promotions', { source: 'staging/app:1.0', target: `prod/app-${i}:1.0` }), 201, `promotion ${i}`);
        const ms = performance.now() - t0;
        if (promoted.signature === null) throw new Error('the promotion was not signed');
        // The first pays the process's one-time costs (the key decrypted, threads warmed): shown apart.
        if (i > 0) times.push(ms);
        else first = ms;
        log(`  promotion ${i}: ${ms.toFixed(1)} ms`);
      }
      const promote = median(times);
      const layerBytes = fixtureManifest.layers.reduce((n, l) => n + l.size, 0);
      rows.push([`promote the fixture image (${(layerBytes / 1e6).toFixed(0)} MB of layers), ms`, '', promote.toFixed(1), '', `≤ ${PROMOTE_TARGET_MS} ms`, promote <= PROMOTE_TARGET_MS ? 'ok' : 'MISSED']);
      rows.push(['  the first promotion of the process (keys decrypted, threads warmed), ms', '', first.toFixed(1), '', '', '']);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  let audit = '';
  if (PARTS.has('audit')) {
    log('running bench:audit...');
    audit = await auditBench();
  }

  const header = ['measure', 'no policy', 'gates', 'ratio', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\ngates benchmark (${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, load ${loadBefore} before)`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  if (audit !== '') console.log(`\n${audit.trim()}`);
}

main().catch((err: unknown) => {
  console.error(`bench:gates failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
