/**
 * npm run bench:sign — signing and verifying an image in Portcullis over loopback, for a 1 MiB
 * image and the shared large fixture image (bench/lib/image-fixture.ts, ~900 MB in 3 layers):
 *   sign     resolve the tag to its digest, make and sign the payload, push it, append to the
 *            `.sig` tag, push the referrer (what `portcullis sign` does, in this process, the
 *            key already decrypted); median of 20;
 *   verify   find the signatures (the tag and the referrers), fetch each payload, check it;
 *            median of 20;
 *   API      `POST …/artifacts/{reference}/sign` with the project's server-side key (decrypted once,
 *            then cached), over HTTP with a bearer token as CI holds one; median of 20;
 *   CLI      `portcullis sign` and `portcullis verify` as processes (Node start-up and scrypt
 *            included), median of 5, for information.
 * The cost of signing does not depend on the image's size (only its manifest is read): the two
 * images side by side show it. Target: ≤ 100 ms each. Not a test: nothing here asserts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RegistrySource } from '../src/image/index.js';
import { digestOf, type Descriptor, type Digest } from '../src/oci/index.js';
import { attachedLayers, encryptPrivateKey, fetchAndVerifySignature, generateKeyPair, publicKeyPem, signImage, type AttachmentRegistry } from '../src/sign/index.js';
import { ensureImageFixture } from './lib/image-fixture.js';
import { median } from './lib/measure.js';
import { freePort, startProcess } from './lib/proc.js';

const run = promisify(execFile);
const ADMIN_PASSWORD = 'bench-admin-password';
const TARGET_MS = 100;
const RUNS = 20;
const CLI_RUNS = 5;
const log = (m: string): void => void process.stderr.write(`${m}\n`);

async function main(): Promise<void> {
  const fixture = await ensureImageFixture(log);
  const dir = mkdtempSync(join(tmpdir(), 'bench-sign-'));
  const port = await freePort();
  const cli = resolve(new URL('.', import.meta.url).pathname, '../src/cli/main.js');
  const server = await startProcess(process.execPath, [cli, 'serve', '--addr', `127.0.0.1:${port}`, '--data', join(dir, 'data')], { ...process.env, PORTCULLIS_ADMIN_PASSWORD: ADMIN_PASSWORD, PORTCULLIS_SBOM: 'false', PORTCULLIS_SCAN: 'false' }, `http://127.0.0.1:${port}/healthz`);
  const host = `127.0.0.1:${port}`;
  const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    const created = await fetch(`http://${host}/api/v1/projects`, { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
    if (created.status !== 201) throw new Error(`creating the project: ${created.status}`);
    const credentials = (): Promise<{ username: string; password: string }> => Promise.resolve({ username: 'admin', password: ADMIN_PASSWORD });
    const sourceOf = (repository: string): RegistrySource => new RegistrySource({ registry: host, repository, tag: 'bench' }, { insecure: true, credentials });

    log('pushing a 1 MiB image and the large fixture image...');
    const small = sourceOf('bench/small');
    const layer = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < layer.length; i += 4096) layer.writeUInt32LE(i * 2654435761 >>> 0, i);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] }, config: {} }));
    await small.pushBlob(digestOf(layer), new Blob([layer]));
    await small.pushBlob(digestOf(config), new Blob([config]));
    const smallManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }] }));
    await small.putManifest('bench', smallManifest, 'application/vnd.oci.image.manifest.v1+json');

    const large = sourceOf('bench/large');
    const index = JSON.parse(readFileSync(join(fixture.layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] };
    const blobPath = (d: string): string => join(fixture.layoutDir, 'blobs', ...d.split(':'));
    const manifestBytes = readFileSync(blobPath(index.manifests[0]!.digest));
    const manifest = JSON.parse(manifestBytes.toString()) as { mediaType?: string; config: { digest: string }; layers: { digest: string; size: number }[] };
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) await large.pushBlob(d, await openAsBlob(blobPath(d)));
    await large.putManifest('bench', manifestBytes, manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json');
    const largeBytes = manifest.layers.reduce((n, l) => n + l.size, 0);

    const { privateKey, publicKey } = generateKeyPair();
    const rows: string[][] = [];
    const results: Record<string, { sign: number; verify: number }> = {};
    for (const [name, source, size] of [
      ['1 MiB image', small, layer.length],
      [`fixture image (${(largeBytes / 1e6).toFixed(0)} MB of layers)`, large, largeBytes],
    ] as const) {
      const port: AttachmentRegistry = source;
      const dockerReference = `${host}/${source.ref.repository}`;
      const signTimes: number[] = [];
      const verifyTimes: number[] = [];
      let verified = 0;
      for (let i = 0; i <= RUNS; i++) {
        const t0 = performance.now();
        const fetched = await source.manifest('bench');
        const target: Descriptor = { mediaType: fetched.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(fetched.bytes) as Digest, size: fetched.bytes.byteLength };
        await signImage(port, privateKey, { dockerReference, target, annotations: { run: String(i) } });
        const t1 = performance.now();
        const found = await attachedLayers(port, target.digest, 'sig');
        const last = found.find((l) => l.annotations !== undefined);
        let ok = 0;
        for (const l of found) if ((await fetchAndVerifySignature(port, l, publicKey, { digest: target.digest, allowedReferences: new Set([dockerReference]) })).ok) ok += 1;
        const t2 = performance.now();
        if (last === undefined || ok === 0) throw new Error(`${name}: no signature verified`);
        verified = ok;
        // The first round warms the connection and the token: not counted.
        if (i > 0) {
          signTimes.push(t1 - t0);
          verifyTimes.push(t2 - t1);
        }
      }
      const sign = median(signTimes);
      const verify = median(verifyTimes);
      results[name] = { sign, verify };
      rows.push([`sign, ${name}`, sign.toFixed(1), `≤ ${TARGET_MS} ms`, sign <= TARGET_MS ? 'ok' : 'MISSED']);
      rows.push([`verify, ${name} (${verified} signatures checked)`, verify.toFixed(1), `≤ ${TARGET_MS} ms`, verify <= TARGET_MS ? 'ok' : 'MISSED']);
      void size;
    }

    // The registry's own signing: the project's key, one API call per signature (a bearer token, as CI holds).
    log('timing POST …/sign with the project key...');
    const token = ((await (await fetch(`http://${host}/service/token?service=portcullis`, { headers: { Authorization: basic } })).json()) as { token: string }).token;
    const bearer = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const keyRes = await fetch(`http://${host}/api/v1/projects/bench/signing-key`, { method: 'POST', headers: bearer, body: '{}' });
    if (keyRes.status !== 201) throw new Error(`creating the project key: ${keyRes.status} ${await keyRes.text()}`);
    for (const repo of ['small', 'large']) {
      const times: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const t = performance.now();
        const res = await fetch(`http://${host}/api/v1/projects/bench/repositories/${repo}/artifacts/bench/sign`, { method: 'POST', headers: bearer, body: JSON.stringify({ annotations: { run: String(i) } }) });
        if (res.status !== 201) throw new Error(`POST sign: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        if (i > 0) times.push(performance.now() - t);
      }
      const ms = median(times);
      rows.push([`POST …/sign (project key, server side), ${repo === 'small' ? '1 MiB image' : 'fixture image'}`, ms.toFixed(1), `≤ ${TARGET_MS} ms`, ms <= TARGET_MS ? 'ok' : 'MISSED']);
    }

    // The CLI as processes: Node start-up and the key's scrypt included.
    log('timing the CLI...');
    writeFileSync(join(dir, 'cosign.key'), await encryptPrivateKey(privateKey, 'bench'));
    writeFileSync(join(dir, 'cosign.pub'), publicKeyPem(publicKey));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } } }));
    const env = { ...process.env, DOCKER_CONFIG: dir, COSIGN_PASSWORD: 'bench' };
    const timeCli = async (args: string[]): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < CLI_RUNS; i++) {
        const t = performance.now();
        await run(process.execPath, [cli, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
        times.push(performance.now() - t);
      }
      return median(times);
    };
    const cliSign = await timeCli(['sign', '--key', join(dir, 'cosign.key'), '--insecure', `${host}/bench/large:bench`]);
    const cliVerify = await timeCli(['verify', '--key', join(dir, 'cosign.pub'), '--insecure', `${host}/bench/large:bench`]);
    const node = await timeCli(['--version']);
    rows.push(['portcullis sign (process), fixture image', cliSign.toFixed(0), '', '']);
    rows.push(['portcullis verify (process), fixture image', cliVerify.toFixed(0), '', '']);
    rows.push(['  of which `portcullis --version` (start-up)', node.toFixed(0), '', '']);

    const names = Object.keys(results);
    const ratio = (k: 'sign' | 'verify'): string => (results[names[1]!]![k] / results[names[0]!]![k]).toFixed(2);
    const header = ['measure', 'ms (median)', 'target', ''];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`\nSign benchmark (${new Date().toISOString()}, node ${process.version}, ${process.arch}, ${cpus().length} CPUs)`);
    console.log(`Portcullis on ${host} (loopback, SQLite + files); ECDSA P-256; ${RUNS} runs each after one warm-up`);
    console.log(`load average: ${loadBefore} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end\n`);
    console.log(line(header));
    for (const r of rows) console.log(line(r));
    console.log(`\nlarge / small: sign ${ratio('sign')}×, verify ${ratio('verify')}× (the same cost for any image size: only manifests and payloads are read)`);
    console.log('verify reads every signature present: each run adds one, so the last runs check about 20 (tag and referrers).');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:sign failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
