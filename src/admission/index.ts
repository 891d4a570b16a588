// --- Deploying the webhook: certificates and Kubernetes manifests (cert.ts, deploy.ts) ---
export {
  CA_VALIDITY_DAYS,
  SERVING_VALIDITY_DAYS,
  caBundleProblems,
  issueServingCertificates,
  parseCertificates,
  serviceDnsNames,
  serviceNameProblem,
  servingPairProblems,
  type IssuedCertificates,
  type ServingCertificateRequest,
  type ServingPair,
} from './cert.js';
export {
  ADMISSION_NAME,
  DEFAULT_IMAGE_REPOSITORY,
  DEFAULT_NAMESPACE,
  PLACEHOLDER_POLICY,
  TLS_SECRET,
  WEBHOOK_NODE_OPTIONS,
  admissionManifests,
  manifestOptionProblems,
  policyKeyPaths,
  renderManifests,
  type KubeObject,
  type Manifest,
  type ManifestOptions,
  type PolicyFile,
} from './deploy.js';
// --- end of deploying ---
// --- Serving: reviews, the policy file, facts from registries, the HTTPS server ---
export { AdmissionController, type ControllerDeps, type Decision } from './controller.js';
export { AdmissionError, type AdmissionErrorCode } from './errors.js';
export { DeadlineExceeded, FactSource, type CacheCounts, type FactSourceOptions, type KeyResolver, type ResolvedKey } from './facts.js';
export { AdmissionMetrics, type DecisionResult } from './metrics.js';
export { inClusterApi, KubeNamespaces, StaticNamespaces, type KubeApiOptions, type Labels, type NamespaceSource } from './namespaces.js';
export { loadPolicyFile, WatchedPolicy, type LoadedPolicy } from './policy-file.js';
export { ADMITTED_KINDS, imagesOf, parseReview, podSpecImages, podSpecPath, REVIEW_API_VERSION, reviewResponse, type ImageSite, type Operation, type ReviewAnswer, type ReviewRequest } from './review.js';
export { MAX_REVIEW_BYTES, startAdmissionServer, type AdmissionServerOptions, type RunningAdmissionServer } from './server.js';
