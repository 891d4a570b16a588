/**
 * npm run bench:admission — the admission webhook (`portcullis admission serve`, a process of its
 * own, started as the manifests start it: same NODE_OPTIONS) judging Pod reviews at 200 requests/s
 * for 30 s, against a local Portcullis holding the pod's image, signed: the signature must verify
 * with the policy's key.
 *   cached    the digest and signatures are remembered (the defaults): p50/p99 (target p99 ≤ 20 ms);
 *   uncached  --tag-ttl 0 --digest-ttl 0: every review resolves the tag and fetches and verifies the
 *             signature (target p99 ≤ 100 ms);
 *   RSS       the webhook's peak resident memory over all runs (target ≤ 150 MB).
 * Each is measured two ways. Paced: one review every 5 ms, as the API server sends them (arrivals
 * spread out), latency timed from when each was due (no coordinated omission). autocannon
 * (`overallRate: 200`, 20 connections): its rate limiter lets each connection send its share at the
 * start of every second, so 200 reviews arrive at once each second, and it corrects for coordinated
 * omission; its p99 is mostly the queue of that burst, shown for comparison with other tools.
 * Each webhook first runs WARMUP_SECONDS at the same pace, not counted (its p50/p99 go to stderr):
 * a fresh process compiles its hot paths and opens its connections in the first seconds, and an
 * uncached one falls a second or two behind while it does.
 * Printed beside policy-controller's documented default deadline (the webhook's timeoutSeconds, 10 s).
 * BENCH_ADMISSION_SECONDS shortens the runs, BENCH_ADMISSION_TIMELINE=1 logs the paced p50/p99 of
 * each second. Results on stdout, progress on stderr; nothing asserts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { RegistrySource } from '../src/image/index.js';
import { digestOf, type Descriptor, type Digest } from '../src/oci/index.js';
import { generateKeyPair, publicKeyPem, signImage } from '../src/sign/index.js';
import { cpuMsOf, freePort, peakRss, startProcess } from './lib/proc.js';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { WEBHOOK_NODE_OPTIONS } from '../src/admission/index.js';

const ADMIN_PASSWORD = 'bench-admin-password';
const RATE = 200;
const SECONDS = Number(process.env['BENCH_ADMISSION_SECONDS'] ?? 30);
const WARMUP_SECONDS = 5;
const TARGETS = { cachedP99: 20, uncachedP99: 100, rssMb: 150 };
/** policy-controller's default webhook timeout (its chart's `webhook.timeoutSeconds`), the budget every review has. */
const DEADLINE_MS = 10_000;
const log = (m: string): void => void process.stderr.write(`${m}\n`);
const cli = resolve(new URL('.', import.meta.url).pathname, '../src/cli/main.js');

