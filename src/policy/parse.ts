/**
 * A policy document (JSON, or YAML read into the same values) to a ProjectPolicy. Unknown keys are
 * refused, and every refusal names the path of the bad key (`promotion.requireScan.maxAge`).
 */
import picomatch from 'picomatch';
import { z } from 'zod';
import { parseDuration } from '../shared/index.js';
import { PolicyError } from './errors.js';
import { THRESHOLDS, type ProjectPolicy, type Selector, type SignatureRequirement } from './model.js';

/** A picomatch glob of at most `max` characters (an image's glob names a registry too). */
export const globOf = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((g) => {
      try {
        picomatch.makeRe(g);
        return true;
      } catch {
        return false;
      }
    }, 'not a valid glob');

const glob = globOf(256);

/** A glob is `matching` when written bare. */
const selector = z.union([glob.transform((g): Selector => ({ matching: g })), z.object({ matching: glob }).strict(), z.object({ excluding: glob }).strict()]);

const KEY = /^(project|project:[a-z0-9][a-z0-9._-]{0,62}|trusted:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;
const keySpec = z
  .string()
  .max(16_384)
  .refine((k) => KEY.test(k) || /^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$/.test(k.trim()), 'a key is "project", "project:NAME", "trusted:NAME" or a PEM public key');

const signatures = z
  .object({ keys: z.array(keySpec).min(1).max(32), minSignatures: z.number().int().min(1).default(1) })
  .strict()
  .refine((r) => r.minSignatures <= new Set(r.keys).size, { message: 'minSignatures is more than the keys listed', path: ['minSignatures'] })
  .transform((r): SignatureRequirement => ({ keys: [...new Set(r.keys)], minSignatures: r.minSignatures }));

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a duration: use e.g. 24h, 7d` });
    return z.NEVER;
  }
  return ms;
});

const threshold = z.enum(THRESHOLDS);

const schema = z
  .object({
    immutableTags: z
      .array(z.object({ repositories: selector, tags: selector }).strict())
      .max(100)
      .default([]),
    preventVulnerable: z
      .object({ severity: threshold, unscanned: z.enum(['allow', 'deny']).default('allow'), fixableOnly: z.boolean().default(false), denyKnownExploited: z.boolean().optional() })
      .strict()
      .optional(),
    requireSignature: signatures.optional(),
    promotion: z
      .object({
        requireScan: z
          .object({ maxAge: duration })
          .strict()
          .transform((r) => ({ maxAgeMs: r.maxAge }))
          .optional(),
        maxSeverity: threshold.optional(),
        denyMisconfigurations: z.array(z.string().min(1).max(64)).max(100).optional(),
        denySecrets: z.boolean().optional(),
        denyKnownExploited: z.boolean().optional(),
        requireSignature: signatures.optional(),
        requireSbom: z.boolean().optional(),
        allowDirectPush: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The policy a document states; PolicyError POLICY_INVALID naming the bad key's path otherwise. */
export function parsePolicy(document: unknown): ProjectPolicy {
  const r = schema.safeParse(document);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.') || '(the document)';
    throw new PolicyError('POLICY_INVALID', `${path}: ${issue.message}`, { detail: { path } });
  }
  return stripUndefined(r.data) as ProjectPolicy;
}

/** zod leaves optional keys present with undefined; the policy has them absent (exactOptionalPropertyTypes). */
function stripUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, stripUndefined(v)]])));
}
