export { SignError, type SignErrorCode } from './errors.js';
export { pemBlocks, toPem, type PemBlock } from './pem.js';
export {
  algorithmOf,
  COSIGN_SCRYPT,
  encryptPrivateKey,
  ENCRYPTED_COSIGN_KEY,
  ENCRYPTED_SIGSTORE_KEY,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyPem,
  type KeyAlgorithm,
  type ScryptParams,
} from './keys.js';
export { signBytes, verifyBytes } from './signature.js';
export { COSIGN_SIGNATURE_TYPE, parseSimpleSigning, SIMPLE_SIGNING_MEDIA_TYPE, simpleSigningPayload, type SimpleSigning } from './simple-signing.js';
export {
  DSSE_MEDIA_TYPE,
  envelopePayload,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V01,
  IN_TOTO_STATEMENT_V1,
  inTotoStatement,
  pae,
  parseEnvelope,
  parseStatement,
  PREDICATE_TYPES,
  predicateTypeOf,
  signEnvelope,
  verifyEnvelope,
  type DsseEnvelope,
  type DsseSignature,
  type Statement,
  type StatementSubject,
} from './dsse.js';
export {
  ATTESTATION_ARTIFACT_TYPE,
  attachmentLayers,
  attachmentTag,
  layerKey,
  PREDICATE_TYPE_ANNOTATION,
  referrerManifest,
  SIGNATURE_ANNOTATION,
  SIGNATURE_ARTIFACT_TYPE,
  tagManifest,
  type AttachmentKind,
  type BuiltManifest,
} from './layout.js';
export {
  attach,
  attachedLayers,
  attestImage,
  fetchAndVerifyAttestation,
  fetchAndVerifySignature,
  fetchAttestationEnvelope,
  fetchSignaturePayload,
  signImage,
  type AttachmentRegistry,
} from './remote.js';
export {
  MAX_ENVELOPE,
  MAX_PAYLOAD,
  VERIFY_CODES,
  verifyAttestation,
  verifySignature,
  type AttestationPolicy,
  type SignaturePolicy,
  type VerifiedAttestation,
  type VerifyCode,
  type VerifyFailure,
  type VerifyResult,
} from './verify.js';
