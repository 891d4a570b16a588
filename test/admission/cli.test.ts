/**
 * The webhook from the command line, as an operator and a CI job use it: `admission check` judges
 * images and the workloads of a manifest offline with the webhook's decisions (exit codes, table
 * and JSON), registry credentials from a Docker config file; `admission cert` + `admission serve`
 * in a child process answer an AdmissionReview over HTTPS and stop on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CLI, runCli } from '../helpers/cli.js';
import { cosignSign, newKeyPair } from '../helpers/cosign.js';
import { tempDir } from '../helpers/env.js';
import type { Target } from '../helpers/push.js';
import { ADMIN_PASSWORD, createProject, startTestServer, type TestServer } from '../helpers/server.js';
import { pushSpec } from '../registry/gates-fixtures.js';
import { admissionReview, workload } from './fixtures.js';

const ci = newKeyPair();

async function setup(t: TestContext): Promise<{ s: TestServer; home: string; signed: string; unsigned: string }> {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  const admin: Target = { url: s.url, auth: s.adminAuth };
  const signedDigest = await pushSpec(admin, 'team/app', 'signed', { nonce: 'signed' });
  await cosignSign(admin, 'team/app', signedDigest, ci.privateKey);
  await pushSpec(admin, 'team/app', 'unsigned', { nonce: 'unsigned' });
  const home = tempDir(t, 'portcullis-admission-cli-');
  mkdirSync(join(home, 'creds'));
  writeFileSync(join(home, 'creds', 'config.json'), JSON.stringify({ auths: { [s.host]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } } }));
  writeFileSync(join(home, 'ci.pub'), ci.publicKeyPem);
  writeFileSync(join(home, 'policy.yaml'), `allowedRegistries: [${s.host}]\nrules:\n  - name: signed\n    images: ["${s.host}/team/**"]\n    require: { signatures: { keys: [ci.pub] }, noLatest: true }\n`);
  return { s, home, signed: `${s.host}/team/app:signed`, unsigned: `${s.host}/team/app:unsigned` };
}

test('admission check judges images and manifests offline, as the webhook does', { timeout: 60_000 }, async (t) => {
  const { s, home, signed, unsigned } = await setup(t);
  const common = ['admission', 'check', '--policy', 'policy.yaml', '--registry-config', 'creds/config.json', '--insecure-registry', s.host];
  const ok = await runCli(home, [...common, signed]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^OBJECT\\s+IMAGE\\s+DIGEST\\s+RULE\\s+MODE\\s+RESULT\\s+REASONS\\n.*${signed.replace(/[.]/g, '\\.')}\\s+sha256:[a-f0-9]{64}\\s+signed\\s+enforce\\s+allowed`, 'm'));
  const denied = await runCli(home, [...common, signed, unsigned, 'totally-not-malware:latest', '--format', 'json']);
  assert.equal(denied.code, 1, denied.stderr);
  const rows = JSON.parse(denied.stdout) as { image: string; allowed: boolean; rule: string | null; reasons: { code: string }[] }[];
  assert.deepEqual(rows.map((r) => [r.image, r.allowed, r.rule, r.reasons.map((x) => x.code)]), [
    [signed, true, 'signed', []],
    [unsigned, false, 'signed', ['SIGNATURE']],
    ['totally-not-malware:latest', false, null, ['REGISTRY_NOT_ALLOWED']],
  ]);
  assert.match(denied.stderr, /denied: Pod\/image-2: image .*team\/app:unsigned .* is denied by rule signed: needs 1 signature/);
  assert.equal((await runCli(home, [...common, unsigned, '--exit-code', '3'])).code, 3);
  assert.equal((await runCli(home, [...common, unsigned, '--exit-code', '0'])).code, 0);

  // A manifest: workloads judged (each with its namespace), other kinds skipped, a List unpacked.
  writeFileSync(
    join(home, 'app.yaml'),
    [
      JSON.stringify(workload('Deployment', 'web', 'shop', { containers: [signed], initContainers: [unsigned] })),
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } }),
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [workload('CronJob', 'nightly', 'shop', { containers: [`${s.host}/team/app`] })] }),
    ].join('\n---\n'),
  );
  const manifest = await runCli(home, [...common, '-f', 'app.yaml', '--format', 'json']);
  assert.equal(manifest.code, 1, manifest.stderr);
  const judged = JSON.parse(manifest.stdout) as { object: string; namespace: string; image: string; allowed: boolean; reasons: { code: string }[] }[];
  assert.deepEqual(judged.map((r) => [r.object, r.namespace, r.image, r.allowed, r.reasons.map((x) => x.code).join()]), [
    // Init containers first, as they start.
    ['Deployment/web', 'shop', unsigned, false, 'SIGNATURE'],
    ['Deployment/web', 'shop', signed, true, ''],
    ['CronJob/nightly', 'shop', `${s.host}/team/app`, false, 'LATEST_TAG,UNRESOLVED'],
  ]);

  // Usage and policy errors.
  assert.equal((await runCli(home, ['admission', 'check', '--policy', 'policy.yaml'])).code, 2);
  writeFileSync(join(home, 'bad.yaml'), 'rules:\n  - name: r\n    images: ["**"]\n    mode: block\n');
  const bad = await runCli(home, ['admission', 'check', '--policy', 'bad.yaml', signed]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^portcullis: .*bad\.yaml: rules\.0\.mode: /m);
  writeFileSync(join(home, 'nokey.yaml'), 'rules:\n  - name: r\n    images: ["**"]\n    require: { signatures: { keys: [missing.pub] } }\n');
  assert.match((await runCli(home, ['admission', 'check', '--policy', 'nokey.yaml', signed])).stderr, /the key file missing\.pub cannot be read: ENOENT/);
});

test('admission cert and admission serve: an AdmissionReview answered over HTTPS by the real process', { timeout: 60_000 }, async (t) => {
  const { s, home, signed, unsigned } = await setup(t);
  const cert = await runCli(home, ['admission', 'cert', '--service', 'portcullis-admission', '--namespace', 'portcullis-admission', '--out', 'tls']);
  assert.equal(cert.code, 0, cert.stderr);
  const child = spawn(
    process.execPath,
    [CLI, 'admission', 'serve', '--policy', 'policy.yaml', '--tls-cert', 'tls/tls.crt', '--tls-key', 'tls/tls.key', '--addr', '127.0.0.1:0', '--registry-config', 'creds/config.json', '--insecure-registry', s.host],
    { cwd: home, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /serving on (https:\/\/[^\s]+)/.exec(stderr);
      if (m !== null) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`admission serve exited with ${code}: ${stderr}`)));
  });
  const ca = readFileSync(join(home, 'tls', 'ca.crt'), 'utf8');
  const post = (image: string) =>
    new Promise<{ allowed: boolean; status?: { message: string } }>((resolve, reject) => {
      const body = JSON.stringify(admissionReview(workload('Pod', 'p', 'default', { containers: [image] })));
      const u = new URL(url);
      const req = request({ host: u.hostname, port: u.port, path: '/validate', method: 'POST', ca, servername: 'portcullis-admission.portcullis-admission.svc', headers: { 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => (res.statusCode === 200 ? resolve((JSON.parse(text) as { response: { allowed: boolean; status?: { message: string } } }).response) : reject(new Error(`${res.statusCode}: ${text}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  assert.equal((await post(signed)).allowed, true);
  const denied = await post(unsigned);
  assert.equal(denied.allowed, false);
  assert.match(denied.status!.message, /needs 1 signature/);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  // Every decision is a structured log line on stderr.
  const decisions = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; image?: string; allowed?: boolean; rule?: string });
  assert.deepEqual(decisions.filter((d) => d.msg.startsWith('admission:')).map((d) => [d.msg, d.image, d.rule]), [
    ['admission: allowed', signed, 'signed'],
    ['admission: denied', unsigned, 'signed'],
  ]);
});
