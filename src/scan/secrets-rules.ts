/**
 * The built-in secret rules. Ids, categories, titles and severities follow Trivy's built-in rules
 * (pkg/fanal/secret/builtin-rules.go) where Trivy has the rule; the regexes are our own. Pure data
 * plus the small checks the rules use.
 */
import type { Severity } from './model.js';

export interface SecretRule {
  readonly id: string;
  readonly category: string;
  readonly title: string;
  readonly severity: Severity;
  /**
   * The rule runs only on lines holding one of these (the prefilter). Case-insensitive unless
   * `caseSensitiveKeywords`; a rule without keywords runs on every line.
   */
  readonly keywords: readonly string[];
  readonly caseSensitiveKeywords?: boolean;
  /** Matched against one line (or, for `multiline` rules, the text from that line on); flags other than `i` are ignored. The named group `secret`, when present, is the secret; otherwise the whole match is. */
  readonly regex: RegExp;
  /** The regex may span lines: it runs from the keyword's line over at most 64 KiB. */
  readonly multiline?: boolean;
  /** Minimum Shannon entropy of the secret, in bits per character. */
  readonly minEntropy?: number;
  /** Further test of the secret; false rejects the match. */
  readonly check?: (secret: string) => boolean;
  /** Reported only where no other rule found a secret overlapping this one (the generic rule). */
  readonly fallback?: boolean;
}

