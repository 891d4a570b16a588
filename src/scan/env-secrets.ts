/**
 * Secrets an image ships in its config's environment or history (`ENV DB_PASSWORD=…`), told from
 * placeholders and paths by name and by shape. Pure.
 */
import type { ImageConfig } from '../image/index.js';
import { assignments } from './dockerfile-syntax.js';
import { finding, RULES } from './misconfig-rules.js';
import type { ConfigFinding } from './model.js';

/** Names that say the value is a secret. */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?$|AUTH_?KEY/i;
/** A last name part that says the value is about the secret, not the secret (`TOKEN_TTL`, `PASSWORD_FILE`). */
const NOT_A_SECRET_SUFFIX = /(?:^|[_.-])(?:FILE|PATH|DIR|NAME|TTL|EXPIRY|EXPIRES|EXPIRATION|LENGTH|LEN|SIZE|TIMEOUT|ENDPOINT|URL|URI|HEADER|TYPE|ENABLED|REQUIRED|POLICY|VERSION|KEY_ID|ID_FILE)$/i;
const PLACEHOLDER = /^(?:|changeme|change[-_]?me|changeit|x{3,}|\*+|<[^>]*>|\{\{.*\}\}|none|null|nil|undefined|false|true|yes|no|dummy|example|sample|placeholder|secret|password|passwd|token|todo|tbd|redacted|unset|empty|your[-_].*|\.{3}|-|\d{1,6})$/i;

const TOKEN_SHAPES: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: 'a GitHub token', pattern: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}/ },
  { what: 'a GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/ },
  { what: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { what: 'an npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { what: 'a Stripe secret key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}/ },
  { what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { what: 'a private key', pattern: /-----BEGIN[A-Z ]* PRIVATE KEY-----/ },
  { what: 'a URL with a password', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@$]+:(?!(?:x{3,}|\*+|password|changeme|<[^>]*>)@)[^/\s@$]+@/i },
];

/** What kind of secret a name and value hold, or undefined. Never returns the value. */
export function secretKind(name: string, value: string): string | undefined {
  for (const shape of TOKEN_SHAPES) if (shape.pattern.test(value)) return shape.what;
  const v = value.trim().replace(/^(["'])(.*)\1$/, '$2');
  if (!SECRET_NAME.test(name) || NOT_A_SECRET_SUFFIX.test(name)) return undefined;
  // `$X`, `${X}`: filled in elsewhere; `/run/secrets/x`: a file reference.
  if (PLACEHOLDER.test(v) || v.includes('$') || v.startsWith('/')) return undefined;
  return 'a secret (by its name)';
}

function shapeIn(text: string): string | undefined {
  return TOKEN_SHAPES.find((s) => s.pattern.test(text))?.what;
}

export function imageSecrets(config: ImageConfig): ConfigFinding[] {
  const c = config.config ?? {};
  const messages: string[] = [];
  const env = new Map<string, string>();
  for (const entry of c.Env ?? []) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1);
    env.set(name, value);
    const kind = secretKind(name, value);
    if (kind !== undefined) messages.push(`ENV ${name} holds ${kind}; it ships in the image config`);
  }
  for (const [name, value] of Object.entries(c.Labels ?? {})) {
    const kind = secretKind(name, value);
    if (kind !== undefined) messages.push(`label ${name} holds ${kind}`);
  }
  // Build arguments and instructions as the builders record them in history: `|2 A=1 B=2 /bin/sh -c …`
  // (both builders), `ENV A=1` / `ARG A=1` (BuildKit), `/bin/sh -c #(nop)  ENV A=1` (the classic builder).
  const seen = new Map<string, number[]>();
  const note = (key: string, step: number): void => {
    const steps = seen.get(key);
    if (steps === undefined) seen.set(key, [step]);
    else if (!steps.includes(step)) steps.push(step);
  };
  (config.history ?? []).forEach((h, index) => {
    const step = index + 1;
    const line = h.created_by ?? '';
    const found: string[] = [];
    const args = /^(?:RUN\s+)?\|(\d+)\s+/.exec(line);
    if (args !== null) {
      const words = line.slice(args[0].length).split(/\s+/).slice(0, Number(args[1]));
      for (const word of words) {
        const eq = word.indexOf('=');
        if (eq <= 0) continue;
        const name = word.slice(0, eq);
        const value = word.slice(eq + 1);
        if (secretKind(name, value) !== undefined) {
          note(`build argument ${name}`, step);
          found.push(value);
        }
      }
    }
    const instruction = /^(?:\/bin\/sh -c #\(nop\)\s+)?(ENV|ARG|LABEL)\s+(.*)$/s.exec(line);
    if (instruction !== null) {
      const keyword = instruction[1]!;
      for (const [name, value = ''] of assignments(keyword, instruction[2]!, '\\')) {
        if (secretKind(name, value) === undefined) continue;
        found.push(value);
        // The config's own ENV is reported above; its history line is the same secret.
        if (keyword === 'ENV' && env.get(name) === value) continue;
        note(`${keyword} ${name}`, step);
      }
    }
    const rest = found.reduce((text, value) => (value === '' ? text : text.split(value).join(' ')), line);
    const shape = shapeIn(rest);
    if (shape !== undefined) note(`${shape}`, step);
  });
  for (const [what, steps] of seen) {
    const where = `${steps.length === 1 ? 'entry' : 'entries'} ${steps.join(', ')}`;
    messages.push(what.startsWith('a ') || what.startsWith('an ') ? `the image history (${where}) contains ${what}` : `${what} leaked into the image history (${where}) with a secret value`);
  }
  return messages.map((m) => finding(RULES.secret, m));
}
