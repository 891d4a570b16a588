/**
 * The payload Cosign signs for an image: Red Hat's "simple signing" JSON naming the repository
 * (`docker-reference`) and the manifest digest, with the user's annotations under `optional`.
 * Written byte for byte as Cosign's Go structs marshal (field order, `optional: null` when empty,
 * annotation keys sorted); read as Go reads it (field names matched case-insensitively).
 */
import { isDigest, type Digest } from '../oci/index.js';
import { SignError } from './errors.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigning {
  readonly dockerReference: string;
  readonly digest: Digest;
  readonly type: string;
  /** The `optional` map (`-a key=value` annotations); values may be any JSON. */
  readonly optional: Readonly<Record<string, unknown>> | null;
}

export function simpleSigningPayload(input: { dockerReference: string; digest: Digest; annotations?: Readonly<Record<string, string>> }): Buffer {
  const keys = Object.keys(input.annotations ?? {}).sort();
  const optional = keys.length === 0 ? null : Object.fromEntries(keys.map((k) => [k, input.annotations![k]]));
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': input.dockerReference }, image: { 'docker-manifest-digest': input.digest }, type: COSIGN_SIGNATURE_TYPE },
      optional,
    }),
  );
}

export function parseSimpleSigning(bytes: Uint8Array): SimpleSigning {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new SignError('PAYLOAD_INVALID', 'the signed payload is not JSON', { cause: err });
  }
  const critical = field(doc, 'critical');
  const reference = field(field(critical, 'identity'), 'docker-reference');
  const digest = field(field(critical, 'image'), 'docker-manifest-digest');
  const type = field(critical, 'type');
  const optional = field(doc, 'optional');
  if (typeof reference !== 'string') throw new SignError('PAYLOAD_INVALID', 'the signed payload has no critical.identity.docker-reference');
  if (typeof digest !== 'string' || !isDigest(digest)) throw new SignError('PAYLOAD_INVALID', 'the signed payload has no valid critical.image.docker-manifest-digest');
  if (typeof type !== 'string') throw new SignError('PAYLOAD_INVALID', 'the signed payload has no critical.type');
  if (optional !== undefined && optional !== null && (typeof optional !== 'object' || Array.isArray(optional))) throw new SignError('PAYLOAD_INVALID', 'the signed payload has an optional field that is not an object');
  return { dockerReference: reference, digest: digest as Digest, type, optional: (optional as Record<string, unknown> | undefined) ?? null };
}

/** A member of a JSON object, its name matched as Go's encoding/json does (exact first, then case-insensitively). */
function field(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}
