/**
 * Server-side signing: a project may hold a signing key, kept encrypted at rest in Cosign's own
 * format under the server's signing secret, so that CI signs an image with one API call and no
 * key file. Signatures are stored exactly as `portcullis sign` (and Cosign) store them: the
 * `.sig` tag and an OCI 1.1 referrer, written through the stores as a push would.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { digestOf, isDigest, type Descriptor, type Digest } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import {
  attachedLayers,
  encryptPrivateKey,
  fetchAndVerifyAttestation,
  fetchSignaturePayload,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  parseSimpleSigning,
  PREDICATE_TYPE_ANNOTATION,
  publicKeyPem,
  signImage,
  verifySignature,
  type AttachmentRegistry,
  type SimpleSigning,
} from '../sign/index.js';
import type { BlobStore, MetadataStore } from '../storage/index.js';
import { SYSTEM, type ArtifactWriter } from './artifact-writer.js';
import { RepositoryContent } from './repository-content.js';

/** The server reads envelopes into memory to verify them: a lower bound than the CLI's. */
const SERVER_MAX_ENVELOPE = 16 * 1024 * 1024;

export interface SigningServiceDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  /** Signatures are stored as a push would store them, through the one write path. */
  readonly writer: ArtifactWriter;
  readonly log: Logger;
  readonly now: () => number;
  /** The secret given in the configuration; else one kept in `secretFile`. */
  readonly secret?: string;
  readonly secretFile: string;
}

export interface ArtifactSignatures {
  readonly signatures: readonly {
    readonly layer: Digest;
    readonly dockerReference: string | null;
    readonly annotations: Readonly<Record<string, unknown>> | null;
    /** Which known keys verify it (`project`: the project's signing key). */
    readonly verifiedBy: readonly string[];
  }[];
  readonly attestations: readonly { readonly layer: Digest; readonly predicateType: string | null; readonly verifiedBy: readonly string[] }[];
}

