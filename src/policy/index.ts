export { PolicyError, type PolicyErrorCode } from './errors.js';
export { describeRule, directPushAllowed, evaluatePromotion, evaluatePull, gatesPulls, immutableRuleFor, isCosignTag } from './evaluate.js';
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
