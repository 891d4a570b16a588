export { PolicyError, type PolicyErrorCode } from './errors.js';
export { describeRule, directPushAllowed, evaluatePromotion, evaluatePull, gatesPulls, immutableRuleFor, isCosignTag, openFindings } from './evaluate.js';
export {
  EMPTY_POLICY,
  SEVERITIES,
  THRESHOLDS,
  type Decision,
  type Finding,
  type FindingClass,
  type Gate,
  type GateResult,
  type ImageFacts,
  type ImmutableTagRule,
  type PreventVulnerable,
  type ProjectPolicy,
  type PromotionGates,
  type Selector,
  type Severity,
  type SignatureRequirement,
  type Threshold,
} from './model.js';
export { parsePolicy } from './parse.js';
export { keyPaths, parseAdmissionPolicy, type AdmissionMode, type AdmissionPolicy, type AdmissionRequirements, type AdmissionRule, type KeySpec, type LabelSelector } from './admission.js';
export {
  describeVerdict,
  factReasons,
  factsNeeded,
  labelsMatter,
  matchAdmission,
  nameReasons,
  verdictOf,
  type AdmissionFacts,
  type AdmissionImage,
  type AdmissionMatch,
  type AdmissionNamespace,
  type AdmissionReason,
  type AdmissionReasonCode,
  type AdmissionVerdict,
  type SeverityCounts,
  type Unavailable,
} from './admission-evaluate.js';
