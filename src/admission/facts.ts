/**
 * What admission learns of an image from its registry, within a deadline: the digest a tag names
 * (HEAD, remembered briefly: a tag may move), the keys its signatures and attestations verify
 * with (the one verifier of src/sign), and, from a Portcullis registry's management API, its open
 * findings, whether an SBOM is held, and the projects it was promoted into. Answers about a digest
 * are remembered for a while (a digest's content never changes; its signatures and scans may),
 * and concurrent reviews of one digest share one fetch. Nothing here throws for a registry's
 * failure: an unreachable fact is `unavailable` with the reason, and the rule that needs it fails.
 */
import type { KeyObject } from 'node:crypto';
import { ImageError, RegistrySource, type Credentials } from '../image/index.js';
import { isDigest, type Digest } from '../oci/index.js';
import type { AdmissionFacts, AdmissionImage, AdmissionRule, KeySpec, SeverityCounts } from '../policy/index.js';
import { factsNeeded } from '../policy/index.js';
import { attachedLayers, fetchAttestationEnvelope, fetchSignaturePayload, verifyAttestation, verifySignature, type AttachmentRegistry } from '../sign/index.js';
import { httpExchange, networkReason, readReply, replyOk, type HttpReply, type Logger } from '../shared/index.js';

export interface FactSourceOptions {
  /** Registry credentials (from a Docker config file). */
  readonly credentials: (registry: string) => Promise<Credentials | undefined>;
  /** Registries reached over plain HTTP. */
  readonly insecureRegistries: ReadonlySet<string>;
  /** How long a tag's digest is remembered. */
  readonly tagTtlMs: number;
  /** How long what is known of a digest is remembered. */
  readonly digestTtlMs: number;
  readonly now: () => number;
  readonly log: Logger;
  readonly userAgent: string;
  /** The longest one fetch may take, whoever waits for it (a review stops waiting at its own deadline). */
  readonly fetchTimeoutMs: number;
}

/** A review's deadline passed while it waited for a registry. */
export class DeadlineExceeded extends Error {
  constructor() {
    super('the review ran out of time waiting for the registry');
    this.name = 'DeadlineExceeded';
  }
}

/** `p`, or a DeadlineExceeded rejection when `signal` aborts first (the work goes on, and its answer is remembered). */
function until<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DeadlineExceeded());
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(new DeadlineExceeded());
    signal.addEventListener('abort', abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

/** Cache statistics, for /metrics. */
export interface CacheCounts {
  hits: number;
  misses: number;
}

interface Entry<T> {
  readonly value: Promise<T>;
  readonly until: number;
}

/** A small TTL cache that shares one computation between concurrent askers, and forgets failures. */
class Memo<T> {
  private readonly entries = new Map<string, Entry<T>>();
  constructor(
    private readonly max: number,
    private readonly counts: CacheCounts,
  ) {}

  get(key: string, now: number, ttl: number, compute: () => Promise<T>, keep: (v: T) => boolean = () => true): Promise<T> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.until > now) {
      this.counts.hits += 1;
      return hit.value;
    }
    this.counts.misses += 1;
    if (this.entries.size >= this.max) {
      // Drop the oldest tenth: insertion order is age order.
      let n = Math.ceil(this.max / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n === 0) break;
      }
    }
    const value = compute();
    const entry = { value, until: now + ttl };
    this.entries.set(key, entry);
    value.then(
      (v) => {
        // Without a TTL an entry only lets concurrent askers share the work in flight.
        if ((ttl <= 0 || !keep(v)) && this.entries.get(key) === entry) this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }
}

/** Keys by the policy's spec, loaded; the fingerprint names a key in cache keys. */
export interface ResolvedKey {
  readonly key: KeyObject;
  readonly fingerprint: string;
  /** How the policy names it, for messages (a path, or `an inline key`). */
  readonly label: string;
}

export type KeyResolver = (spec: KeySpec) => ResolvedKey;

type Unavailable = { readonly unavailable: string };
const unavailable = (why: string): Unavailable => ({ unavailable: why });
const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));
/** What is remembered: answers, not failures (the next review asks again). */
const available = (v: unknown): boolean => !(typeof v === 'object' && v !== null && 'unavailable' in v);

export class FactSource {
  readonly cache: CacheCounts = { hits: 0, misses: 0 };
  private readonly tags: Memo<{ digest: Digest } | Unavailable>;
  private readonly signatures: Memo<{ verified: boolean[]; found: number; notes: string[] } | Unavailable>;
  private readonly attestations: Memo<{ verified: boolean[]; notes: string[] } | Unavailable>;
  private readonly portcullis: Memo<PortcullisFacts | Unavailable>;
  /** One client per repository: its token is reused by every fetch (each with a deadline of its own). */
  private readonly sessions = new Map<string, RegistrySource>();

  constructor(private readonly o: FactSourceOptions) {
    this.tags = new Memo(10_000, this.cache);
    this.signatures = new Memo(10_000, this.cache);
    this.attestations = new Memo(10_000, this.cache);
    this.portcullis = new Memo(10_000, this.cache);
  }

