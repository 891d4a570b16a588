/**
 * `portcullis admission cert`: the certificates judged by OpenSSL (chain, SANs, key usages, basic
 * constraints, validity) and by a real TLS handshake of Node's https client, trusting only the
 * CA, with the server name the API server dials. Our own pre-flight check (servingPairProblems)
 * is held against that handshake on good and broken pairs.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { issueServingCertificates, servingPairProblems, type IssuedCertificates } from '../../src/admission/index.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { runCli } from '../helpers/cli.js';

const DAY = 86_400_000;

function openssl(args: readonly string[], input?: string): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** The DNS names of a certificate's SAN extension, as OpenSSL prints them. */
function sanNames(certFile: string): string[] {
  const r = openssl(['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName']);
  assert.equal(r.code, 0, r.out);
  return [...r.out.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]!);
}

function ext(certFile: string, name: string): string {
  const r = openssl(['x509', '-in', certFile, '-noout', '-ext', name]);
  assert.equal(r.code, 0, r.out);
  return r.out;
}

/**
 * A TLS handshake and a GET of `path` against a real https server holding cert/key, from a client
 * that trusts only `ca` and asks for `servername`: the body, or the error code.
 */
async function handshake(server: { cert: string; key: string }, client: { ca: string; servername: string }, path = '/'): Promise<{ ok: true; body: string } | { ok: false; code: string }> {
  let srv;
  try {
    srv = createServer({ cert: server.cert, key: server.key }, (req, res) => res.end(`reached ${req.url}`));
  } catch (err) {
    return { ok: false, code: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, ca: client.ca, servername: client.servername, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ ok: true, body }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
      req.end();
    });
  } finally {
    srv.closeAllConnections();
    await new Promise((resolve) => srv.close(resolve));
  }
}

async function certDir(t: TestContext, args: readonly string[] = []): Promise<{ home: string; dir: string; stdout: string }> {
  const home = tempDir(t);
  const r = await runCli(home, ['admission', 'cert', '--out', 'certs', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { home, dir: join(home, 'certs'), stdout: r.stdout };
}

test('admission cert writes a CA and a serving certificate that OpenSSL verifies for a TLS server', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const { dir, stdout } = await certDir(t, ['--service', 'gate', '--namespace', 'security']);
  const [ca, crt, key] = ['ca.crt', 'tls.crt', 'tls.key'].map((f) => join(dir, f)) as [string, string, string];

  assert.equal(statSync(key).mode & 0o777, 0o600, 'the key is private from the start');
  assert.equal(statSync(crt).mode & 0o777, 0o644);
  assert.equal(statSync(dir).mode & 0o777, 0o700, 'a new directory holding a key is private');

  for (const purpose of ['sslserver', 'any']) {
    const v = openssl(['verify', '-purpose', purpose, '-CAfile', ca, crt]);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /: OK/);
  }
  // serverAuth only: the certificate cannot pose as a client (or anything else).
  assert.notEqual(openssl(['verify', '-purpose', 'sslclient', '-CAfile', ca, crt]).code, 0);
  // The leaf is no CA: a certificate "signed" by it would not verify.
  assert.notEqual(openssl(['verify', '-CAfile', crt, crt]).code, 0);

  assert.deepEqual(sanNames(crt).sort(), ['gate', 'gate.security', 'gate.security.svc', 'gate.security.svc.cluster.local']);
  assert.match(ext(crt, 'basicConstraints'), /critical\s+CA:FALSE/);
  assert.match(ext(crt, 'keyUsage'), /critical\s+Digital Signature\s*$/m);
  assert.match(ext(crt, 'extendedKeyUsage'), /^\s*TLS Web Server Authentication\s*$/m);
  assert.doesNotMatch(ext(crt, 'extendedKeyUsage'), /Client/);
  assert.match(ext(ca, 'basicConstraints'), /critical\s+CA:TRUE, pathlen:0/);
  assert.match(ext(ca, 'keyUsage'), /critical\s+Certificate Sign, CRL Sign/);

  // ECDSA P-256, and the key is the certificate's.
  assert.match(openssl(['x509', '-in', crt, '-noout', '-text']).out, /NIST CURVE: P-256/);
  const fromCert = openssl(['x509', '-in', crt, '-noout', '-pubkey']);
  const fromKey = openssl(['pkey', '-in', key, '-pubout']);
  assert.equal(fromKey.code, 0, fromKey.out);
  assert.equal(fromCert.out, fromKey.out);

  // Validity: the leaf a year, the CA ten (both backdated an hour against clock skew); printed.
  const end = (f: string) => new Date(openssl(['x509', '-in', f, '-noout', '-enddate']).out.replace(/^notAfter=/, '').trim()).getTime();
  const start = (f: string) => new Date(openssl(['x509', '-in', f, '-noout', '-startdate']).out.replace(/^notBefore=/, '').trim()).getTime();
  assert.ok(Math.abs(end(crt) - Date.now() - 365 * DAY) < 60_000, 'leaf: 365 days');
  assert.ok(Math.abs(end(ca) - Date.now() - 3650 * DAY) < 60_000, 'CA: 3650 days');
  assert.ok(Math.abs(Date.now() - start(crt) - 3_600_000) < 60_000, 'backdated one hour');
  assert.match(stdout, new RegExp(`valid until ${new Date(end(crt)).toISOString().slice(0, 10)}`));
  assert.match(stdout, new RegExp(`valid until ${new Date(end(ca)).toISOString().slice(0, 10)}`));
});

