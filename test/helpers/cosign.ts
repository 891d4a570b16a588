/**
 * Signing an image as a client does (CI with its own Cosign key): the signature pushed through the
 * Distribution API in Cosign's layout, by the sign module over plain HTTP requests. What the
 * registry makes of it (does it count, for which key) is what the tests judge.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Descriptor } from '../../src/oci/index.js';
import { attestImage, signImage, type AttachmentRegistry } from '../../src/sign/index.js';
import { bytesOf, expectStatus, request, type Target } from './push.js';

export interface KeyPair {
  readonly privateKey: KeyObject;
  /** PKIX PEM, as `cosign.pub`. */
  readonly publicKeyPem: string;
}

export function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');

/** The Distribution API of one repository as the sign module's port. */
export function registryPort(target: Target, repository: string): AttachmentRegistry {
  return {
    findManifest: async (reference) => {
      const res = await request(target, 'GET', `/v2/${repository}/manifests/${reference}`, { headers: { Accept: MANIFEST_TYPES } });
      if (res.status === 404) return undefined;
      await expectStatus(res, 200, `GET manifest ${repository}:${reference}`);
      return { bytes: await bytesOf(res), mediaType: res.headers.get('content-type') ?? '' };
    },
    pushBlob: async (digest, body) => {
      const res = await request(target, 'POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from(await body.arrayBuffer()) });
      await expectStatus(res, 201, `push of ${digest}`);
    },
    putManifest: async (reference, bytes, mediaType) => {
      const res = await request(target, 'PUT', `/v2/${repository}/manifests/${reference}`, { headers: { 'Content-Type': mediaType }, body: bytes });
      await expectStatus(res, 201, `PUT manifest ${repository}:${reference}`);
    },
    referrers: async (digest, artifactType) => {
      const res = await request(target, 'GET', `/v2/${repository}/referrers/${digest}?artifactType=${encodeURIComponent(artifactType)}`);
      await expectStatus(res, 200, 'referrers');
      return ((await res.json()) as { manifests: Descriptor[] }).manifests;
    },
    blobBytes: async (digest) => {
      const res = await request(target, 'GET', `/v2/${repository}/blobs/${digest}`);
      await expectStatus(res, 200, `GET blob ${digest}`);
      return bytesOf(res);
    },
  };
}

async function descriptorOf(target: Target, repository: string, digest: string): Promise<Descriptor> {
  const head = await request(target, 'HEAD', `/v2/${repository}/manifests/${digest}`, { headers: { Accept: MANIFEST_TYPES } });
  await expectStatus(head, 200, `HEAD ${repository}@${digest}`);
  return { mediaType: head.headers.get('content-type') ?? '', digest: digest as Descriptor['digest'], size: Number(head.headers.get('content-length')) };
}

/** Attests `repository@digest` with `key` as `cosign attest --key --type` would: an in-toto statement in a DSSE envelope. */
export async function cosignAttest(target: Target, repository: string, digest: string, key: KeyObject, predicateType: string, predicate: unknown): Promise<void> {
  await attestImage(registryPort(target, repository), key, { dockerReference: `${new URL(target.url).host}/${repository}`, target: await descriptorOf(target, repository, digest), predicateType, predicate });
}

/** Signs `repository@digest` with `key` as `cosign sign --key` would, naming `host/repository`. */
export async function cosignSign(target: Target, repository: string, digest: string, key: KeyObject): Promise<void> {
  await signImage(registryPort(target, repository), key, { dockerReference: `${new URL(target.url).host}/${repository}`, target: await descriptorOf(target, repository, digest) });
}
