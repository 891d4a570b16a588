/**
 * npm run bench:jobs — the registry's background jobs (SBOM and scan of every image pushed), which
 * run in worker threads and read the image through the repository's links over a message port,
 * measured on the shared benchmark image (bench/lib/image-fixture.ts: Debian bookworm with Java,
 * Maven, Python, Node and an app; about 800 MB uncompressed in 3 gzip layers) pushed with skopeo
 * to `portcullis serve` in a process of its own (SQLite and files, cold layer cache):
 *   jobs     from the end of the push until both the SBOM and the scan are stored (the server asked
 *            nothing else meanwhile), next to the same work done by the CLI in the same run (`portcullis sbom` and `portcullis scan` of
 *            the image's OCI layout side by side, each with an empty cache) and to `pigz -dc` of
 *            the layers (the physical limit of one read); target ≤ 1.25× the CLI.
 *   latency  on a second server with fresh data, manifest GETs sent on a fixed schedule (200/s,
 *            each timed from when it was due, so a stall counts for every request it holds up)
 *            while it is idle and while the two jobs run: p50 and p99; target p99 while busy ≤ 50 ms (on the event loop, a job
 *            used to hold requests for as long as it computed without yielding).
 *   RSS      peak resident set of the server process during the jobs.
 * Results on stdout, progress on stderr. Not a test: nothing here asserts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureImageFixture, type ImageFixture } from './lib/image-fixture.js';
import { measure, type Run } from './lib/measure.js';
import { freePort, peakRss, startProcess, which } from './lib/proc.js';

const TARGET_JOBS_RATIO = 1.25;
const TARGET_BUSY_P99_MS = 50;
const PROBE_INTERVAL_MS = 5;
const IDLE_PROBE_MS = 5_000;
const PASSWORD = 'bench-admin-password';
const AUTH = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
const MB = 1e6;

const log = (m: string): void => void process.stderr.write(`${m}\n`);

async function api(url: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, { method, headers: { Authorization: AUTH, ...headers }, ...(body !== undefined ? { body } : {}) });
}

const digestOf = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A one-layer image for the latency probe; resolves to its manifest path. */
async function pushProbe(url: string): Promise<string> {
  const layer = Buffer.from('probe');
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
  for (const b of [layer, config]) {
    const res = await api(url, 'POST', `/v2/bench/probe/blobs/uploads/?digest=${digestOf(b)}`, b, { 'Content-Type': 'application/octet-stream' });
    if (res.status !== 201) throw new Error(`probe blob: ${res.status} ${await res.text()}`);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }],
  });
  const res = await api(url, 'PUT', '/v2/bench/probe/manifests/1', manifest, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
  if (res.status !== 201) throw new Error(`probe manifest: ${res.status} ${await res.text()}`);
  return '/v2/bench/probe/manifests/1';
}

/** Manifest GETs on a fixed schedule until `until` resolves (or for `ms`); each latency from when it was due. */
async function probe(url: string, path: string, until: Promise<unknown> | number): Promise<number[]> {
  let done = false;
  if (typeof until === 'number') setTimeout(() => (done = true), until);
  else void until.finally(() => (done = true));
  const out: Promise<number>[] = [];
  const start = performance.now();
  for (let i = 0; !done; i++) {
    const due = start + i * PROBE_INTERVAL_MS;
    out.push(
      api(url, 'GET', path).then(async (res) => {
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`probe GET: ${res.status}`);
        return performance.now() - due;
      }),
    );
    await sleep(Math.max(0, start + (i + 1) * PROBE_INTERVAL_MS - performance.now()));
  }
  return (await Promise.all(out)).sort((a, b) => a - b);
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** Polls `path` until it answers anything but 202; resolves to when (performance.now()). */
async function settled(url: string, path: string): Promise<number> {
  for (;;) {
    const res = await api(url, 'GET', path);
    const text = await res.text();
    if (res.status === 200) return performance.now();
    if (res.status !== 202) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
    await sleep(50);
  }
}

const num = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const ok = (pass: boolean | undefined): string => (pass === undefined ? '' : pass ? 'ok' : 'MISSED');

interface ServerRun {
  readonly jobs: { scan: number; sbom: number; both: number; rss: number };
  readonly idle: number[];
  readonly busy: number[];
}