test('a Node https client that trusts only ca.crt reaches a server holding tls.crt under NAME.NS.svc, and no other name', async (t) => {
  const { dir } = await certDir(t, ['--service', 'gate', '--namespace', 'security']);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const server = { cert: read('tls.crt'), key: read('tls.key') };

  for (const servername of ['gate.security.svc', 'gate.security.svc.cluster.local', 'gate.security', 'gate']) {
    assert.deepEqual(await handshake(server, { ca: read('ca.crt'), servername }, '/validate'), { ok: true, body: 'reached /validate' }, servername);
  }
  assert.deepEqual(await handshake(server, { ca: read('ca.crt'), servername: 'gate.other.svc' }), { ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  const other = await certDir(t, ['--service', 'gate', '--namespace', 'security']);
  const r = await handshake(server, { ca: readFileSync(join(other.dir, 'ca.crt'), 'utf8'), servername: 'gate.security.svc' });
  assert.deepEqual(r, { ok: false, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'each run makes its own CA');
});

test('admission cert refuses to overwrite without --force, and replaces all three files with it', async (t) => {
  const { home, dir } = await certDir(t);
  const before = readFileSync(join(dir, 'tls.key'), 'utf8');
  const again = await runCli(home, ['admission', 'cert', '--out', 'certs']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /certs\/ca\.crt, certs\/tls\.crt, certs\/tls\.key already exist: give --force/);
  assert.equal(readFileSync(join(dir, 'tls.key'), 'utf8'), before);

  // One stray file is enough to refuse: nothing of a pair is half replaced.
  writeFileSync(join(home, 'tls.crt'), 'mine\n');
  const stray = await runCli(home, ['admission', 'cert']);
  assert.equal(stray.code, 1);
  assert.equal(readFileSync(join(home, 'tls.crt'), 'utf8'), 'mine\n');

  const forced = await runCli(home, ['admission', 'cert', '--out', 'certs', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notEqual(readFileSync(join(dir, 'tls.key'), 'utf8'), before);
  assert.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600);
  if (requireTools(t, 'openssl')) assert.equal(openssl(['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'tls.crt')]).code, 0);
});

test('admission cert: names that are no DNS labels and bad --days are usage errors', async (t) => {
  const home = tempDir(t);
  for (const args of [['--service', 'Gate'], ['--namespace', 'a.b'], ['--service', '1gate'], ['--days', '0'], ['--days', 'x'], ['--days', '4000']]) {
    const r = await runCli(home, ['admission', 'cert', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.equal(statSync(home).isDirectory(), true);
  assert.throws(() => statSync(join(home, 'tls.key')), /ENOENT/, 'nothing written');
});

test('a namespace too long for a common name: the SANs alone (critical), still verified by OpenSSL and Node', async (t) => {
  const ns = `n${'x'.repeat(61)}1`;
  const issued = await issueServingCertificates({ service: 'portcullis-admission', namespace: ns, now: new Date() });
  const dir = tempDir(t);
  writeFileSync(join(dir, 'ca.crt'), issued.caCert);
  writeFileSync(join(dir, 'tls.crt'), issued.cert);
  if (requireTools(t, 'openssl')) {
    assert.equal(openssl(['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), join(dir, 'tls.crt')]).code, 0);
    assert.match(ext(join(dir, 'tls.crt'), 'subjectAltName'), /critical/);
    assert.match(openssl(['x509', '-in', join(dir, 'tls.crt'), '-noout', '-subject']).out, /^subject=\s*$/m);
  }
  assert.deepEqual(await handshake(issued, { ca: issued.caCert, servername: `portcullis-admission.${ns}.svc` }), { ok: true, body: 'reached /' });
});

test('servingPairProblems finds a problem exactly when the real TLS handshake fails', async () => {
  const now = new Date();
  const good = await issueServingCertificates({ service: 'portcullis-admission', namespace: 'admission', now });
  const otherNs = await issueServingCertificates({ service: 'portcullis-admission', namespace: 'elsewhere', now });
  const expired = await issueServingCertificates({ service: 'portcullis-admission', namespace: 'admission', now: new Date(now.getTime() - 400 * DAY), days: 365 });
  const future = await issueServingCertificates({ service: 'portcullis-admission', namespace: 'admission', now: new Date(now.getTime() + 30 * DAY) });
  const cases: Record<string, { ca: string; cert: string; key: string }> = {
    'the pair': { ca: good.caCert, cert: good.cert, key: good.key },
    'a CA bundle holding the CA among others': { ca: otherNs.caCert + good.caCert, cert: good.cert, key: good.key },
    'a certificate for another namespace': { ca: otherNs.caCert, cert: otherNs.cert, key: otherNs.key },
    'another CA': { ca: otherNs.caCert, cert: good.cert, key: good.key },
    'another key': { ca: good.caCert, cert: good.cert, key: otherNs.key },
    expired: { ca: expired.caCert, cert: expired.cert, key: expired.key },
    'not yet valid': { ca: future.caCert, cert: future.cert, key: future.key },
  };
  const verdicts: Record<string, [boolean, boolean]> = {};
  for (const [name, c] of Object.entries(cases)) {
    const problems = servingPairProblems({ caBundle: c.ca, cert: c.cert, key: c.key, dnsName: 'portcullis-admission.admission.svc', now });
    const tls = await handshake({ cert: c.cert, key: c.key }, { ca: c.ca, servername: 'portcullis-admission.admission.svc' });
    verdicts[name] = [problems.length === 0, tls.ok];
  }
  assert.deepEqual(verdicts, {
    'the pair': [true, true],
    'a CA bundle holding the CA among others': [true, true],
    'a certificate for another namespace': [false, false],
    'another CA': [false, false],
    'another key': [false, false],
    expired: [false, false],
    'not yet valid': [false, false],
  });
});

test('issueServingCertificates: the serial numbers are random and positive, the key is PKCS #8', async (t) => {
  const a: IssuedCertificates = await issueServingCertificates({ service: 's', namespace: 'n', now: new Date() });
  const b = await issueServingCertificates({ service: 's', namespace: 'n', now: new Date() });
  assert.match(a.key, /^-----BEGIN PRIVATE KEY-----\n/);
  if (!requireTools(t, 'openssl')) return;
  const serial = (pem: string) => execFileSync('openssl', ['x509', '-noout', '-serial'], { input: pem, encoding: 'utf8' }).trim().replace(/^serial=/, '');
  const serials = [a.caCert, a.cert, b.caCert, b.cert].map(serial);
  assert.equal(new Set(serials).size, 4);
  for (const s of serials) assert.match(s, /^[4-7][0-9A-F]{31}$/, 'positive, 16 bytes');
});
