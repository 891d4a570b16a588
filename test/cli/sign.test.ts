/**
 * `portcullis key generate`, `sign` and `verify` end to end: the real CLI in a child process
 * against a Portcullis registry. What it signs, OpenSSL verifies from the bytes in the registry;
 * a signature attached by hand in Cosign's exact layout (fetch + OpenSSL, no Portcullis code)
 * verifies with `portcullis verify`; tampering of every kind fails with its reason.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CLI, runCli } from '../helpers/cli.js';
import { loadPrivateKey, publicKeyPem } from '../../src/sign/index.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { digestOf, makeImage, pushBlob, pushImage, pushManifest, request, type Target, type TestImage } from '../helpers/push.js';
import { createProject, startTestServer, type TestServer } from '../helpers/server.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE = 'dev.cosignproject.cosign/signature';

const run = runCli;

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function setup(t: TestContext): Promise<{ home: string; server: TestServer; admin: Target; image: string; digest: string; pushed: TestImage }> {
  const home = tempDir(t, 'portcullis-sign-');
  const server = await startTestServer(t);
  await createProject(server, 'team');
  mkdirSync(join(home, '.docker'), { recursive: true });
  writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [server.host]: { auth: Buffer.from('admin:admin-password-1').toString('base64') } } }));
  const admin: Target = { url: server.url, auth: server.adminAuth };
  const pushed = makeImage({ layers: 1 });
  const digest = await pushImage(admin, 'team/app', '1.0', pushed);
  return { home, server, admin, image: `${server.host}/team/app`, digest, pushed };
}

test('key generate writes an encrypted key (0600) and its public key; refuses without a password or over existing files', async (t) => {
  const home = tempDir(t, 'portcullis-key-');
  const none = await run(home, ['key', 'generate']);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /COSIGN_PASSWORD/);
  assert.equal(existsSync(join(home, 'cosign.key')), false, 'no key without a password');
  const made = await run(home, ['key', 'generate', '--prefix', 'release'], { COSIGN_PASSWORD: 'pw' });
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stderr, /Private key written to release\.key\nPublic key written to release\.pub/);
  assert.equal(statSync(join(home, 'release.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(home, 'release.key'), 'utf8'), /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.match(readFileSync(join(home, 'release.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  const before = readFileSync(join(home, 'release.key'), 'utf8');
  const again = await run(home, ['key', 'generate', '--prefix', 'release'], { PORTCULLIS_KEY_PASSWORD: 'pw' });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /release\.key exists: remove it or add --force/);
  assert.equal(readFileSync(join(home, 'release.key'), 'utf8'), before, 'untouched');
  assert.equal((await run(home, ['key', 'generate', '--prefix', 'release', '--force'], { PORTCULLIS_KEY_PASSWORD: 'pw' })).code, 0);
  assert.notEqual(readFileSync(join(home, 'release.key'), 'utf8'), before);
});

test('on a terminal, key generate asks for the password twice; a mismatch writes nothing', async (t) => {
  if (!requireTools(t, 'script')) return;
  const home = tempDir(t, 'portcullis-key-tty-');
  // script(1) runs the CLI on a pseudo-terminal; both answers arrive at once, as when pasted.
  const onTerminal = (args: string, input: string): { status: number | null; out: string } => {
    const r = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args}`, '/dev/null'], { cwd: home, input, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home } });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  assert.equal(onTerminal('key generate --prefix tty', 'hunter22\nhunter22\n').status, 0);
  const key = await loadPrivateKey(readFileSync(join(home, 'tty.key'), 'utf8'), () => 'hunter22');
  assert.equal(publicKeyPem(key), readFileSync(join(home, 'tty.pub'), 'utf8'));
  const typo = onTerminal('key generate --prefix typo', 'hunter22\nhunter23\n');
  assert.equal(typo.status, 1);
  assert.match(typo.out, /the passwords do not match: no key was written/);
  assert.equal(existsSync(join(home, 'typo.key')), false);
  assert.equal(existsSync(join(home, 'typo.pub')), false);
});

test('sign stores a Cosign signature OpenSSL verifies, and a referrer; verify checks key, digest, reference and claims', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const { home, admin, image, digest } = await setup(t);
  assert.equal((await run(home, ['key', 'generate'], { COSIGN_PASSWORD: 'pw' })).code, 0);

  const signed = await run(home, ['sign', '--key', 'cosign.key', '-a', 'team=payments', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw' });
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, new RegExp(`signed ${image}@${digest}`));

  // The .sig tag, read with plain HTTP: one simple-signing layer whose annotation OpenSSL verifies over the payload blob.
  const tag = `${digest.replace(':', '-')}.sig`;
  const sigManifest = (await (await request(admin, 'GET', `/v2/team/app/manifests/${tag}`, { headers: { Accept: OCI_MANIFEST } })).json()) as { layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
  assert.equal(sigManifest.layers.length, 1);
  const layer = sigManifest.layers[0]!;
  assert.equal(layer.mediaType, SIMPLE_SIGNING);
  const payload = Buffer.from(await (await request(admin, 'GET', `/v2/team/app/blobs/${layer.digest}`)).arrayBuffer());
  assert.deepEqual(JSON.parse(payload.toString()), {
    critical: { identity: { 'docker-reference': image }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
    optional: { team: 'payments' },
  });
  writeFileSync(join(home, 'payload.json'), payload);
  writeFileSync(join(home, 'payload.sig'), Buffer.from(layer.annotations[SIGNATURE]!, 'base64'));
  assert.match(openssl('dgst', '-sha256', '-verify', join(home, 'cosign.pub'), '-signature', join(home, 'payload.sig'), join(home, 'payload.json')), /Verified OK/);
  // The OCI 1.1 referrer.
  const referrers = (await (await request(admin, 'GET', `/v2/team/app/referrers/${digest}`)).json()) as { manifests: { artifactType: string }[] };
  assert.deepEqual(referrers.manifests.map((m) => m.artifactType), ['application/vnd.dev.cosign.artifact.sig.v1+json']);

  const ok = await run(home, ['verify', '--key', 'cosign.pub', '-a', 'team=payments', '--insecure', `${image}:1.0`]);
  assert.equal(ok.code, 0, ok.stderr);
  const printed = JSON.parse(ok.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[];
  assert.equal(printed.length, 1, 'the tag and the referrer hold the same signature: counted once');
  assert.equal(printed[0]!.critical.image['docker-manifest-digest'], digest);
  assert.match(ok.stderr, /The signatures were verified against the specified public key/);

  // -f text, and -o FILE for the result, as every command spells them.
  const toFile = await run(home, ['verify', '--key', 'cosign.pub', '-f', 'text', '-o', 'verified.txt', '--insecure', `${image}:1.0`]);
  assert.equal(toFile.code, 0, toFile.stderr);
  assert.equal(toFile.stdout, '');
  assert.equal(readFileSync(join(home, 'verified.txt'), 'utf8'), `verified: ${image}@${digest} {"team":"payments"}\n`);
  assert.doesNotMatch(toFile.stderr, /deprecated/);
  // `-o json|text`, as verify shipped (and Cosign spells it), still picks the format, with a note.
  const oldSpelling = await run(home, ['verify', '--key', 'cosign.pub', '-o', 'text', '--insecure', `${image}:1.0`]);
  assert.equal(oldSpelling.code, 0, oldSpelling.stderr);
  assert.equal(oldSpelling.stdout, `verified: ${image}@${digest} {"team":"payments"}\n`);
  assert.match(oldSpelling.stderr, /^warning: portcullis verify -o FORMAT is deprecated: use -f FORMAT \(and -o FILE for the output file\)$/m);
  assert.equal((await run(home, ['verify', '--key', 'cosign.pub', '-f', 'json', '-o', 'text', '--insecure', `${image}:1.0`])).code, 2, 'two formats');

  const claim = await run(home, ['verify', '--key', 'cosign.pub', '-a', 'team=billing', '--insecure', `${image}@${digest}`]);
  assert.equal(claim.code, 1);
  assert.match(claim.stderr, /annotation team is "payments", not "billing"/);

  assert.equal((await run(home, ['key', 'generate', '--prefix', 'other'], { COSIGN_PASSWORD: 'pw2' })).code, 0);
  const otherKey = await run(home, ['verify', '--key', 'other.pub', '--insecure', `${image}:1.0`]);
  assert.equal(otherKey.code, 1);
  assert.match(otherKey.stderr, /does not verify with this key/);
  assert.match(otherKey.stderr, /no signature of .* verifies with other\.pub/);

  // A second signer appends to the .sig tag; each key verifies.
  assert.equal((await run(home, ['sign', '--key', 'other.key', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw2' })).code, 0);
  const two = (await (await request(admin, 'GET', `/v2/team/app/manifests/${tag}`, { headers: { Accept: OCI_MANIFEST } })).json()) as { layers: unknown[] };
  assert.equal(two.layers.length, 2);
  assert.equal((await run(home, ['verify', '--key', 'other.pub', '--insecure', `${image}:1.0`])).code, 0);
  assert.equal((await run(home, ['verify', '--key', 'cosign.pub', '--insecure', `${image}:1.0`])).code, 0);

  // Without the .sig tag (a registry that dropped it), the referrers still hold both signatures.
  const tagged = await request(admin, 'GET', `/v2/team/app/manifests/${tag}`, { headers: { Accept: OCI_MANIFEST } });
  const tagDigest = tagged.headers.get('docker-content-digest')!;
  await tagged.body?.cancel();
  assert.equal((await request(admin, 'DELETE', `/v2/team/app/manifests/${tagDigest}`)).status, 202);
  assert.equal((await request(admin, 'GET', `/v2/team/app/manifests/${tag}`)).status, 404);
  for (const pub of ['cosign.pub', 'other.pub']) assert.equal((await run(home, ['verify', '--key', pub, '--insecure', `${image}:1.0`])).code, 0, pub);
});

test('a signature attached by hand in Cosign’s layout verifies; a moved or retargeted one does not', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const { home, admin, image, digest, pushed } = await setup(t);
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(home, 'hand.pem'));
  openssl('pkey', '-in', join(home, 'hand.pem'), '-pubout', '-out', join(home, 'hand.pub'));
  /** Attaches what `cosign sign` would, with no Portcullis code: payload blob, config, manifest under the .sig tag. */
  const attach = async (repo: string, forDigest: string, payloadDigest: string, reference: string): Promise<void> => {
    const payload = Buffer.from(`{"critical":{"identity":{"docker-reference":"${reference}"},"image":{"docker-manifest-digest":"${payloadDigest}"},"type":"cosign container image signature"},"optional":null}`);
    writeFileSync(join(home, 'p.json'), payload);
    openssl('dgst', '-sha256', '-sign', join(home, 'hand.pem'), '-out', join(home, 'p.sig'), join(home, 'p.json'));
    const sig = readFileSync(join(home, 'p.sig')).toString('base64');
    await pushBlob(admin, repo, payload);
    const config = Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [digestOf(payload)] }, config: {} }));
    await pushBlob(admin, repo, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: digestOf(config) },
      layers: [{ mediaType: SIMPLE_SIGNING, size: payload.length, digest: digestOf(payload), annotations: { [SIGNATURE]: sig } }],
    });
    await pushManifest(admin, repo, `${forDigest.replace(':', '-')}.sig`, manifest, OCI_MANIFEST);
  };
  await attach('team/app', digest, digest, image);
  const ok = await run(home, ['verify', '--key', 'hand.pub', '--insecure', `${image}:1.0`]);
  assert.equal(ok.code, 0, ok.stderr);

  // The same valid signature, attached to another image: it signs the first digest, not this one.
  const otherDigest = await pushImage(admin, 'team/app', '2.0', makeImage({ layers: 1 }));
  await attach('team/app', otherDigest, digest, image);
  const moved = await run(home, ['verify', '--key', 'hand.pub', '--insecure', `${image}:2.0`]);
  assert.equal(moved.code, 1);
  assert.match(moved.stderr, new RegExp(`it signs ${digest}, not this image \\(${otherDigest}\\)`));

  // Signed for another repository (a copy): refused unless that repository is allowed.
  const copyDigest = await pushImage(admin, 'team/copy', '1.0', pushed);
  assert.equal(copyDigest, digest, 'the same image');
  await attach('team/copy', digest, digest, image);
  const copied = await run(home, ['verify', '--key', 'hand.pub', '--insecure', `${image.replace('/app', '/copy')}:1.0`]);
  assert.equal(copied.code, 1);
  assert.match(copied.stderr, new RegExp(`it names ${image}, not .*team/copy \\(--allowed-reference ${image} accepts it\\)`));
  assert.equal((await run(home, ['verify', '--key', 'hand.pub', '--allowed-reference', image, '--insecure', `${image.replace('/app', '/copy')}:1.0`])).code, 0);
});