/** Shannon entropy of `s` in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Things people write where a secret would go: `${VAR}`, `<token>`, `xxxxx`, `changeme`, `abcdefgh`, `12345678`. */
const PLACEHOLDER = /x{5,}|\*{3,}|\.{3}|\$\{|\{\{|<[^>]*>|%\(|\$\(|^\$|example|changeme|change_me|placeholder|redacted|your[_-]|dummy|sample|fake|insert|replace/i;

/** True for values that are obviously not a real secret. Applied to every rule's secret. */
export function isPlaceholder(secret: string): boolean {
  if (PLACEHOLDER.test(secret)) return true;
  // Runs of consecutive characters (abcdef..., 0123456...) are typed, not generated.
  let run = 1;
  for (let i = 1; i < secret.length; i++) {
    run = secret.charCodeAt(i) === secret.charCodeAt(i - 1) + 1 ? run + 1 : 1;
    if (run >= 6) return true;
  }
  return false;
}

/** A generic value must look generated: a letter and a digit, no URL or path, and enough entropy. */
function looksGenerated(value: string): boolean {
  if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) return false;
  if (value.includes('://') || /^(?:\/|\.{1,2}\/|~\/)/.test(value)) return false;
  // Dotted or snake_case identifiers (module.attr_name2, oauth2_access_token) are code, not secrets.
  if (/^[A-Za-z_][A-Za-z0-9_]*(?:[.:][A-Za-z_][A-Za-z0-9_]*)+$/.test(value) || /^[a-z0-9]+(?:_[a-z0-9]+){2,}$/.test(value)) return false;
  return true;
}

/** A private key's body: a run of base64 (which a `...` placeholder body lacks). */
const hasKeyBody = (body: string): boolean => /[A-Za-z0-9+/]{32}/.test(body);

const NOT_ALNUM_BEFORE = '(?<![A-Za-z0-9])';
const NOT_ALNUM_AFTER = '(?![A-Za-z0-9])';
const token = (body: string): RegExp => new RegExp(`${NOT_ALNUM_BEFORE}(?<secret>${body})${NOT_ALNUM_AFTER}`);

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'aws-access-key-id',
    category: 'AWS',
    title: 'AWS Access Key ID',
    severity: 'CRITICAL',
    keywords: ['AKIA', 'AGPA', 'AIDA', 'AROA', 'AIPA', 'ANPA', 'ANVA', 'ASIA'], // A3T ids are matched on these lines only, like Trivy
    caseSensitiveKeywords: true,
    regex: token('(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}'),
    minEntropy: 3,
  },
  {
    id: 'aws-secret-access-key',
    category: 'AWS',
    title: 'AWS Secret Access Key',
    severity: 'CRITICAL',
    keywords: ['aws'],
    // aws_secret_access_key, AWS_SECRET_KEY, awsSecretAccessKey, "aws_secret_access_key": "..."
    regex: /aws_?(?:sec(?:ret)?)?_?(?:access)?_?key["']?\s{0,8}(?::=|=>|=|:)?\s{0,8}["']?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/i,
    minEntropy: 4,
  },
  {
    id: 'github-pat',
    category: 'GitHub',
    title: 'GitHub Personal Access Token',
    severity: 'CRITICAL',
    keywords: ['ghp_'],
    caseSensitiveKeywords: true,
    regex: token('ghp_[0-9A-Za-z]{36}'),
    minEntropy: 3.5,
  },
  {
    id: 'github-oauth',
    category: 'GitHub',
    title: 'GitHub OAuth Access Token',
    severity: 'CRITICAL',
    keywords: ['gho_'],
    caseSensitiveKeywords: true,
    regex: token('gho_[0-9A-Za-z]{36}'),
    minEntropy: 3.5,
  },
  {
    id: 'github-app-token',
    category: 'GitHub',
    title: 'GitHub App Token',
    severity: 'CRITICAL',
    keywords: ['ghu_', 'ghs_'],
    caseSensitiveKeywords: true,
    regex: token('gh[us]_[0-9A-Za-z]{36}'),
    minEntropy: 3.5,
  },
  {
    id: 'github-refresh-token',
    category: 'GitHub',
    title: 'GitHub Refresh Token',
    severity: 'CRITICAL',
    keywords: ['ghr_'],
    caseSensitiveKeywords: true,
    regex: token('ghr_[0-9A-Za-z]{76}'),
    minEntropy: 3.5,
  },
  {
    id: 'github-fine-grained-pat',
    category: 'GitHub',
    title: 'GitHub Fine-grained personal access tokens',
    severity: 'CRITICAL',
    keywords: ['github_pat_'],
    caseSensitiveKeywords: true,
    regex: token('github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}'),
    minEntropy: 3.5,
  },
  {
    id: 'gitlab-pat',
    category: 'GitLab',
    title: 'GitLab Personal Access Token',
    severity: 'CRITICAL',
    keywords: ['glpat-'],
    caseSensitiveKeywords: true,
    regex: /(?<![A-Za-z0-9])(?<secret>glpat-[0-9A-Za-z_-]{20,64})(?![A-Za-z0-9_-])/,
    minEntropy: 3,
  },
  {
    id: 'hugging-face-access-token',
    category: 'HuggingFace',
    title: 'Hugging Face Access Token',
    severity: 'CRITICAL',
    keywords: ['hf_'],
    caseSensitiveKeywords: true,
    regex: token('hf_[A-Za-z0-9]{34,40}'),
    minEntropy: 3.5,
  },
  {
    id: 'private-key',
    category: 'AsymmetricPrivateKey',
    title: 'Asymmetric Private Key',
    severity: 'HIGH',
    keywords: ['PRIVATE KEY'],
    caseSensitiveKeywords: true,
    // RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8 and PGP blocks; a PUBLIC KEY or CERTIFICATE never matches.
    regex: /-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(?<secret>[\s\S]{32,65536}?)-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----/,
    multiline: true,
    check: hasKeyBody,
  },
  {
    id: 'slack-access-token',
    category: 'Slack',
    title: 'Slack token',
    severity: 'HIGH',
    keywords: ['xoxb-', 'xoxa-', 'xoxp-', 'xoxr-', 'xoxs-'],
    caseSensitiveKeywords: true,
    regex: /(?<![A-Za-z0-9])(?<secret>xox[baprs]-[0-9]{1,20}-[0-9A-Za-z-]{10,250})(?![0-9A-Za-z-])/,
    minEntropy: 3,
  },
  {
    id: 'slack-web-hook',
    category: 'Slack',
    title: 'Slack Webhook',
    severity: 'MEDIUM',
    keywords: ['hooks.slack.com'],
    caseSensitiveKeywords: true,
    regex: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/(?<secret>T[A-Z0-9]{6,12}\/[AB][A-Z0-9]{6,12}\/[A-Za-z0-9]{20,40})(?![A-Za-z0-9])/,
    minEntropy: 3,
  },
  {
    id: 'stripe-secret-token',
    category: 'Stripe',
    title: 'Stripe Secret Key',
    severity: 'CRITICAL',
    keywords: ['sk_live_', 'sk_test_'],
    caseSensitiveKeywords: true,
    regex: token('sk_(?:live|test)_[0-9A-Za-z]{10,99}'),
    minEntropy: 3,
  },
  {
    id: 'stripe-publishable-token',
    category: 'Stripe',
    title: 'Stripe Publishable Key',
    severity: 'LOW',
    keywords: ['pk_live_', 'pk_test_'],
    caseSensitiveKeywords: true,
    regex: token('pk_(?:live|test)_[0-9A-Za-z]{10,99}'),
    minEntropy: 3,
  },
  {
    id: 'gcp-api-key',
    category: 'Google',
    title: 'Google API Key',
    severity: 'HIGH',
    keywords: ['AIza'],
    caseSensitiveKeywords: true,
    regex: /(?<![A-Za-z0-9_-])(?<secret>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])/,
    minEntropy: 3.5,
  },
  {
    id: 'gcp-service-account',
    category: 'Google',
    title: 'Google (GCP) Service-account',
    severity: 'CRITICAL',
    keywords: ['service_account'],
    caseSensitiveKeywords: true,
    regex: /"type"\s*:\s*"(?<secret>service_account)"/,
  },
  {
    id: 'npm-access-token',
    category: 'Npm',
    title: 'npm access token',
    severity: 'CRITICAL',
    keywords: ['npm_'],
    caseSensitiveKeywords: true,
    regex: /(?<![A-Za-z0-9_])(?<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])/,
    minEntropy: 3.5,
  },
  {
    id: 'pypi-upload-token',
    category: 'PyPI',
    title: 'PyPI upload token',
    severity: 'HIGH',
    // "pypi-" then the base64 of the macaroon's location, pypi.org.
    keywords: ['pypi-AgEIcHlwaS5vcmc'],
    caseSensitiveKeywords: true,
    regex: /(?<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000})/,
    minEntropy: 3.5,
  },
  {
    id: 'jwt-token',
    category: 'JWT',
    title: 'JWT token',
    severity: 'MEDIUM',
    keywords: ['.eyJ'],
    caseSensitiveKeywords: true,
    // header.payload.signature, the first two base64url JSON objects ({" encodes as eyJ).
    regex: /(?<![A-Za-z0-9_-])(?<secret>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})(?![A-Za-z0-9_-])/,
    minEntropy: 3.5,
  },
  {
    id: 'generic-secret',
    category: 'Generic',
    title: 'High-entropy value assigned to a secret-like key',
    severity: 'MEDIUM',
    keywords: ['password', 'passwd', 'secret', 'token', 'apikey', 'api_key', 'api-key', 'access_key', 'accesskey', 'access-key', 'private_key', 'privatekey', 'credential'],
    // key = value, key: value, "key": "value", KEY=value, key => 'value', key := "value"
    regex:
      /(?:passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)[A-Za-z0-9_.-]{0,40}["']?\]?[ \t]{0,8}(?::=|=>|=|:)[ \t]{0,8}(["']?)(?<secret>[\w+/=.~!@#$%^&*?:|\\-]{16,256})\1(?=[\s,;)}\]]|$)/i,
    minEntropy: 3.5,
    check: looksGenerated,
    fallback: true,
  },
];
