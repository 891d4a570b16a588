/**
 * The counting side of re-evaluation: stored images' match keys (as term numbers) against a new
 * DB, a page at a time, with one Matcher per open DB (images share packages: each distinct package
 * version is looked up once) and the store asked for terms a few times a page, never per image.
 * What is new for each image, and the updates of their results. The orchestration (pages,
 * never-scanned images, who is told) is the ScanService's.
 */
import type { Digest } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import type { PackageTerm, ScanEvaluation, StoredEvaluation } from '../storage/index.js';
import { Matcher, splitMatchKey, type AdvisoryDb, type MatchKeys, type VulnerabilityCounts } from '../vuln/index.js';
import { sameCounts } from './scan-summary.js';
import type { TermCache } from './scan-terms.js';

/** An image that gained vulnerabilities, and their ids. */
export interface Found {
  readonly repository: string;
  readonly digest: Digest;
  readonly ids: string[];
}

export interface ReevaluatorDeps {
  readonly terms: TermCache;
  readonly log: Logger;
  /** Match keys from the image's stored SBOM; undefined when it has none. */
  storedKeys(repository: string, digest: Digest): Promise<MatchKeys | undefined>;
  /** Queues the image's scan again (its result lacks what re-evaluation needs). */
  rescan(repository: string, digest: Digest): Promise<void>;
  /** Records what match-key terms stand for (the index of packages: see `keyRefs`). */
  describe(items: readonly PackageTerm[]): Promise<void>;
}

/** Key terms remembered as described, per process (a bound on memory: start over rather than grow). */
const DESCRIBED_LIMIT = 1_000_000;

const EMPTY = new Uint32Array(0);

export class Reevaluator {
  private matcher: { db: AdvisoryDb; matcher: Matcher } | undefined;
  private idTerms: { matcher: Matcher; terms: Uint32Array } | undefined;
  private mark = new Uint8Array(1024);
  private readonly described = new Set<number>();

  constructor(private readonly deps: ReevaluatorDeps) {}

  /** One Matcher per open DB: images share packages, so each distinct package version is looked up once. */
  matcherFor(db: AdvisoryDb): Matcher {
    if (this.matcher?.db !== db) this.matcher = { db, matcher: new Matcher(db) };
    return this.matcher.matcher;
  }

  /** Match keys as term numbers: `[key term, packages, ...]`. */
  async keyRefs(mk: MatchKeys): Promise<Uint32Array> {
    const strings: string[] = [];
    for (let i = 0; i < mk.keys.length; i += 2) strings.push(mk.keys[i] as string);
    const ids = await this.deps.terms.ids(strings);
    // What each key stands for, recorded once (per process) for the index of packages.
    const fresh: PackageTerm[] = [];
    ids.forEach((term, i) => {
      if (this.described.has(term)) return;
      const { ecosystem, name, version } = splitMatchKey(strings[i]!);
      fresh.push({ term, ecosystem, name, version });
    });
    if (fresh.length > 0) {
      await this.deps.describe(fresh);
      if (this.described.size + fresh.length > DESCRIBED_LIMIT) this.described.clear();
      for (const f of fresh) this.described.add(f.term);
    }
    const out = new Uint32Array(mk.keys.length);
    for (let i = 0; i < ids.length; i++) {
      out[2 * i] = ids[i]!;
      out[2 * i + 1] = mk.keys[2 * i + 1] as number;
    }
    return out;
  }