  /**
   * The digest the image names (its own, or its tag's now); unavailable with why. DeadlineExceeded
   * when `signal` aborts first.
   */
  resolve(image: AdmissionImage, signal: AbortSignal): Promise<{ digest: Digest } | Unavailable> {
    if (image.digest !== undefined) return Promise.resolve({ digest: image.digest as Digest });
    const tag = image.tag ?? 'latest';
    // A failure is not remembered: the next review asks again (one fetch at a time per tag).
    const answer = this.tags.get(`${image.registry}/${image.repository}:${tag}`, this.o.now(), this.o.tagTtlMs, async () => {
      try {
        const named = await this.fetching(image, (source) => source.resolve(tag));
        if (!isDigest(named.digest)) return unavailable(`the registry named ${named.digest.slice(0, 80)} for the tag, not a digest`);
        return { digest: named.digest as Digest };
      } catch (err) {
        return unavailable(`the tag ${tag} could not be resolved: ${reason(err)}`);
      }
    }, available);
    return until(answer, signal);
  }

  /** What `rule` needs to know of `digest`. DeadlineExceeded when `signal` aborts first. */
  async facts(image: AdmissionImage, digest: Digest, rule: AdmissionRule, keyOf: KeyResolver, signal: AbortSignal): Promise<AdmissionFacts> {
    const need = factsNeeded(rule);
    const at = `${image.registry}/${image.repository}@${digest}`;
    const now = this.o.now();
    const ttl = this.o.digestTtlMs;
    const keep = available;
    const all = Promise.all([
      need.signatures
        ? (() => {
            const keys = rule.require.signatures!.keys.map(keyOf);
            return this.signatures.get(`${at}#${keys.map((k) => k.fingerprint).join(',')}`, now, ttl, () => this.fetching(image, (source) => this.verifySignatures(source, digest, keys)), keep);
          })()
        : undefined,
      need.attestations
        ? (() => {
            const wanted = rule.require.attestations!.map((a) => ({ predicateType: a.predicateType, key: keyOf(a.key) }));
            return this.attestations.get(`${at}#${wanted.map((w) => `${w.predicateType} ${w.key.fingerprint}`).join(',')}`, now, ttl, () => this.fetching(image, (source) => this.verifyAttestations(source, digest, wanted)), keep);
          })()
        : undefined,
      need.scan || need.sbom || need.promotion ? this.portcullis.get(at, now, ttl, () => this.fetching(image, (_source, signal) => this.portcullisFacts(image, digest, signal)), keep) : undefined,
    ]);
    const [signatures, attestations, portcullis] = await until(all, signal);
    const p = portcullis;
    const pick = <T>(f: (x: PortcullisFacts) => T): T | Unavailable => (p === undefined ? unavailable('not asked') : 'unavailable' in p ? p : f(p));
    return {
      digest,
      ...(signatures !== undefined ? { signatures } : {}),
      ...(attestations !== undefined ? { attestations } : {}),
      ...(need.scan ? { scan: pick((x) => (x.scan === null ? ('unscanned' as const) : x.scan)) } : {}),
      ...(need.sbom ? { sbom: pick((x) => x.sbom) } : {}),
      ...(need.promotion ? { promotedTo: pick((x) => x.promotedTo) } : {}),
    };
  }

