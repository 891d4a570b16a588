/**
 * The admission policy as a file: read, validated, its key files read and loaded, and watched.
 * A file that changes is read again; one that does not validate (or names a key that does not
 * load) is refused with the reason, and the policy in force stays as it was.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { keyPaths, parseAdmissionPolicy, PolicyError, type AdmissionPolicy, type KeySpec } from '../policy/index.js';
import type { Logger } from '../shared/index.js';
import { loadPublicKey, publicKeyPem } from '../sign/index.js';
import { AdmissionError } from './errors.js';
import type { KeyResolver, ResolvedKey } from './facts.js';

export interface LoadedPolicy {
  readonly policy: AdmissionPolicy;
  readonly keyOf: KeyResolver;
  /** SHA-256 of the policy file and its key files: what changed is read again. */
  readonly version: string;
  readonly path: string;
}

/** Reads and validates a policy file; AdmissionError POLICY_INVALID naming the file (and the bad key's path). */
export function loadPolicyFile(path: string): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AdmissionError('POLICY_INVALID', `cannot read the policy ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AdmissionError('POLICY_INVALID', `${path} is not YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  let policy: AdmissionPolicy;
  try {
    policy = parseAdmissionPolicy(doc);
  } catch (err) {
    if (err instanceof PolicyError) throw new AdmissionError('POLICY_INVALID', `${path}: ${err.message}`, { cause: err });
    throw err;
  }
  const hash = createHash('sha256').update(text);
  const byPath = new Map<string, ResolvedKey>();
  for (const p of keyPaths(policy)) {
    const file = isAbsolute(p) ? p : resolve(dirname(path), p);
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AdmissionError('POLICY_INVALID', `${path}: the key file ${p} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    hash.update('\0').update(p).update('\0').update(pem);
    byPath.set(p, resolvedKey(pem, p, path));
  }
  // Inline keys are checked now too: a key that does not load is the policy's fault, not an image's.
  const inline = new Map<string, ResolvedKey>();
  for (const r of policy.rules) {
    const specs: KeySpec[] = [...(r.require.signatures?.keys ?? []), ...(r.require.attestations ?? []).map((a) => a.key)];
    for (const k of specs) if ('pem' in k && !inline.has(k.pem)) inline.set(k.pem, resolvedKey(k.pem, 'an inline key', path));
  }
  const keyOf: KeyResolver = (spec) => ('pem' in spec ? inline.get(spec.pem)! : byPath.get(spec.path)!);
  return { policy, keyOf, version: hash.digest('hex'), path };
}

function resolvedKey(pem: string, label: string, policyPath: string): ResolvedKey {
  try {
    const key = loadPublicKey(pem, label);
    return { key, label, fingerprint: createHash('sha256').update(publicKeyPem(key)).digest('hex').slice(0, 16) };
  } catch (err) {
    throw new AdmissionError('POLICY_INVALID', `${policyPath}: ${label} is not a public key: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The policy in force, read again when its file (or a key file it names) changes: polled, as a
 * Kubernetes ConfigMap volume swaps a symbolic link rather than writing the file.
 */
export class WatchedPolicy {
  private loaded: LoadedPolicy;
  private timer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly onChange: (p: LoadedPolicy) => void = () => undefined,
  ) {
    this.loaded = loadPolicyFile(path);
  }

  current(): LoadedPolicy {
    return this.loaded;
  }

  /** Checks the file every `intervalMs`. */
  watch(intervalMs = 2000): void {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  /** Reads the file again now; true when a new policy is in force. */
  check(): boolean {
    let next: LoadedPolicy;
    try {
      next = loadPolicyFile(this.path);
    } catch (err) {
      const message = (err as Error).message;
      // Said once per distinct problem, not every poll.
      if (message !== this.lastError) this.log.error({ err: message, policy: this.path }, 'the admission policy was not reloaded: the one in force stays');
      this.lastError = message;
      return false;
    }
    this.lastError = undefined;
    if (next.version === this.loaded.version) return false;
    this.loaded = next;
    this.log.info({ policy: this.path, version: next.version.slice(0, 12), rules: next.policy.rules.length }, 'admission policy reloaded');
    this.onChange(next);
    return true;
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