  /**
   * Scanned images against `db`: the ids new to each, and the updates of their results (none
   * for a result where nothing changed). Reads the keys kept with each result; a result without
   * them gets them from its stored SBOM, or, without one, its scan is queued again. The full reports are rebuilt only when asked for (`report`).
   * The store is asked for terms a few times a page, never per image.
   */
  async page(items: readonly StoredEvaluation[], db: AdvisoryDb): Promise<{ evaluated: number; skipped: number; updates: ScanEvaluation[]; found: Found[] }> {
    const { log } = this.deps;
    const matcher = this.matcherFor(db);
    const out = { evaluated: 0, skipped: 0, updates: [] as ScanEvaluation[], found: [] as Found[] };
    const failed = (e: StoredEvaluation, err: unknown): void => {
      out.skipped += 1;
      log.warn({ err: err instanceof Error ? err.message : String(err), repository: e.record.repository, digest: e.record.digest }, 'could not re-evaluate an image');
    };
    // The keys of each result, as numbers; those made now are stored with its update.
    const ready: { e: StoredEvaluation; keys: Uint32Array; freshKeys: boolean; before: Uint32Array }[] = [];
    for (const e of items) {
      try {
        let keys = e.keys;
        let fresh = false;
        if (keys === undefined) {
          const mk = await this.deps.storedKeys(e.record.repository, e.record.digest);
          if (mk === undefined) {
            await this.deps.rescan(e.record.repository, e.record.digest);
            out.skipped += 1;
            continue;
          }
          keys = await this.keyRefs(mk);
          fresh = true;
        }
        ready.push({ e, keys, freshKeys: fresh, before: e.vulnerabilities });
      } catch (err) {
        failed(e, err);
      }
    }
    // Key strings for the numbers this Matcher has not met, in one query.
    await this.deps.terms.load(ready.flatMap((r) => matcher.unknownRefs(r.keys)));
    const counted: { r: (typeof ready)[number]; counts: VulnerabilityCounts; ids: Uint32Array }[] = [];
    for (const r of ready) {
      try {
        counted.push({ r, ...matcher.countRefs(r.keys, (ref) => this.deps.terms.termOf(ref)) });
      } catch (err) {
        failed(r.e, err);
      }
    }
    // The Matcher's id numbers as term numbers: those not met yet numbered in one call.
    const toTerm = this.termNumbers(matcher);
    const unnamed = new Set<number>();
    for (const c of counted) for (const n of c.ids) if (toTerm.of(n) === 0) unnamed.add(n);
    if (unnamed.size > 0) {
      const numbers = [...unnamed];
      (await this.deps.terms.ids(numbers.map((n) => matcher.idName(n)))).forEach((t, i) => toTerm.set(numbers[i]!, t));
    }
    for (const { r, counts, ids } of counted) {
      const { e, before } = r;
      const { record } = e;
      // Evaluated before against a DB (dbBuiltAt null: there was none, so every id is new).
      const known = record.dbBuiltAt === null ? EMPTY : before;
      const refs = new Uint32Array(ids.length);
      const fresh: number[] = [];
      const mark = this.marks(known);
      for (let i = 0; i < ids.length; i++) {
        const t = toTerm.of(ids[i]!);
        refs[i] = t;
        if (mark[t] !== 1) fresh.push(ids[i]!);
      }
      for (const t of known) mark[t] = 0;
      // The Matcher looked nothing up since this page's counts: its ranks are built once a page.
      const newIds = fresh.length === 0 ? [] : Array.from(matcher.orderByName(Uint32Array.from(fresh)), (n) => matcher.idName(n));
      // Distinct on both sides: nothing new and as many as before means the same ids.
      const sameIds = record.dbBuiltAt !== null && fresh.length === 0 && refs.length === before.length;
      out.evaluated += 1;
      if (newIds.length > 0) out.found.push({ repository: record.repository, digest: record.digest, ids: newIds });
      const unchanged = record.dbBuiltAt === db.info.builtAt && !r.freshKeys && sameIds && sameCounts(record.summary.vulnerabilities, counts);
      if (unchanged) continue;
      out.updates.push({
        repository: record.repository,
        digest: record.digest,
        dbBuiltAt: db.info.builtAt,
        counts,
        ...(sameIds ? {} : { vulnerabilities: refs.sort() }),
        ...(r.freshKeys ? { keys: r.keys } : {}),
      });
    }
    return out;
  }

  /** A Matcher's id numbers → term numbers (0: not numbered yet), kept as long as the Matcher. */
  private termNumbers(matcher: Matcher): { of(n: number): number; set(n: number, term: number): void } {
    if (this.idTerms?.matcher !== matcher) this.idTerms = { matcher, terms: new Uint32Array(Math.max(1024, matcher.idCount)) };
    const state = this.idTerms;
    return {
      of: (n) => state.terms[n] ?? 0,
      set: (n, term) => {
        if (n >= state.terms.length) {
          const grown = new Uint32Array(Math.max(n + 1, state.terms.length * 2));
          grown.set(state.terms);
          state.terms = grown;
        }
        state.terms[n] = term;
      },
    };
  }

  /** A byte per term number with `refs` marked 1; the caller sets them back to 0. */
  private marks(refs: Uint32Array): Uint8Array {
    let max = 0;
    for (const r of refs) if (r > max) max = r;
    if (max >= this.mark.length) this.mark = new Uint8Array(Math.max(max + 1, this.mark.length * 2));
    for (const r of refs) this.mark[r] = 1;
    return this.mark;
  }
}