/** A server on fresh data: push the image, time the SBOM and the scan (and probe latency, when asked). */
async function runServer(cli: string, work: string, name: string, skopeo: string, fixture: ImageFixture, probing: boolean): Promise<ServerRun> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, PORTCULLIS_ADMIN_PASSWORD: PASSWORD, PORTCULLIS_SCAN: 'true', PORTCULLIS_SBOM: 'true', PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_SCAN_DB: join(work, 'no-advisory.db'), PORTCULLIS_SCAN_UPDATE_INTERVAL: '0' };
  const server = await startProcess(process.execPath, [cli, 'serve', '--addr', `127.0.0.1:${port}`, '--data', join(work, name)], env, `${url}/healthz`);
  try {
    const created = await api(url, 'POST', '/api/v1/projects', JSON.stringify({ name: 'bench' }), { 'Content-Type': 'application/json' });
    if (created.status !== 201) throw new Error(`project: ${created.status}`);
    const probePath = await pushProbe(url);
    const idle = probing ? await probe(url, probePath, IDLE_PROBE_MS) : [];
    const pushed = await measure(skopeo, ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `admin:${PASSWORD}`, `oci:${fixture.layoutDir}:${fixture.tag}`, `docker://127.0.0.1:${port}/bench/app:1`]);
    if (!pushed.ok) throw new Error(`skopeo copy: ${pushed.stderr}`);
    const t0 = performance.now();
    const base = '/api/v1/projects/bench/repositories/app/artifacts/1';
    const both = Promise.all([settled(url, `${base}/scan`), settled(url, `${base}/sbom`)]);
    const { result, peak } = await peakRss(server.child.pid!, async () => {
      const [busy, [scanAt, sbomAt]] = await Promise.all([probing ? probe(url, probePath, both) : Promise.resolve([]), both]);
      return { busy, scanAt, sbomAt };
    });
    return { jobs: { scan: (result.scanAt - t0) / 1000, sbom: (result.sbomAt - t0) / 1000, both: (Math.max(result.scanAt, result.sbomAt) - t0) / 1000, rss: peak }, idle, busy: result.busy };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const skopeo = which('skopeo');
  if (skopeo === undefined) throw new Error('skopeo is needed to push the image: apt-get install -y skopeo');
  const fixture = await ensureImageFixture(log);
  const root = resolve(new URL('.', import.meta.url).pathname, '..');
  const cli = join(root, 'src/cli/main.js');
  const work = mkdtempSync(join(tmpdir(), 'portcullis-bench-jobs-'));
  try {
    const source = `oci-dir:${fixture.layoutDir}:${fixture.tag}`;
    // Two servers, each on fresh data (a cold layer cache): one timed alone, one probed for latency.
    log('timing the jobs (nothing else asked of the server)');
    const timed = await runServer(cli, work, 'timed', skopeo, fixture, false);
    log('the same again, probing latency meanwhile');
    const probed = await runServer(cli, work, 'probed', skopeo, fixture, true);
    const jobs = timed.jobs;
    const idle = probed.idle;
    const busy = probed.busy;

    log('the same work through the CLI, side by side, cold caches');
    const t1 = performance.now();
    const [cliScan, cliSbom]: Run[] = await Promise.all([
      // No advisory DB on either side: the registry's scan then reads packages, secrets and config, as this one.
      measure(process.execPath, [cli, 'scan', source, '--scanners', 'secret,config', '-f', 'json', '--cache-dir', join(work, 'cli-scan-cache')], join(work, 'scan.json')),
      measure(process.execPath, [cli, 'sbom', source, '-f', 'cyclonedx-json', '--cache-dir', join(work, 'cli-sbom-cache')], join(work, 'sbom.json')),
    ]);
    const cliBoth = (performance.now() - t1) / 1000;
    const pigz = which('pigz');
    const limit = pigz === undefined ? undefined : await measure('sh', ['-c', `${fixture.layerBlobs.map((b) => `${pigz} -dc '${b}'`).join(' && ')} > /dev/null`]);

    const idleP99 = quantile(idle, 0.99);
    const busyP99 = quantile(busy, 0.99);
    const rows: string[][] = [
      ['measure', 'registry', 'peer', 'ratio', 'target', ''],
      ['SBOM + scan after the push, s', num(jobs.both), num(cliBoth), num(jobs.both / cliBoth), `≤ ${TARGET_JOBS_RATIO}×`, ok(jobs.both / cliBoth <= TARGET_JOBS_RATIO)],
      ['  scan, s', num(jobs.scan), num(cliScan?.seconds ?? NaN), num(jobs.scan / (cliScan?.seconds ?? NaN)), '', cliScan?.ok === false ? `CLI failed: ${cliScan.stderr.slice(-200)}` : ''],
      ['  SBOM, s', num(jobs.sbom), num(cliSbom?.seconds ?? NaN), num(jobs.sbom / (cliSbom?.seconds ?? NaN)), '', cliSbom?.ok === false ? `CLI failed: ${cliSbom.stderr.slice(-200)}` : ''],
      ['  pigz -dc of the layers (one read), s', '', num(limit?.seconds ?? NaN), num(jobs.both / (limit?.seconds ?? NaN)), '', ''],
      ['manifest GET p50 during the jobs / idle, ms', num(quantile(busy, 0.5)), num(quantile(idle, 0.5)), num(quantile(busy, 0.5) / quantile(idle, 0.5)), '', ''],
      ['manifest GET p99 during the jobs / idle, ms', num(busyP99), num(idleP99), num(busyP99 / idleP99), `≤ ${TARGET_BUSY_P99_MS} ms`, ok(busyP99 <= TARGET_BUSY_P99_MS)],
      ['  SBOM + scan while probed, s', num(probed.jobs.both), '', '', '', ''],
      ['  requests probed during the jobs / idle', String(busy.length), String(idle.length), '', '', ''],
      ['peak RSS of the server during the jobs, MB', num(jobs.rss / MB, 0), '', '', '', ''],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(`\nbench:jobs on ${cpus().length} cores (load ${loadavg().map((l) => l.toFixed(2)).join(' ')}), node ${process.version}\n`);
    for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:jobs failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
