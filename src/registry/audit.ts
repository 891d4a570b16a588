/**
 * The audit log: every event appended as a link of a hash chain (docs/audit.md defines the hash,
 * so that any tool can check it). Appends are grouped: events arriving while a transaction is in
 * flight go together in the next one, so a burst costs one round of locking, not one per event.
 * Checking the chain (ChainVerifier, ExportVerifier) is pure and synchronous; AuditLog feeds it
 * pages from the store, the CLI lines of an export file.
 */
import * as crypto from 'node:crypto';
import type { Logger } from '../shared/index.js';
import type { AuditFilter, AuditRecord, MetadataStore } from '../storage/index.js';
import { EVENT_ACTIONS, type TimedEvent } from './events.js';

/** The hash the first entry carries as its predecessor's. */
export const GENESIS_HASH = '0'.repeat(64);

/** What the log records: every event, and its own retention cuts. */
export const AUDIT_ACTIONS = [...EVENT_ACTIONS, 'audit.prune'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** An entry as a link of the chain, before its hash is known: `detail` is canonical JSON text (or null). */
export type AuditLink = Omit<AuditRecord, 'hash'>;

/** Where the chain starts when retention cut it: the last deleted entry's seq and hash. */
export interface ChainStart {
  readonly seq: number;
  readonly hash: string;
}

// ---------------------------------------------------------------- the hash (pure)

/**
 * JSON with object members sorted by key (UTF-16 code units, as RFC 8785) and no whitespace;
 * strings and numbers as JSON.stringify writes them. `value` must be plain JSON data.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const o = value as Record<string, unknown>;
  const members: string[] = [];
  for (const k of Object.keys(o).sort()) if (o[k] !== undefined) members.push(`${JSON.stringify(k)}:${canonicalJson(o[k])}`);
  return `{${members.join(',')}}`;
}

/**
 * What is hashed: the canonical JSON of [seq, at, actor, client, action, project, resource,
 * outcome, detail, prevHash]. Built by hand (the detail is already canonical text): this is the
 * hot loop of checking a million entries, and a string with nothing to escape (nearly all) is
 * quoted without JSON.stringify, in half the time.
 */
export function hashInput(l: AuditLink): string {
  return `[${num(l.seq)},${num(l.at)},${str(l.actor)},${str(l.client)},${str(l.action)},${str(l.project)},${str(l.resource)},${str(l.outcome)},${l.detail ?? 'null'},${str(l.prevHash)}]`;
}

const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
const str = (v: string | null): string => (v === null ? 'null' : PLAIN.test(v) ? `"${v}"` : JSON.stringify(v));
// A finite number's template string is its JSON (-0 included); JSON writes the others as null.
const num = (n: number): string => (Number.isFinite(n) ? `${n}` : 'null');

// crypto.hash (Node 20.12+, 21.7+) hashes a string in one call, a third faster than createHash.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256 = oneShot !== undefined ? (s: string) => oneShot('sha256', s, 'hex') : (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** The entry's hash: SHA-256 (lowercase hex) of the UTF-8 bytes of hashInput. */
export function auditHash(link: AuditLink): string {
  return sha256(hashInput(link));
}

/** A detail object as the log keeps it: canonical JSON of its JSON form; null for none or an empty one. */
export function detailText(detail: Readonly<Record<string, unknown>> | undefined | null): string | null {
  if (detail === undefined || detail === null) return null;
  let plain: unknown;
  try {
    plain = JSON.parse(JSON.stringify(detail)) as unknown;
  } catch {
    // A cycle or a bigint: the entry is kept, saying why its facts are not.
    return canonicalJson({ unserializable: true });
  }
  return plain !== null && typeof plain === 'object' && Object.keys(plain).length > 0 ? canonicalJson(plain) : null;
}

// ---------------------------------------------------------------- checking the chain (pure)

/**
 * Why the chain is broken at an entry: entries before it are missing (a gap in the sequence, or
 * the first entry does not follow the start); entries out of order (an export only); its link does
 * not name the hash of the entry before (that entry, or this link, was changed); it was altered
 * (its hash is not the hash of its content); or a line of an export is not an entry.
 */
export type ChainBreakReason = 'missing-entries' | 'out-of-order' | 'broken-link' | 'altered' | 'malformed';

export interface ChainBreak {
  readonly seq: number;
  readonly reason: ChainBreakReason;
  readonly message: string;
}

export interface ChainVerification {
  readonly ok: boolean;
  /** Entries read. */
  readonly entries: number;
  readonly firstBroken?: ChainBreak;
  /** Where the chain started: the checkpoint of the last retention cut, if any. */
  readonly checkpoint?: ChainStart;
  /** The newest entry: keep its hash elsewhere to detect a later truncation of the tail. */
  readonly last?: ChainStart;
}

/** Checks links fed in sequence order. Synchronous and allocation-light: one hash per entry. */
export class ChainVerifier {
  private expectedSeq: number;
  private expectedPrev: string;
  private count = 0;
  private broken: ChainBreak | undefined;
  private last: ChainStart | undefined;

  constructor(private readonly start: ChainStart | undefined) {
    this.expectedSeq = (start?.seq ?? 0) + 1;
    this.expectedPrev = start?.hash ?? GENESIS_HASH;
  }

  add(r: AuditRecord): void {
    this.count++;
    if (this.broken === undefined) this.broken = this.check(r);
    this.expectedSeq = r.seq + 1;
    this.expectedPrev = r.hash;
    this.last = r;
  }

  /** A line that is no entry: the chain cannot be followed past it. */
  malformed(message: string): void {
    this.broken ??= { seq: this.expectedSeq, reason: 'malformed', message };
  }

  get firstBroken(): ChainBreak | undefined {
    return this.broken;
  }

  result(): ChainVerification {
    return {
      ok: this.broken === undefined,
      entries: this.count,
      ...(this.broken !== undefined ? { firstBroken: this.broken } : {}),
      ...(this.start !== undefined ? { checkpoint: { seq: this.start.seq, hash: this.start.hash } } : {}),
      ...(this.last !== undefined ? { last: { seq: this.last.seq, hash: this.last.hash } } : {}),
    };
  }

  private check(r: AuditRecord): ChainBreak | undefined {
    const want = this.expectedSeq;
    if (r.seq > want) {
      const what = r.seq - want === 1 ? `entry ${want} is missing` : `entries ${want} to ${r.seq - 1} are missing`;
      const where = this.count === 1 ? (this.start === undefined ? ' (the chain starts at 1, and no checkpoint records a cut)' : ` (the chain starts after the checkpoint at ${this.start.seq})`) : '';
      return { seq: r.seq, reason: 'missing-entries', message: `${what} before entry ${r.seq}${where}` };
    }
    if (r.seq < want) return { seq: r.seq, reason: 'out-of-order', message: `entry ${r.seq} comes where entry ${want} should` };
    if (r.prevHash !== this.expectedPrev) {
      const before = r.seq === 1 ? 'the genesis hash (64 zeros)' : this.count === 1 ? `the checkpoint's hash (entry ${r.seq - 1})` : `the hash of entry ${r.seq - 1}`;
      return { seq: r.seq, reason: 'broken-link', message: `entry ${r.seq} does not carry ${before}: the entry before it, or this link, was changed` };
    }
    if (auditHash(r) !== r.hash) return { seq: r.seq, reason: 'altered', message: `entry ${r.seq} was altered: its content does not hash to its hash` };
    return undefined;
  }
}

/**
 * Checks an export (JSON lines, as GET /api/v1/audit/export and `portcullis audit export` write
 * them): an optional first line `{"checkpoint":{"seq","hash"}}`, then one entry per line. Lines are
 * fed one at a time, so a file of any size is checked in flat memory.
 */
export class ExportVerifier {
  private chain: ChainVerifier | undefined;
  private line = 0;

  /** Feeds one line (without its newline); blank lines are skipped. */
  add(text: string): void {
    this.line++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      return this.chainOf().malformed(`line ${this.line} is not JSON`);
    }
    if (this.chain === undefined && isObject(value) && 'checkpoint' in value) {
      const cp = value['checkpoint'];
      if (isObject(cp) && isSeq(cp['seq']) && isHash(cp['hash'])) {
        this.chain = new ChainVerifier({ seq: cp['seq'], hash: cp['hash'] });
        return;
      }
      return this.chainOf().malformed(`line ${this.line}: the checkpoint has no valid seq and hash`);
    }
    const record = recordOf(value);
    if (typeof record === 'string') return this.chainOf().malformed(`line ${this.line}: ${record}`);
    this.chainOf().add(record);
  }

  result(): ChainVerification {
    return this.chainOf().result();
  }

  /** The chain, from the genesis unless the first line named a checkpoint. */
  private chainOf(): ChainVerifier {
    this.chain ??= new ChainVerifier(undefined);
    return this.chain;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isText = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** An exported entry as a record (its detail made canonical text again), or what is wrong with it. */
function recordOf(v: unknown): AuditRecord | string {
  if (!isObject(v)) return 'not an entry object';
  const { seq, at, actor, client, action, project, resource, outcome, detail, prevHash, hash } = v;
  if (!isSeq(seq) || seq === 0) return 'seq is not a positive integer';
  if (!Number.isSafeInteger(at)) return `entry ${seq}: at is not an integer (milliseconds)`;
  if (!isText(actor) || !isText(client) || !isText(project)) return `entry ${seq}: actor, client and project must be strings or null`;
  if (typeof action !== 'string' || typeof resource !== 'string' || typeof outcome !== 'string') return `entry ${seq}: action, resource and outcome must be strings`;
  if (detail !== null && !isObject(detail)) return `entry ${seq}: detail must be an object or null`;
  if (!isHash(prevHash) || !isHash(hash)) return `entry ${seq}: prevHash and hash must be 64 lowercase hex digits`;
  return { seq, at: at as number, actor, client, action, project, resource, outcome, detail: detail === null ? null : canonicalJson(detail), prevHash, hash };
}

// ---------------------------------------------------------------- presenting entries

/** An entry as the API and exports show it: `at` in milliseconds (what is hashed), `time` for people, `detail` parsed. */
export type AuditEntryJson = Omit<AuditRecord, 'detail'> & {
  /** RFC 3339 (UTC) of `at`; null for a time no date can show (a row edited out of range). */
  readonly time: string | null;
  readonly detail: Record<string, unknown> | null;
};

export function toEntryJson(r: AuditRecord): AuditEntryJson {
  return {
    seq: r.seq,
    at: r.at,
    time: isoTime(r.at),
    actor: r.actor,
    client: r.client,
    action: r.action,
    project: r.project,
    resource: r.resource,
    outcome: r.outcome,
    detail: detailOf(r.detail),
    prevHash: r.prevHash,
    hash: r.hash,
  };
}

/** One line of an export: the entry as toEntryJson shows it, its detail spliced in as stored (nothing parsed). */
export function exportLine(r: AuditRecord): string {
  const s = JSON.stringify;
  return `{"seq":${s(r.seq)},"at":${s(r.at)},"time":${s(isoTime(r.at))},"actor":${s(r.actor)},"client":${s(r.client)},"action":${s(r.action)},"project":${s(r.project)},"resource":${s(r.resource)},"outcome":${s(r.outcome)},"detail":${r.detail ?? 'null'},"prevHash":${s(r.prevHash)},"hash":${s(r.hash)}}`;
}

/** The stored detail as an object; text that is no JSON object (a row edited by hand) is shown as it is. */
function detailOf(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    if (isObject(v)) return v;
  } catch {
    // shown below
  }
  return { unparseable: text };
}

function isoTime(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** A retention checkpoint as the API shows it. */
export function checkpointJson(cp: ChainStart & { readonly createdAt: number }): { seq: number; hash: string; time: string | null } {
  return { seq: cp.seq, hash: cp.hash, time: isoTime(cp.createdAt) };
}

/** The first line of an export of a chain retention cut. */
export function checkpointLine(cp: ChainStart & { readonly createdAt: number }): string {
  return JSON.stringify({ checkpoint: checkpointJson(cp) });
}

// ---------------------------------------------------------------- the log

export interface AuditLogDeps {
  readonly meta: MetadataStore;
  readonly log: Logger;
  readonly now: () => number;
  /** Entries read per page when checking, exporting or pruning (default 10,000). */
  readonly pageSize?: number;
}

export type PruneOutcome =
  /** Nothing was older than the retention. */
  | { readonly kind: 'nothing' }
  | { readonly kind: 'pruned'; readonly deleted: number; readonly checkpoint: ChainStart }
  /** The entries to delete do not verify: they are kept, as evidence. */
  | { readonly kind: 'refused'; readonly broken: ChainBreak };

interface Pending {
  readonly link: Omit<AuditLink, 'seq' | 'prevHash'>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Entries per append transaction, at most. */
const MAX_BATCH = 512;

export class AuditLog {
  private readonly pending: Pending[] = [];
  private draining: Promise<void> | undefined;
  private readonly pageSize: number;

  constructor(private readonly deps: AuditLogDeps) {
    this.pageSize = deps.pageSize ?? 10_000;
  }

  /** Appends the event to the chain; resolves once it is stored (with the events that came with it). */
  record(e: TimedEvent): Promise<void> {
    return this.append({ at: e.at, actor: e.actor, client: e.client, action: e.action, project: e.project, resource: e.resource, outcome: e.outcome, detail: detailText(e.detail) });
  }

  /** Resolves when every entry recorded so far is stored (or failed). */
  async flush(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  list(filter: AuditFilter): Promise<AuditRecord[]> {
    return this.deps.meta.audit.list(filter);
  }

  checkpoint(): Promise<(ChainStart & { readonly createdAt: number }) | undefined> {
    return this.deps.meta.audit.checkpoint();
  }

  /**
   * Walks the whole chain, page by page (memory stays flat), from the last checkpoint. A retention
   * cut landing between reading the checkpoint and the first page is retried.
   */
  async verify(): Promise<ChainVerification> {
    retry: for (let attempt = 1; ; attempt++) {
      const start = await this.checkpoint();
      const verifier = new ChainVerifier(start);
      let first = true;
      for await (const page of this.pages()) {
        for (const r of page) verifier.add(r);
        const broken = verifier.firstBroken;
        if (first && broken?.reason === 'missing-entries' && broken.seq === page[0]?.seq && attempt < 3) {
          const again = await this.checkpoint();
          if (again?.seq !== start?.seq) continue retry;
        }
        first = false;
      }
      return verifier.result();
    }
  }

  /**
   * The export as JSON lines, in chunks of whole lines (one per page: fewer, larger writes): a
   * checkpoint line when the chain was cut, then every entry, oldest first.
   */
  async *exportChunks(): AsyncGenerator<string> {
    const start = await this.checkpoint();
    if (start !== undefined) yield `${checkpointLine(start)}\n`;
    for await (const page of this.pages()) if (page.length > 0) yield `${page.map(exportLine).join('\n')}\n`;
  }

  /**
   * Retention: deletes the entries older than `olderThan` milliseconds (the oldest ones, up to the
   * first that is not that old), in one transaction that first records a checkpoint (the last
   * deleted entry's seq and hash) and ends by appending an `audit.prune` entry. The entries to
   * delete are checked first; if they do not verify, nothing is deleted.
   */
  async prune(olderThan: number): Promise<PruneOutcome> {
    if (!Number.isFinite(olderThan) || olderThan <= 0) throw new RangeError(`audit retention must be a positive number of milliseconds, not ${olderThan}`);
    const cutoff = this.deps.now() - olderThan;
    const start = await this.checkpoint();
    const verifier = new ChainVerifier(start);
    let through: AuditRecord | undefined;
    walk: for await (const page of this.pages()) {
      for (const r of page) {
        if (r.at >= cutoff) break walk;
        verifier.add(r);
        through = r;
      }
    }
    if (through === undefined) return { kind: 'nothing' };
    const broken = verifier.firstBroken;
    if (broken !== undefined) {
      this.deps.log.error({ seq: broken.seq, reason: broken.reason }, `audit retention refused: ${broken.message}`);
      return { kind: 'refused', broken };
    }
    const record = {
      at: this.deps.now(),
      actor: null,
      client: null,
      action: 'audit.prune' satisfies AuditAction,
      project: null,
      resource: 'audit log',
      outcome: 'succeeded',
      detail: detailText({ through: through.seq, hash: through.hash, entries: verifier.result().entries, before: new Date(cutoff).toISOString() }),
    };
    const cut = await this.deps.meta.audit.cut({ seq: through.seq, hash: through.hash }, record, auditHash, this.deps.now());
    // The entry changed between the walk and the cut (or another replica cut first): next time.
    if (cut === undefined) return { kind: 'nothing' };
    this.deps.log.info({ through: through.seq, deleted: cut.deleted }, 'audit log pruned');
    return { kind: 'pruned', deleted: cut.deleted, checkpoint: { seq: through.seq, hash: through.hash } };
  }

  /**
   * The whole log, oldest first, a page at a time; the next page is asked for before this one is
   * handed over, so that PostgreSQL reads it while the caller hashes.
   */
  private async *pages(): AsyncGenerator<AuditRecord[]> {
    const read = (after?: number) => {
      const p = this.list({ limit: this.pageSize, ...(after !== undefined ? { after } : {}) });
      // Awaited below, unless the caller stops first: then its failure is of no interest.
      p.catch(() => undefined);
      return p;
    };
    let next = read();
    for (;;) {
      const page = await next;
      const full = page.length === this.pageSize;
      if (full) next = read(page[page.length - 1]!.seq);
      yield page;
      if (!full) return;
    }
  }

  private append(link: Pending['link']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ link, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining !== undefined) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // Recorded after the loop saw an empty queue, before this ran.
      if (this.pending.length > 0) this.kick();
    });
  }

  /** Appends what is pending, a batch per transaction, until nothing is. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.deps.meta.audit.append(
          batch.map((p) => p.link),
          auditHash,
        );
        for (const p of batch) p.resolve();
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        // One entry the database refuses must not take the others with it: each alone.
        for (const p of batch) {
          await this.deps.meta.audit.append([p.link], auditHash).then(p.resolve, p.reject);
        }
      }
    }
  }
}