test('attest stores a DSSE envelope OpenSSL verifies over PAE; verify-attestation checks key, subject and type', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const { home, admin, image, digest } = await setup(t);
  assert.equal((await run(home, ['key', 'generate'], { COSIGN_PASSWORD: 'pw' })).code, 0);
  const sbom = { bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components: [{ type: 'library', name: 'left-pad', version: '1.3.0' }] };
  writeFileSync(join(home, 'sbom.cdx.json'), JSON.stringify(sbom));
  const attested = await run(home, ['attest', '--key', 'cosign.key', '--predicate', 'sbom.cdx.json', '--type', 'cyclonedx', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw' });
  assert.equal(attested.code, 0, attested.stderr);
  assert.match(attested.stderr, /attested .*: https:\/\/cyclonedx\.org\/bom/);

  // The .att tag, read with plain HTTP: one DSSE layer with its predicate type.
  const att = (await (await request(admin, 'GET', `/v2/team/app/manifests/${digest.replace(':', '-')}.att`, { headers: { Accept: OCI_MANIFEST } })).json()) as { layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
  assert.equal(att.layers.length, 1);
  assert.equal(att.layers[0]!.mediaType, 'application/vnd.dsse.envelope.v1+json');
  assert.equal(att.layers[0]!.annotations['predicateType'], 'https://cyclonedx.org/bom');
  const envelope = JSON.parse(Buffer.from(await (await request(admin, 'GET', `/v2/team/app/blobs/${att.layers[0]!.digest}`)).arrayBuffer()).toString()) as { payloadType: string; payload: string; signatures: { sig: string }[] };
  assert.equal(envelope.payloadType, 'application/vnd.in-toto+json');
  const statement = Buffer.from(envelope.payload, 'base64');
  assert.deepEqual(JSON.parse(statement.toString()), { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: image, digest: { sha256: digest.slice(7) } }], predicateType: 'https://cyclonedx.org/bom', predicate: sbom });
  // DSSE's PAE, built here from the spec, is what the key signed.
  const type = Buffer.from(envelope.payloadType);
  writeFileSync(join(home, 'pae.bin'), Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${statement.length} `), statement]));
  writeFileSync(join(home, 'pae.sig'), Buffer.from(envelope.signatures[0]!.sig, 'base64'));
  assert.match(openssl('dgst', '-sha256', '-verify', join(home, 'cosign.pub'), '-signature', join(home, 'pae.sig'), join(home, 'pae.bin')), /Verified OK/);
  const referrers = (await (await request(admin, 'GET', `/v2/team/app/referrers/${digest}`)).json()) as { manifests: { artifactType: string }[] };
  assert.deepEqual(referrers.manifests.map((m) => m.artifactType), ['application/vnd.dev.cosign.artifact.att.v1+json']);

  const ok = await run(home, ['verify-attestation', '--key', 'cosign.pub', '--type', 'cyclonedx', '--insecure', `${image}:1.0`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout.trim()), envelope, 'the envelope, as Cosign prints it');
  const okToFile = await run(home, ['verify-attestation', '--key', 'cosign.pub', '--type', 'cyclonedx', '-o', 'verified.jsonl', '--insecure', `${image}:1.0`]);
  assert.equal(okToFile.code, 0, okToFile.stderr);
  assert.equal(okToFile.stdout, '');
  assert.deepEqual(JSON.parse(readFileSync(join(home, 'verified.jsonl'), 'utf8').trim()), envelope);
  const spdx = await run(home, ['verify-attestation', '--key', 'cosign.pub', '--type', 'spdx', '--insecure', `${image}:1.0`]);
  assert.equal(spdx.code, 1);
  assert.match(spdx.stderr, /predicate type https:\/\/cyclonedx\.org\/bom, not https:\/\/spdx\.dev\/Document/);
  assert.equal((await run(home, ['key', 'generate', '--prefix', 'other'], { COSIGN_PASSWORD: 'pw' })).code, 0);
  const other = await run(home, ['verify-attestation', '--key', 'other.pub', '--insecure', `${image}:1.0`]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /does not verify with this key/);

  // Any text as a custom predicate, in Cosign's {Data, Timestamp} wrapper.
  writeFileSync(join(home, 'note.txt'), 'reviewed by the security team');
  assert.equal((await run(home, ['attest', '--key', 'cosign.key', '--predicate', 'note.txt', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw' })).code, 0);
  const custom = await run(home, ['verify-attestation', '--key', 'cosign.pub', '--type', 'custom', '--insecure', `${image}:1.0`]);
  assert.equal(custom.code, 0, custom.stderr);
  const customStatement = JSON.parse(Buffer.from((JSON.parse(custom.stdout.trim()) as { payload: string }).payload, 'base64').toString()) as { predicateType: string; predicate: { Data: string; Timestamp: string } };
  assert.equal(customStatement.predicateType, 'https://cosign.sigstore.dev/attestation/v1');
  assert.equal(customStatement.predicate.Data, 'reviewed by the security team');
  assert.match(customStatement.predicate.Timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // A scan report (Trivy's JSON) as a vuln attestation: wrapped in Cosign's vulnerability predicate.
  const report = { SchemaVersion: 2, ArtifactName: `${image}:1.0`, ArtifactType: 'container_image', Results: [] };
  writeFileSync(join(home, 'report.json'), JSON.stringify(report));
  assert.equal((await run(home, ['attest', '--key', 'cosign.key', '--predicate', 'report.json', '--type', 'vuln', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw' })).code, 0);
  const vuln = await run(home, ['verify-attestation', '--key', 'cosign.pub', '--type', 'vuln', '--insecure', `${image}:1.0`]);
  assert.equal(vuln.code, 0, vuln.stderr);
  const vulnStatement = JSON.parse(Buffer.from((JSON.parse(vuln.stdout.trim()) as { payload: string }).payload, 'base64').toString()) as { predicateType: string; predicate: { scanner: { result: unknown }; metadata: { scanStartedOn: string } } };
  assert.equal(vulnStatement.predicateType, 'https://cosign.sigstore.dev/attestation/vuln/v1');
  assert.deepEqual(vulnStatement.predicate.scanner.result, report);
  assert.match(vulnStatement.predicate.metadata.scanStartedOn, /^\d{4}-\d\d-\d\dT/);

  // Bad input.
  assert.equal((await run(home, ['attest', '--key', 'cosign.key', '--predicate', 'note.txt', '--type', 'sbom', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw' })).code, 2);
  const notJson = await run(home, ['attest', '--key', 'cosign.key', '--predicate', 'note.txt', '--type', 'cyclonedx', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw' });
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /note\.txt is not JSON/);
});

test('bad input: a wrong password, an image not in the registry, no signatures, a bad flag', async (t) => {
  const { home, image, digest } = await setup(t);
  assert.equal((await run(home, ['key', 'generate'], { COSIGN_PASSWORD: 'pw' })).code, 0);
  const wrong = await run(home, ['sign', '--key', 'cosign.key', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'nope' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /the password does not decrypt cosign\.key/);
  const noPassword = await run(home, ['sign', '--key', 'cosign.key', '--insecure', `${image}:1.0`]);
  assert.equal(noPassword.code, 2);
  assert.match(noPassword.stderr, /cosign\.key is encrypted: set COSIGN_PASSWORD/);
  const missing = await run(home, ['sign', '--key', 'cosign.key', '--insecure', `${image}@sha256:${'0'.repeat(64)}`], { COSIGN_PASSWORD: 'pw' });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no image .* in the registry: nothing to sign or verify/);
  const unsigned = await run(home, ['verify', '--key', 'cosign.pub', '--insecure', `${image}@${digest}`]);
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stderr, /no signatures found for/);
  assert.equal((await run(home, ['verify', '--key', 'cosign.pub', '-f', 'xml', '--insecure', `${image}:1.0`])).code, 2);
  assert.equal((await run(home, ['sign', '--key', 'cosign.key', '-a', 'novalue', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'pw' })).code, 2);
  const noKey = await run(home, ['verify', '--key', 'absent.pub', '--insecure', `${image}:1.0`]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /cannot read the key absent\.pub: ENOENT/);
});

test('a key password comes from COSIGN_PASSWORD or PORTCULLIS_KEY_PASSWORD, never from the API password PORTCULLIS_PASSWORD', async (t) => {
  const { home, image, digest } = await setup(t);

  // A new key: PORTCULLIS_PASSWORD is not taken for it; PORTCULLIS_KEY_PASSWORD is.
  const apiOnly = await run(home, ['key', 'generate', '--prefix', 'api'], { PORTCULLIS_PASSWORD: 'api-pw' });
  assert.equal(apiOnly.code, 2, apiOnly.stderr);
  assert.match(apiOnly.stderr, /set COSIGN_PASSWORD \(or PORTCULLIS_KEY_PASSWORD\).*PORTCULLIS_PASSWORD is the API password/);
  assert.equal(existsSync(join(home, 'api.key')), false, 'a key was written with the API password');
  const made = await run(home, ['key', 'generate'], { PORTCULLIS_KEY_PASSWORD: 'key-pw', PORTCULLIS_PASSWORD: 'api-pw' });
  assert.equal(made.code, 0, made.stderr);
  await loadPrivateKey(readFileSync(join(home, 'cosign.key'), 'utf8'), () => 'key-pw');

  // An existing key: the right password in PORTCULLIS_PASSWORD does not unlock it.
  const api = await run(home, ['sign', '--key', 'cosign.key', '--insecure', `${image}:1.0`], { PORTCULLIS_PASSWORD: 'key-pw' });
  assert.equal(api.code, 2, api.stderr);
  assert.match(api.stderr, /cosign\.key is encrypted: set COSIGN_PASSWORD \(or PORTCULLIS_KEY_PASSWORD\)/);
  assert.equal((await run(home, ['verify', '--key', 'cosign.pub', '--insecure', `${image}@${digest}`])).code, 1, 'nothing was signed');
  const keyVar = await run(home, ['sign', '--key', 'cosign.key', '--insecure', `${image}:1.0`], { PORTCULLIS_KEY_PASSWORD: 'key-pw', PORTCULLIS_PASSWORD: 'api-pw' });
  assert.equal(keyVar.code, 0, keyVar.stderr);
  assert.equal((await run(home, ['verify', '--key', 'cosign.pub', '--insecure', `${image}@${digest}`])).code, 0);

  // Cosign's variable comes first.
  const cosignFirst = await run(home, ['sign', '--key', 'cosign.key', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'key-pw', PORTCULLIS_KEY_PASSWORD: 'wrong' });
  assert.equal(cosignFirst.code, 0, cosignFirst.stderr);
  const cosignWrong = await run(home, ['sign', '--key', 'cosign.key', '--insecure', `${image}:1.0`], { COSIGN_PASSWORD: 'wrong', PORTCULLIS_KEY_PASSWORD: 'key-pw' });
  assert.equal(cosignWrong.code, 1);
  assert.match(cosignWrong.stderr, /the password does not decrypt cosign\.key/);
});