  /**
   * Runs one fetch (a cache miss) with a client of its own, bounded by fetchTimeoutMs whoever waits
   * for it; the timer goes when the fetch ends.
   */
  private async fetching<T>(image: AdmissionImage, work: (source: RegistrySource, signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`no answer from ${image.registry} within ${this.o.fetchTimeoutMs} ms`)), this.o.fetchTimeoutMs);
    try {
      const key = `${image.registry}/${image.repository}`;
      let session = this.sessions.get(key);
      if (session === undefined) {
        session = new RegistrySource({ registry: image.registry, repository: image.repository, tag: 'latest' }, { insecure: this.o.insecureRegistries.has(image.registry), credentials: this.o.credentials, userAgent: this.o.userAgent });
        if (this.sessions.size >= 1000) this.sessions.clear();
        this.sessions.set(key, session);
      }
      return await work(session.withSignal(ac.signal), ac.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async verifySignatures(source: AttachmentRegistry, digest: Digest, keys: readonly ResolvedKey[]): Promise<{ verified: boolean[]; found: number; notes: string[] } | Unavailable> {
    let layers;
    try {
      layers = await attachedLayers(source, digest, 'sig');
    } catch (err) {
      return unavailable(`its signatures could not be listed: ${reason(err)}`);
    }
    const verified = keys.map(() => false);
    const notes = new Set<string>();
    for (const layer of layers) {
      if (verified.every(Boolean)) break;
      const payload = await fetchSignaturePayload(source, layer);
      if (!payload.ok) {
        notes.add(`${payload.code}: ${payload.message}`);
        continue;
      }
      keys.forEach((k, i) => {
        if (verified[i]) return;
        // Bound to the digest, as Cosign's verification is by default: any docker reference.
        const r = verifySignature(payload.value, layer, k.key, { digest, allowedReferences: 'any' });
        if (r.ok) verified[i] = true;
        else notes.add(`${r.code} with ${k.label}`);
      });
    }
    return { verified, found: layers.length, notes: [...notes] };
  }

  private async verifyAttestations(source: AttachmentRegistry, digest: Digest, wanted: readonly { predicateType: string; key: ResolvedKey }[]): Promise<{ verified: boolean[]; notes: string[] } | Unavailable> {
    let layers;
    try {
      layers = await attachedLayers(source, digest, 'att');
    } catch (err) {
      return unavailable(`its attestations could not be listed: ${reason(err)}`);
    }
    const verified = wanted.map(() => false);
    const notes: string[] = wanted.map(() => (layers.length === 0 ? 'it has no attestation' : ''));
    for (const layer of layers) {
      if (verified.every(Boolean)) break;
      const envelope = await fetchAttestationEnvelope(source, layer);
      wanted.forEach((w, i) => {
        if (verified[i]) return;
        if (!envelope.ok) {
          notes[i] = `${envelope.code}: ${envelope.message}`;
          return;
        }
        const r = verifyAttestation(envelope.value, layer, w.key.key, { digest, allowedReferences: 'any', predicateType: w.predicateType });
        if (r.ok) verified[i] = true;
        else if (notes[i] === '' || r.code !== 'PREDICATE_TYPE_MISMATCH') notes[i] = `${r.code}: ${r.message}`;
      });
    }
    return { verified, notes };
  }

  /** The image's facts from a Portcullis registry's management API. */
  private async portcullisFacts(image: AdmissionImage, digest: Digest, signal: AbortSignal): Promise<PortcullisFacts | Unavailable> {
    const slash = image.repository.indexOf('/');
    if (slash <= 0) return unavailable(`${image.registry}/${image.repository} is not a Portcullis repository (PROJECT/REPOSITORY)`);
    const project = image.repository.slice(0, slash);
    const repo = encodeURIComponent(image.repository.slice(slash + 1));
    const url = `${this.o.insecureRegistries.has(image.registry) ? 'http' : 'https'}://${image.registry}/api/v1/projects/${encodeURIComponent(project)}/repositories/${repo}/artifacts/${digest}/facts`;
    const creds = await this.o.credentials(image.registry).catch(() => undefined);
    let res: HttpReply;
    let text: string;
    try {
      res = await httpExchange(url, { signal, headers: { Accept: 'application/json', 'User-Agent': this.o.userAgent, ...(creds !== undefined ? { Authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {}) } });
      text = (await readReply(res, FACTS_LIMIT, () => new Error(`its answer is larger than ${FACTS_LIMIT} bytes`))).toString('utf8');
    } catch (err) {
      return unavailable(`${image.registry} cannot be reached: ${signal.aborted ? networkReason(signal.reason) : networkReason(err)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return unavailable(`${image.registry} is not a Portcullis registry (its management API answered ${res.statusCode} without JSON): scans, SBOMs and promotions cannot be checked`);
    }
    if (!replyOk(res)) {
      const message = (body as { errors?: { message?: string }[] }).errors?.[0]?.message;
      return unavailable(`${image.registry} answered ${res.statusCode}${typeof message === 'string' ? `: ${message.slice(0, 200)}` : ''}`);
    }
    return parsePortcullisFacts(body) ?? unavailable(`${image.registry} answered facts this webhook cannot read`);
  }
}

/** Finding ids kept of a facts answer (a registry sends at most 50): they name findings in a denial. */
const MAX_FINDING_IDS = 50;

/** A facts answer is a few hundred bytes; more is not a Portcullis registry's. */
const FACTS_LIMIT = 1024 * 1024;

interface PortcullisFacts {
  readonly scan: { readonly findings: SeverityCounts; readonly ids: readonly string[] } | null;
  readonly sbom: boolean;
  readonly promotedTo: readonly string[];
}

function parsePortcullisFacts(body: unknown): PortcullisFacts | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { scan?: unknown; sbom?: unknown; promotedTo?: unknown };
  if (typeof b.sbom !== 'boolean' || !Array.isArray(b.promotedTo) || !b.promotedTo.every((p) => typeof p === 'string')) return undefined;
  let scan: PortcullisFacts['scan'] = null;
  if (b.scan !== null && b.scan !== undefined) {
    const s = b.scan as { findings?: Record<string, unknown>; ids?: unknown };
    const f = s.findings ?? {};
    const n = (k: string): number => (typeof f[k] === 'number' && Number.isFinite(f[k]) ? (f[k] as number) : NaN);
    const findings = { critical: n('critical'), high: n('high'), medium: n('medium'), low: n('low'), unknown: n('unknown') };
    if (Object.values(findings).some((x) => Number.isNaN(x))) return undefined;
    scan = { findings, ids: Array.isArray(s.ids) ? s.ids.filter((x): x is string => typeof x === 'string').slice(0, MAX_FINDING_IDS) : [] };
  }
  return { scan, sbom: b.sbom, promotedTo: b.promotedTo as string[] };
}

/** An ImageError from a registry, in words (for logs). */
export function registryFailure(err: unknown): string {
  return err instanceof ImageError ? `${err.code}: ${err.message}` : reason(err);
}
