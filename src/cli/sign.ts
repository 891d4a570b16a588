/**
 * `portcullis key generate`, `sign` and `verify`: Cosign's key files, signatures and storage, so
 * that keys and signatures pass between Portcullis and Cosign (and skopeo) unchanged. A tag is
 * always resolved to its digest first: what is signed is a manifest, never a name.
 */
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ImageError, parseRegistryReference, RegistrySource, type RegistryReference } from '../image/index.js';
import { digestOf, type Descriptor, type Digest } from '../oci/index.js';
import {
  attachedLayers,
  attestImage,
  encryptPrivateKey,
  fetchAndVerifyAttestation,
  fetchAndVerifySignature,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  PREDICATE_TYPES,
  predicateTypeOf,
  publicKeyPem,
  SignError,
  signImage,
  type AttachmentRegistry,
  type SimpleSigning,
  type VerifyResult,
} from '../sign/index.js';
import { CliError } from './errors.js';
import type { CliIo, CliState } from './program.js';
import { formatAndOutput } from './output.js';
import { promptSecret, promptSecrets } from './prompt.js';
import { credentialsFor, writeResultFile } from './sbom.js';
import { packageVersion } from './version.js';

const VERIFY_FORMATS = ['json', 'text'] as const;
type VerifyFormat = (typeof VERIFY_FORMATS)[number];

/** A result to stdout, or written whole to -o FILE. */
function writeResult(io: CliIo, output: string | undefined, text: string): void {
  if (output !== undefined) writeResultFile(resolve(io.cwd, output), text);
  else process.stdout.write(text);
}