function run(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`portcullis ${args.join(' ')} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-admission-'));
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const regPort = await freePort();
  const registry = await startProcess(process.execPath, [cli, 'serve', '--addr', `127.0.0.1:${regPort}`, '--data', join(dir, 'data')], { ...process.env, PORTCULLIS_ADMIN_PASSWORD: ADMIN_PASSWORD, PORTCULLIS_SBOM: 'false', PORTCULLIS_SCAN: 'false', PORTCULLIS_LOG_LEVEL: 'warn' }, `http://127.0.0.1:${regPort}/healthz`);
  const host = `127.0.0.1:${regPort}`;
  const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
  const rows: string[][] = [];
  let rssPeak = 0;
  try {
    const created = await fetch(`http://${host}/api/v1/projects`, { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'prod' }) });
    if (created.status !== 201) throw new Error(`creating the project: ${created.status}`);
    log('pushing and signing an image...');
    const source = new RegistrySource({ registry: host, repository: 'prod/app', tag: '1.0' }, { insecure: true, credentials: () => Promise.resolve({ username: 'admin', password: ADMIN_PASSWORD }) });
    const layer = Buffer.alloc(64 * 1024, 3);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] }, config: {} }));
    await source.pushBlob(digestOf(layer), new Blob([layer]));
    await source.pushBlob(digestOf(config), new Blob([config]));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }] }));
    await source.putManifest('1.0', manifest, 'application/vnd.oci.image.manifest.v1+json');
    const key = generateKeyPair();
    const target: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifest) as Digest, size: manifest.length };
    await signImage(source, key.privateKey, { dockerReference: `${host}/prod/app`, target });

    writeFileSync(join(dir, 'ci.pub'), publicKeyPem(key.publicKey));
    writeFileSync(join(dir, 'policy.yaml'), `allowedRegistries: [${host}]\nrules:\n  - name: prod\n    images: ["${host}/prod/**"]\n    require: { signatures: { keys: [ci.pub] }, noLatest: true }\n`);
    mkdirSync(join(dir, 'docker'));
    writeFileSync(join(dir, 'docker', 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } } }));
    await run(['admission', 'cert', '--service', 'portcullis-admission', '--namespace', 'bench', '--out', 'tls'], dir);

    const review = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        name: 'web',
        namespace: 'default',
        operation: 'CREATE',
        userInfo: { username: 'system:serviceaccount:ci:deployer' },
        object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'app', image: `${host}/prod/app:1.0` }] } },
        oldObject: null,
        dryRun: false,
      },
    });

    for (const [label, ttl, target] of [
      ['cached', [], TARGETS.cachedP99],
      ['uncached (tag resolved, signature fetched and verified every time)', ['--tag-ttl', '0', '--digest-ttl', '0'], TARGETS.uncachedP99],
    ] as const) {
      const port = await freePort();
      const hook = spawn(
        process.execPath,
        [cli, 'admission', 'serve', '--policy', 'policy.yaml', '--tls-cert', 'tls/tls.crt', '--tls-key', 'tls/tls.key', '--addr', `127.0.0.1:${port}`, '--registry-config', 'docker/config.json', '--insecure-registry', host, '--log-level', 'warn', ...ttl],
        { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: WEBHOOK_NODE_OPTIONS } },
      );
      let stderr = '';
      hook.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
      try {
        await ready(`https://127.0.0.1:${port}/healthz`, () => stderr);
        // One review first (cached, it fills the cache), then the warm-up, then the timed runs.
        await once(port, review);
        log(`${label}: warm-up, ${RATE} reviews/s for ${WARMUP_SECONDS} s (not counted)...`);
        const warm = await pacedRun(port, review, RATE, WARMUP_SECONDS);
        log(`  warm-up: p50 ${quantile(warm, 0.5).toFixed(1)} ms, p99 ${quantile(warm, 0.99).toFixed(1)} ms`);
        log(`${label}: paced, ${RATE} reviews/s for ${SECONDS} s...`);
        const others = cpuOfOthers(registry.child.pid!);
        const paced = await peakRss(hook.pid!, () => pacedRun(port, review, RATE, SECONDS));
        log(`  paced: ${others()}`);
        rssPeak = Math.max(rssPeak, paced.peak);
        log(`  paced: peak RSS ${(paced.peak / 1048576).toFixed(0)} MB, webhook CPU ${(paced.cpuMs / paced.result.length).toFixed(2)} ms a review`);
        const pacedP99 = quantile(paced.result, 0.99);
        rows.push([`${label}, paced`, String(paced.result.length), quantile(paced.result, 0.5).toFixed(1), pacedP99.toFixed(1), (paced.cpuMs / paced.result.length).toFixed(2), `≤ ${target} ms`, pacedP99 <= target ? 'ok' : 'MISSED']);
        log(`${label}: autocannon, overallRate ${RATE} for ${SECONDS} s...`);
        const others2 = cpuOfOthers(registry.child.pid!);
        const { result, peak, cpuMs } = await peakRss(hook.pid!, () =>
          autocannon({ url: `https://127.0.0.1:${port}/validate`, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: review, overallRate: RATE, connections: 20, duration: SECONDS, servername: 'portcullis-admission.bench.svc' }),
        );
        rssPeak = Math.max(rssPeak, peak);
        log(`  autocannon: ${others2()}`);
        log(`  autocannon: peak RSS ${(peak / 1048576).toFixed(0)} MB, webhook CPU ${(cpuMs / result.requests.total).toFixed(2)} ms a review`);
        if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
        rows.push([`${label}, autocannon (bursts)`, String(result.requests.total), result.latency.p50.toFixed(1), result.latency.p99.toFixed(1), (cpuMs / result.requests.total).toFixed(2), '', '']);
      } finally {
        hook.kill('SIGTERM');
        await new Promise((r) => hook.once('exit', r));
      }
    }
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rssMb = rssPeak / (1024 * 1024);
  const header = ['reviews', 'answered', 'p50 ms', 'p99 ms', 'CPU ms/review', 'target', ''];
  const all = [...rows, ['webhook peak RSS (MB)', '', '', rssMb.toFixed(0), '', `≤ ${TARGETS.rssMb} MB`, rssMb <= TARGETS.rssMb ? 'ok' : 'MISSED']];
  const widths = header.map((h, i) => Math.max(h.length, ...all.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nadmission benchmark: Pod reviews at ${RATE}/s for ${SECONDS} s (${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, load ${loadBefore} before)`);
  console.log(line(header));
  for (const r of all) console.log(line(r));
  console.log(`\neach webhook was warmed up first: ${WARMUP_SECONDS} s at the same pace, not counted (stderr has its figures)`);
  console.log(`the webhook ran with NODE_OPTIONS=${WEBHOOK_NODE_OPTIONS}, as the Deployment runs it`);
  console.log(`for scale: policy-controller's default deadline for a review (webhook timeoutSeconds) is ${DEADLINE_MS / 1000} s = ${DEADLINE_MS} ms`);
}

/**
 * An open-loop load: a review due every 1000/rate ms, sent on keep-alive connections whether or not
 * earlier ones have been answered; each latency runs from when the review was due. Every answer
 * must be an admission.
 */
async function pacedRun(port: number, body: string, rate: number, seconds: number): Promise<number[]> {
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const byDue: number[] = [];
  const start = performance.now() + 50;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      new Promise<void>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => {
            latencies.push(performance.now() - due);
            byDue[i] = performance.now() - due;
            if (res.statusCode !== 200 || !text.includes('"allowed":true')) reject(new Error(`review ${i}: ${res.statusCode} ${text.slice(0, 200)}`));
            else resolve();
          });
        });
        req.on('error', reject);
        req.end(body);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  if (process.env['BENCH_ADMISSION_TIMELINE'] !== undefined) {
    for (let s = 0; s < seconds; s++) {
      const slice = byDue.slice(s * rate, (s + 1) * rate);
      log(`  second ${s}: p50 ${quantile(slice, 0.5).toFixed(1)} p99 ${quantile(slice, 0.99).toFixed(1)} max ${Math.max(...slice).toFixed(1)}`);
    }
  }
  return latencies;
}

/** Since now: the CPU the registry and this process (the load) used, as a share of one core. */
function cpuOfOthers(registryPid: number): () => string {
  const start = performance.now();
  const reg = cpuMsOf(registryPid);
  const self = process.cpuUsage();
  return () => {
    const wall = performance.now() - start;
    const mine = process.cpuUsage(self);
    return `registry CPU ${((100 * (cpuMsOf(registryPid) - reg)) / wall).toFixed(0)}% of a core, load generator ${((100 * (mine.user + mine.system)) / 1000 / wall).toFixed(0)}%`;
  };
}

function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Polls an HTTPS health endpoint (the webhook's own CA: not checked here) until it answers. */
async function ready(url: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = httpsRequest(url, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the webhook did not start: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One review, checked to be admitted. */
function once(port: number, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/validate', method: 'POST', rejectUnauthorized: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => (/"allowed":true/.test(text) ? resolve() : reject(new Error(`the review was not admitted: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

main().catch((err: unknown) => {
  console.error(`bench:admission failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