export class SigningService {
  private secretValue: string | undefined;
  /** Decrypted keys by project and key creation time (scrypt runs once per key, not per signature). */
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly deps: SigningServiceDeps) {}

  /** Creates (or replaces) a project's signing key; resolves to its public key. */
  async createKey(project: string): Promise<{ publicKey: string; createdAt: number } | undefined> {
    const pair = generateKeyPair();
    const record = { project, encryptedKey: await encryptPrivateKey(pair.privateKey, this.secret()), publicKey: publicKeyPem(pair.publicKey), createdAt: this.deps.now() };
    if (!(await this.deps.meta.signingKeys.put(record))) return undefined;
    this.deps.log.info({ project }, 'project signing key created');
    return { publicKey: record.publicKey, createdAt: record.createdAt };
  }

  async publicKey(project: string): Promise<{ publicKey: string; createdAt: number } | undefined> {
    const k = await this.deps.meta.signingKeys.get(project);
    return k === undefined ? undefined : { publicKey: k.publicKey, createdAt: k.createdAt };
  }

  async deleteKey(project: string): Promise<boolean> {
    return this.deps.meta.signingKeys.delete(project);
  }

  /** Signs a stored image with its project's key; `host` is the registry host the signature names. Undefined when the project has no key. */
  async sign(project: string, host: string, repository: string, target: Descriptor, annotations: Readonly<Record<string, string>>): Promise<{ tag: string; signature: Digest } | undefined> {
    const key = await this.privateKey(project);
    if (key === undefined) return undefined;
    const { tag, layer } = await signImage(this.registryPort(repository), key, { dockerReference: `${host}/${repository}`, target, annotations });
    return { tag, signature: layer.digest };
  }

  /** The signatures and attestations stored for an image, each with the known keys that verify it. */
  async list(project: string, host: string, repository: string, digest: Digest): Promise<ArtifactSignatures> {
    const port = this.registryPort(repository);
    const stored = await this.deps.meta.signingKeys.get(project);
    const key = stored === undefined ? undefined : loadPublicKey(stored.publicKey, `the signing key of ${project}`);
    const allowedReferences = new Set([`${host}/${repository}`]);
    const signatures = [];
    for (const layer of await attachedLayers(port, digest, 'sig')) {
      const payload = await fetchSignaturePayload(port, layer);
      const verified = key !== undefined && payload.ok ? verifySignature(payload.value, layer, key, { digest, allowedReferences }) : undefined;
      // What a verified payload says; else what the (unverified) payload claims, when it parses.
      const claims = verified?.ok === true ? verified.value : payload.ok ? claimsOf(payload.value) : undefined;
      signatures.push({ layer: layer.digest, dockerReference: claims?.dockerReference ?? null, annotations: claims?.optional ?? null, verifiedBy: verified?.ok === true ? ['project'] : [] });
    }
    const attestations = [];
    for (const layer of await attachedLayers(port, digest, 'att')) {
      const outcome = key === undefined ? undefined : await fetchAndVerifyAttestation(port, layer, key, { digest, allowedReferences, maxBytes: SERVER_MAX_ENVELOPE });
      // The predicate type a verified statement gives; else the layer's (unsigned) annotation.
      const predicateType = outcome?.ok === true ? outcome.value.statement.predicateType : (layer.annotations?.[PREDICATE_TYPE_ANNOTATION] ?? null);
      attestations.push({ layer: layer.digest, predicateType, verifiedBy: outcome?.ok === true ? ['project'] : [] });
    }
    return { signatures, attestations };
  }

  /**
   * Which of `specs` (as a policy names keys: `project`, `project:NAME`, `trusted:NAME`, a PEM)
   * made a signature of the image that verifies. A key that does not resolve verifies nothing.
   */
  async verifiedKeys(project: string, repository: string, digest: Digest, specs: readonly string[]): Promise<Set<string>> {
    const keys: [string, KeyObject][] = [];
    for (const spec of specs) {
      const key = await this.resolveKey(project, spec);
      if (key !== undefined) keys.push([spec, key]);
    }
    const out = new Set<string>();
    if (keys.length === 0) return out;
    const port = this.registryPort(repository);
    for (const layer of await attachedLayers(port, digest, 'sig')) {
      if (out.size === keys.length) break;
      // Each payload read once, whatever the number of keys.
      const payload = await fetchSignaturePayload(port, layer);
      if (!payload.ok) continue;
      for (const [spec, key] of keys) {
        // Any docker-reference: the signature binds the digest (as Cosign verifies by default), and
        // a promoted image keeps the signatures made where it came from.
        if (!out.has(spec) && verifySignature(payload.value, layer, key, { digest, allowedReferences: 'any' }).ok) out.add(spec);
      }
    }
    return out;
  }

  private async resolveKey(project: string, spec: string): Promise<KeyObject | undefined> {
    try {
      if (spec === 'project' || spec.startsWith('project:')) {
        const owner = spec === 'project' ? project : spec.slice('project:'.length);
        const stored = await this.deps.meta.signingKeys.get(owner);
        return stored === undefined ? undefined : loadPublicKey(stored.publicKey, `the signing key of ${owner}`);
      }
      if (spec.startsWith('trusted:')) {
        const name = spec.slice('trusted:'.length);
        const stored = (await this.deps.meta.trustedKeys.list(project)).find((k) => k.name === name);
        return stored === undefined ? undefined : loadPublicKey(stored.publicKey, `trusted key ${name}`);
      }
      return loadPublicKey(spec, 'a key of the policy');
    } catch (err) {
      this.deps.log.warn({ err, project, key: spec.slice(0, 40) }, 'a key of the policy does not load: it verifies nothing');
      return undefined;
    }
  }

  private async privateKey(project: string): Promise<KeyObject | undefined> {
    const stored = await this.deps.meta.signingKeys.get(project);
    if (stored === undefined) return undefined;
    const id = `${project}\u0000${stored.createdAt}\u0000${digestOf(Buffer.from(stored.encryptedKey))}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      key = await loadPrivateKey(stored.encryptedKey, () => this.secret(), `the signing key of ${project}`);
      if (this.keys.size >= 1000) this.keys.clear();
      this.keys.set(id, key);
    }
    return key;
  }

  /**
   * The configured secret, else the one in `secretFile`: made on first use (0600) and published
   * whole with link(2), which fails when another replica published first (theirs is kept). A
   * file without a usable secret (empty, truncated) is refused every time, never used.
   */
  private secret(): string {
    if (this.deps.secret !== undefined) return this.deps.secret;
    if (this.secretValue !== undefined) return this.secretValue;
    const file = this.deps.secretFile;
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(file), { recursive: true });
      const tmp = join(dirname(file), `.signing-secret-${randomBytes(6).toString('hex')}`);
      try {
        writeFileSync(tmp, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx', flush: true });
        linkSync(tmp, file);
        this.deps.log.info({ file }, 'created the signing secret (set signing.secret or PORTCULLIS_SIGNING_SECRET to share one between replicas)');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        rmSync(tmp, { force: true });
      }
      text = readFileSync(file, 'utf8').trim();
    }
    if (text.length < 16) throw new Error(`${file} holds no usable signing secret (fewer than 16 characters): remove it to have one made, or set signing.secret`);
    this.secretValue = text;
    return text;
  }

  /** The stores as a registry client: what the sign module needs, written as a push would. */
  private registryPort(repository: string): AttachmentRegistry {
    const { meta, blobs, writer } = this.deps;
    const content = new RepositoryContent(meta, blobs, repository);
    return {
      findManifest: async (reference) => {
        const m = await meta.artifacts.getManifest(repository, reference, true);
        return m?.content === undefined ? undefined : { bytes: m.content, mediaType: m.mediaType };
      },
      pushBlob: async (digest, body) => {
        const bytes = Buffer.from(await body.arrayBuffer());
        if (digestOf(bytes) !== digest) throw new Error(`blob ${digest} does not match its content`);
        await writer.putBytes(repository, digest as Digest, bytes);
      },
      putManifest: async (reference, bytes, mediaType) => (await writer.putManifest(repository, bytes, mediaType, isDigest(reference) ? null : reference, SYSTEM)).digest,
      referrers: async (digest, artifactType) =>
        (await meta.artifacts.referrers(repository, digest as Digest, artifactType)).map((r) => ({ mediaType: r.mediaType, digest: r.digest, size: r.size, ...(r.artifactType !== null ? { artifactType: r.artifactType } : {}) })),
      blobBytes: async (digest, limit) => {
        const bytes = await content.read(digest as Digest, { limit });
        if (bytes === undefined) throw new Error(`blob ${digest} is not in ${repository}`);
        return bytes;
      },
    };
  }
}

/** A payload's claims for display, when it parses; undefined when not. */
function claimsOf(payload: Uint8Array): SimpleSigning | undefined {
  try {
    return parseSimpleSigning(payload);
  } catch {
    return undefined;
  }
}
