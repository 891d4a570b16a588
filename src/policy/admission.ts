/**
 * The admission policy: which images may start in a cluster. A document (YAML read into values)
 * names the registries images may come from, a default for images no rule matches, and rules,
 * the first of which that matches an image (by glob) and its namespace (by name and labels)
 * decides, in one of three modes. Unknown keys are refused, and every refusal names the path of
 * the bad key. Keys given as file paths are left as paths: the caller reads them.
 */
import { z } from 'zod';
import { PolicyError } from './errors.js';
import { globOf } from './parse.js';
import { THRESHOLDS, type Threshold } from './model.js';

/** A public key as the policy gives it: inline PEM, or a file path (relative to the policy file). */
export type KeySpec = { readonly pem: string } | { readonly path: string };

export type AdmissionMode = 'enforce' | 'warn' | 'audit';

/** Kubernetes' label selector: every `matchLabels` pair, and every expression. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; readonly values?: readonly string[] }[];
}

export interface AdmissionRequirements {
  readonly signatures?: { readonly keys: readonly KeySpec[]; readonly minSignatures: number };
  readonly attestations?: readonly { readonly predicateType: string; readonly key: KeySpec }[];
  /** The image is named by digest. */
  readonly digestPinned?: boolean;
  /** The image is not named by the tag `latest` (nor without a tag, which means `latest`). */
  readonly noLatest?: boolean;
  /** No finding of any class at or above this in the registry's latest scan of the digest (approved waivers aside). */
  readonly maxSeverity?: Threshold;
  /** What an image without a scan result is, when `maxSeverity` asks: `deny` (the default) or `allow`. */
  readonly unscanned?: 'deny' | 'allow';
  /** The registry holds an SBOM of the digest. */
  readonly sbom?: boolean;
  /** The digest was promoted into this project of a Portcullis registry. */
  readonly promotedTo?: string;
}

export interface AdmissionRule {
  readonly name: string;
  /** Globs over `registry/repository` (`registry.example.com/prod/**`). */
  readonly images: readonly string[];
  readonly namespaces?: { readonly names?: readonly string[]; readonly selector?: LabelSelector };
  readonly mode: AdmissionMode;
  readonly require: AdmissionRequirements;
}

export interface AdmissionPolicy {
  /** Registries images may come from; undefined: any. */
  readonly allowedRegistries?: readonly string[];
  /** What happens to an image no rule matches. */
  readonly defaultAction: 'deny' | 'allow';
  readonly rules: readonly AdmissionRule[];
}

const PEM = /^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$/;
const keySpec = z
  .string()
  .min(1)
  .max(16_384)
  .transform((k): KeySpec => (PEM.test(k.trim()) ? { pem: k.trim() } : { path: k }))
  .refine((k) => 'pem' in k || (!k.path.includes('\0') && !k.path.startsWith('-----')), 'a key is a PEM public key or the path of a file holding one');

const glob = globOf(512);

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelSelector = z
  .object({
    matchLabels: z.record(z.string().regex(LABEL_KEY, 'not a label key'), z.string().max(63)).optional(),
    matchExpressions: z
      .array(
        z
          .object({ key: z.string().regex(LABEL_KEY, 'not a label key'), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string().max(63)).optional() })
          .strict()
          .refine((e) => (e.operator === 'In' || e.operator === 'NotIn' ? (e.values?.length ?? 0) > 0 : (e.values?.length ?? 0) === 0), { message: 'In and NotIn need values; Exists and DoesNotExist take none', path: ['values'] }),
      )
      .optional(),
  })
  .strict();

const REGISTRY = /^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:]+\])(:\d{1,5})?$/;

const schema = z
  .object({
    allowedRegistries: z.array(z.string().regex(REGISTRY, 'a registry host, with a port when it has one (registry.example.com, 127.0.0.1:5000)')).max(100).optional(),
    defaultAction: z.enum(['deny', 'allow']).default('deny'),
    rules: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits and . _ -, at most 63'),
            images: z.array(glob).min(1).max(100),
            namespaces: z
              .object({ names: z.array(glob).min(1).max(100).optional(), selector: labelSelector.optional() })
              .strict()
              .optional(),
            mode: z.enum(['enforce', 'warn', 'audit']).default('enforce'),
            require: z
              .object({
                signatures: z
                  .object({ keys: z.array(keySpec).min(1).max(32), minSignatures: z.number().int().min(1).default(1) })
                  .strict()
                  .refine((r) => r.minSignatures <= r.keys.length, { message: 'minSignatures is more than the keys listed', path: ['minSignatures'] })
                  .optional(),
                attestations: z
                  .array(z.object({ predicateType: z.string().min(1).max(512), key: keySpec }).strict())
                  .min(1)
                  .max(32)
                  .optional(),
                digestPinned: z.boolean().optional(),
                noLatest: z.boolean().optional(),
                maxSeverity: z.enum(THRESHOLDS).optional(),
                unscanned: z.enum(['deny', 'allow']).optional(),
                sbom: z.boolean().optional(),
                promotedTo: z.string().regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'a project name').optional(),
              })
              .strict()
              .default({}),
          })
          .strict(),
      )
      .max(500)
      .default([])
      .refine((rules) => new Set(rules.map((r) => r.name)).size === rules.length, 'rule names must be unique'),
  })
  .strict();

/** The admission policy a document states; PolicyError POLICY_INVALID naming the bad key's path otherwise. */
export function parseAdmissionPolicy(document: unknown): AdmissionPolicy {
  const r = schema.safeParse(document ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.') || '(the document)';
    throw new PolicyError('POLICY_INVALID', `${path}: ${issue.message}`, { detail: { path } });
  }
  return strip(r.data) as AdmissionPolicy;
}

/** Every key file a policy names (paths, to read), once each. */
export function keyPaths(policy: AdmissionPolicy): string[] {
  const out = new Set<string>();
  for (const r of policy.rules) {
    for (const k of r.require.signatures?.keys ?? []) if ('path' in k) out.add(k.path);
    for (const a of r.require.attestations ?? []) if ('path' in a.key) out.add(a.key.path);
  }
  return [...out];
}

/** zod leaves optional keys present with undefined; the policy has them absent (exactOptionalPropertyTypes). */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, strip(v)]])));
}