export function registerSign(program: Command, io: CliIo, _state: CliState): void {
  const key = program.command('key').description('signing keys, in Cosign’s format');
  key
    .command('generate')
    .description('write an ECDSA P-256 key pair: NAME.key (encrypted, mode 0600) and NAME.pub')
    .option('--prefix <name>', 'file name prefix', 'cosign')
    .option('--force', 'replace existing files')
    .action(async (o: { prefix: string; force?: boolean }) => {
      const keyFile = resolve(io.cwd, `${o.prefix}.key`);
      const pubFile = resolve(io.cwd, `${o.prefix}.pub`);
      for (const f of [keyFile, pubFile]) if (o.force !== true && existsSync(f)) throw new CliError('FAILED', `${basename(f)} exists: remove it or add --force`);
      const password = await newPassword(io);
      const pair = generateKeyPair();
      const encrypted = await encryptPrivateKey(pair.privateKey, password);
      writeAtomic(keyFile, encrypted, 0o600, o.force === true);
      writeAtomic(pubFile, publicKeyPem(pair.publicKey), 0o644, o.force === true);
      process.stderr.write(`Private key written to ${basename(keyFile)}\nPublic key written to ${basename(pubFile)}\n`);
    });

  program
    .command('sign')
    .description('sign an image by digest, stored as Cosign stores signatures (the .sig tag) and as an OCI 1.1 referrer')
    .argument('<image>', 'REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST (a tag is resolved to its digest)')
    .requiredOption('--key <file>', 'private key (portcullis key generate, cosign generate-key-pair, or PKCS#8 PEM); password from $COSIGN_PASSWORD or $PORTCULLIS_KEY_PASSWORD, else asked')
    .option('-a, --annotations <key=value>', 'a claim to sign with the image (repeatable)', collectPair, {})
    .option('--insecure', 'reach the registry over plain HTTP')
    .action(async (image: string, o: { key: string; annotations: Record<string, string>; insecure?: boolean }) => {
      const privateKey = await loadPrivateKey(readKeyFile(io, o.key), () => existingPassword(io, o.key), o.key).catch(keyFailure);
      const { source, ref } = registryOf(image, o.insecure === true);
      const port: AttachmentRegistry = source;
      await withRegistry(image, async () => {
        const target = await resolveImage(source, ref, image);
        const { tag } = await signImage(port, privateKey, { dockerReference: dockerReference(ref), target, annotations: o.annotations });
        process.stderr.write(`signed ${dockerReference(ref)}@${target.digest} (${tag}, and a referrer)\n`);
      });
    });

  program
    .command('verify')
    .description('verify the signatures of an image with a public key; exit 0 only when at least one verifies')
    .argument('<image>', 'REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST')
    .requiredOption('--key <file>', 'public key (PKIX PEM, the .pub file)')
    .option('-a, --annotations <key=value>', 'a claim the signature must carry (repeatable)', collectPair, {})
    .option('--allowed-reference <repo>', 'also accept signatures naming this repository (where a copied image was signed; repeatable)', collectList, [])
    .addOption(new Option('-f, --format <format>', 'json (the verified payloads, as Cosign prints them) or text').choices(VERIFY_FORMATS).default('json'))
    .option('-o, --output <file>', 'write the verified payloads to FILE instead of stdout')
    .option('--insecure', 'reach the registry over plain HTTP')
    .action(async (image: string, o: { key: string; annotations: Record<string, string>; allowedReference: string[]; format: VerifyFormat; output?: string; insecure?: boolean }, cmd: Command) => {
      // Shipped as `-o json|text`, Cosign's spelling: still taken as the format, with a note.
      const { format, output } = formatAndOutput('verify', VERIFY_FORMATS, o, cmd.getOptionValueSource('format') === 'cli');
      const publicKey = publicKeyFile(io, o.key);
      const { source, ref } = registryOf(image, o.insecure === true);
      const port: AttachmentRegistry = source;
      await withRegistry(image, async () => {
        const target = await resolveImage(source, ref, image);
        const layers = await attachedLayers(port, target.digest, 'sig');
        const allowed = new Set([dockerReference(ref), ...o.allowedReference.map(normalizeReference)]);
        const verified = await checkEach(layers, (layer) => fetchAndVerifySignature(port, layer, publicKey, { digest: target.digest, allowedReferences: allowed, claims: o.annotations, normalize: normalizeReference }), 'signature', `${dockerReference(ref)}@${target.digest}`, o.key);
        process.stderr.write(
          `Verification for ${dockerReference(ref)}@${target.digest} --\nThe following checks were performed on each of these signatures:\n  - The cosign claims were validated\n  - The signatures were verified against the specified public key\n`,
        );
        const text =
          format === 'json' ? `${JSON.stringify(verified.map(payloadJson))}\n` : verified.map((v) => `verified: ${v.dockerReference}@${v.digest}${v.optional !== null ? ` ${JSON.stringify(v.optional)}` : ''}\n`).join('');
        writeResult(io, output, text);
      });
    });

  program
    .command('attest')
    .description('attach a signed in-toto attestation (a DSSE envelope) to an image by digest, stored as Cosign stores them (the .att tag) and as an OCI 1.1 referrer')
    .argument('<image>', 'REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST (a tag is resolved to its digest)')
    .requiredOption('--key <file>', 'private key; password from $COSIGN_PASSWORD or $PORTCULLIS_KEY_PASSWORD, else asked')
    .requiredOption('--predicate <file>', 'the predicate: an SBOM, a scan report, provenance (JSON)')
    .option('--type <type>', `predicate type: ${Object.keys(PREDICATE_TYPES).join(', ')}, or a URI`, 'custom')
    .option('--insecure', 'reach the registry over plain HTTP')
    .action(async (image: string, o: { key: string; predicate: string; type: string; insecure?: boolean }) => {
      const predicateType = predicateTypeOf(o.type);
      if (predicateType === undefined) throw new CliError('USAGE', `--type must be one of ${Object.keys(PREDICATE_TYPES).join(', ')} or a URI, not "${o.type}"`);
      const raw = readPredicate(io, o.predicate);
      const predicate = predicateOf(raw, o.type.toLowerCase(), o.predicate, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
      const privateKey = await loadPrivateKey(readKeyFile(io, o.key), () => existingPassword(io, o.key), o.key).catch(keyFailure);
      const { source, ref } = registryOf(image, o.insecure === true);
      const port: AttachmentRegistry = source;
      await withRegistry(image, async () => {
        const target = await resolveImage(source, ref, image);
        const { tag } = await attestImage(port, privateKey, { dockerReference: dockerReference(ref), target, predicateType, predicate });
        process.stderr.write(`attested ${dockerReference(ref)}@${target.digest}: ${predicateType} (${tag}, and a referrer)\n`);
      });
    });

  program
    .command('verify-attestation')
    .description('verify the attestations of an image with a public key; exit 0 only when at least one verifies')
    .argument('<image>', 'REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST')
    .requiredOption('--key <file>', 'public key (PKIX PEM, the .pub file)')
    .option('--type <type>', `only attestations of this predicate type: ${Object.keys(PREDICATE_TYPES).join(', ')}, or a URI`)
    .option('--allowed-reference <repo>', 'also accept statements naming this repository (where a copied image was attested; repeatable)', collectList, [])
    .option('-o, --output <file>', 'write the verified envelopes to FILE instead of stdout')
    .option('--insecure', 'reach the registry over plain HTTP')
    .action(async (image: string, o: { key: string; type?: string; allowedReference: string[]; output?: string; insecure?: boolean }) => {
      const wanted = o.type === undefined ? undefined : predicateTypeOf(o.type);
      if (o.type !== undefined && wanted === undefined) throw new CliError('USAGE', `--type must be one of ${Object.keys(PREDICATE_TYPES).join(', ')} or a URI, not "${o.type}"`);
      const publicKey = publicKeyFile(io, o.key);
      const { source, ref } = registryOf(image, o.insecure === true);
      const port: AttachmentRegistry = source;
      await withRegistry(image, async () => {
        const target = await resolveImage(source, ref, image);
        const layers = await attachedLayers(port, target.digest, 'att');
        const allowed = new Set([dockerReference(ref), ...o.allowedReference.map(normalizeReference)]);
        const verified = await checkEach(layers, (layer) => fetchAndVerifyAttestation(port, layer, publicKey, { digest: target.digest, allowedReferences: allowed, normalize: normalizeReference, ...(wanted !== undefined ? { predicateType: wanted } : {}) }), wanted === undefined ? 'attestation' : `${wanted} attestation`, `${dockerReference(ref)}@${target.digest}`, o.key);
        process.stderr.write(`Verification for ${dockerReference(ref)}@${target.digest} --\nThe following checks were performed on each of these attestations:\n  - The DSSE signature was verified against the specified public key\n  - The in-toto statement names this image's digest\n`);
        writeResult(io, o.output, verified.map((v) => `${JSON.stringify(v.envelope)}\n`).join(''));
      });
    });
}

function readPredicate(io: CliIo, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (err) {
    throw new CliError('FAILED', `cannot read the predicate ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The predicate, as Cosign builds it: JSON as it is, but `custom` wraps any text as
 * `{Data, Timestamp}`, and `vuln` wraps a scan report (Trivy's JSON, ours) in Cosign's
 * vulnerability predicate `{invocation, scanner: {…, result}, metadata}` unless it is one already.
 */
function predicateOf(raw: string, type: string, file: string, now: string): unknown {
  if (type === 'custom') return { Data: raw, Timestamp: now };
  let doc: unknown;
  try {
    doc = JSON.parse(raw) as unknown;
  } catch {
    throw new CliError('FAILED', `${file} is not JSON: a predicate of this type is a JSON document (use --type custom for any text)`);
  }
  if (type === 'vuln' && !(typeof doc === 'object' && doc !== null && ('scanner' in doc || 'scanners' in doc))) {
    return {
      invocation: { parameters: null, uri: '', event_id: '', 'builder.id': '' },
      scanner: { uri: '', version: '', db: { uri: '', version: '' }, result: doc },
      metadata: { scanStartedOn: now, scanFinishedOn: now },
    };
  }
  return doc;
}

/** Checks every layer; the values of those that pass, or a failure listing why each was refused. */
async function checkEach<T>(layers: readonly Descriptor[], check: (layer: Descriptor) => Promise<VerifyResult<T>>, what: string, subject: string, keyFile: string): Promise<T[]> {
  const passed: T[] = [];
  const reasons: string[] = [];
  for (const layer of layers) {
    const outcome = await check(layer);
    if (outcome.ok) passed.push(outcome.value);
    else reasons.push(`${layer.digest.slice(0, 19)}…: ${outcome.message}`);
  }
  if (passed.length === 0) {
    for (const r of reasons) process.stderr.write(`  ${r}\n`);
    throw new CliError('FAILED', layers.length === 0 ? `no ${what.endsWith('signature') ? 'signatures' : 'attestations'} found for ${subject}` : `no ${what} of ${subject} verifies with ${keyFile} (${layers.length} checked, reasons above)`);
  }
  return passed;
}

function publicKeyFile(io: CliIo, file: string): ReturnType<typeof loadPublicKey> {
  try {
    return loadPublicKey(readKeyFile(io, file), file);
  } catch (err) {
    throw keyFailure(err);
  }
}

/** The image's manifest descriptor; a tag is resolved to the digest the registry serves for it. */
async function resolveImage(source: RegistrySource, ref: RegistryReference, text: string): Promise<Descriptor> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  let fetched;
  try {
    fetched = await source.manifest(reference);
  } catch (err) {
    if (err instanceof ImageError && err.code === 'NOT_FOUND') throw new CliError('FAILED', `no image ${text} in the registry: nothing to sign or verify`, { cause: err });
    // A pull gate refuses the content of an image it has not judged good (unsigned, say) but names
    // it: a signature needs no more than its digest, as Cosign's.
    if (err instanceof ImageError && err.code === 'DENIED') {
      const named = await source.resolve(reference);
      if (ref.digest !== undefined && named.digest !== ref.digest) throw new CliError('FAILED', `the registry names ${named.digest} for ${ref.digest}: refusing`);
      return { mediaType: named.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: named.digest as Digest, size: named.size };
    }
    throw err;
  }
  const digest = digestOf(fetched.bytes);
  if (ref.digest !== undefined && ref.digest !== digest) throw new CliError('FAILED', `the registry served ${digest} for ${ref.digest}: refusing a manifest that does not match its digest`);
  return { mediaType: fetched.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest, size: fetched.bytes.byteLength };
}

/** What the signature names: REGISTRY/REPOSITORY, as Cosign writes it (its `Context().Name()`). */
function dockerReference(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** `docker.io/x` and `index.docker.io/library/x` name the same repository. */
function normalizeReference(text: string): string {
  try {
    const r = parseRegistryReference(text.includes('@') || /:[^/]*$/.test(text) ? text : `${text}:latest`);
    return `${r.registry}/${r.repository}`;
  } catch {
    return text;
  }
}

function registryOf(image: string, insecure: boolean): { source: RegistrySource; ref: RegistryReference } {
  let ref: RegistryReference;
  try {
    ref = parseRegistryReference(image);
  } catch (err) {
    throw new CliError('USAGE', (err as Error).message);
  }
  return { source: new RegistrySource(ref, { insecure, credentials: credentialsFor, userAgent: `portcullis/${packageVersion()}` }), ref };
}

async function withRegistry(image: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ImageError || err instanceof SignError) throw new CliError('FAILED', `${image}: ${err.message}`, { cause: err });
    throw err;
  }
}

function keyFailure(err: unknown): never {
  if (err instanceof SignError) throw new CliError('FAILED', err.message, { cause: err });
  throw err;
}

function readKeyFile(io: CliIo, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (err) {
    throw new CliError('FAILED', `cannot read the key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * A key's password from the environment: Cosign's variable first, then ours. Never
 * $PORTCULLIS_PASSWORD: that is the API password, and one secret must not open both.
 */
function keyPasswordEnv(io: CliIo): string | undefined {
  return io.env['COSIGN_PASSWORD'] ?? io.env['PORTCULLIS_KEY_PASSWORD'];
}

/** Why no password was found, for someone who set the API password expecting it to unlock the key (it once did). */
function keyPasswordHint(io: CliIo): string {
  return io.env['PORTCULLIS_PASSWORD'] !== undefined ? ' (PORTCULLIS_PASSWORD is the API password: it does not unlock keys)' : '';
}

/** The password of an existing key: the environment (as Cosign reads it), else the terminal. */
async function existingPassword(io: CliIo, file: string): Promise<string> {
  const env = keyPasswordEnv(io);
  if (env !== undefined) return env;
  if (!io.stdinIsTty) throw new CliError('USAGE', `${file} is encrypted: set COSIGN_PASSWORD (or PORTCULLIS_KEY_PASSWORD), or run on a terminal${keyPasswordHint(io)}`);
  return promptSecret(`Enter password for private key ${file}: `);
}

/** A new key's password: the environment, else asked twice on the terminal. */
async function newPassword(io: CliIo): Promise<string> {
  const env = keyPasswordEnv(io);
  if (env !== undefined) return env;
  if (!io.stdinIsTty) throw new CliError('USAGE', `no password for the new key: set COSIGN_PASSWORD (or PORTCULLIS_KEY_PASSWORD), or run on a terminal${keyPasswordHint(io)}`);
  const [first = '', again = ''] = await promptSecrets(['Enter password for private key: ', 'Enter password for private key again: ']);
  if (first !== again) throw new CliError('FAILED', 'the passwords do not match: no key was written');
  return first;
}

/**
 * Written whole or not at all, with its mode from the start (a private key is never
 * world-readable, even briefly). Without `replace`, a file that appeared meanwhile is kept.
 */
function writeAtomic(path: string, text: string, mode: number, replace: boolean): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx', flush: true });
    if (replace) renameSync(tmp, path);
    else linkSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError('FAILED', code === 'EEXIST' ? `${basename(path)} exists: remove it or add --force` : `cannot write ${path}: ${code ?? (err as Error).message}`, { cause: err });
  } finally {
    rmSync(tmp, { force: true });
  }
}

function collectPair(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new CliError('USAGE', `-a takes key=value, not "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function collectList(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A verified payload as Cosign prints it: the simple-signing JSON. */
function payloadJson(p: SimpleSigning): unknown {
  return { critical: { identity: { 'docker-reference': p.dockerReference }, image: { 'docker-manifest-digest': p.digest }, type: p.type }, optional: p.optional };
}
