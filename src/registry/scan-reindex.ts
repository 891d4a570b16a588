/**
 * Bringing the store's index of scan results (storage/sql/scan-index.ts) up to date with what is
 * stored: once after the upgrade that adds it, and again whenever match keys change form
 * (MATCH_KEYS_VERSION: lookupKey or a distribution's mapping changed). Each stored result is
 * written back as it is (its counts and DB build unchanged), its vulnerabilities and keys with it,
 * which indexes them; keys of another version are made again from the image's stored SBOM. A job
 * in the queue, keyed by both versions, so that one replica does it once.
 */
import type { Digest } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import type { MetadataStore, PackageTerm, ScanEvaluation } from '../storage/index.js';
import { MATCH_KEYS_VERSION, splitMatchKey, type MatchKeys } from '../vuln/index.js';
import type { TermCache } from './scan-terms.js';

export const SCAN_REINDEX_JOB = 'scan-reindex';
/** Bump when the index's tables change meaning: every result is indexed again. */
const INDEX_VERSION = 1;
/** The match-key version the stored keys have; results stored before it was recorded had version 3. */
export const STORED_KEYS_VERSION = 'scan.match-keys-version';
const KEYS_BEFORE_RECORDED = '3';
const PAGE = 100;

/** The job's key: a new one whenever either version changes. */
export function reindexJobKey(): string {
  return `index-v${INDEX_VERSION}-keys-v${MATCH_KEYS_VERSION}`;
}

export interface ReindexDeps {
  readonly meta: MetadataStore;
  readonly terms: TermCache;
  readonly log: Logger;
  /** Match keys from the image's stored SBOM; undefined when it has none. */
  storedKeys(repository: string, digest: Digest): Promise<MatchKeys | undefined>;
  /** Match keys as term numbers, their packages described (Reevaluator.keyRefs). */
  keyRefs(keys: MatchKeys): Promise<Uint32Array>;
  rescan(repository: string, digest: Digest): Promise<void>;
}

/**
 * Indexes every stored result; resolves to whether keys were made again (their vulnerabilities
 * may then differ: the caller has them re-evaluated).
 */
export async function reindex(deps: ReindexDeps, signal?: AbortSignal): Promise<{ indexed: number; rekeyed: number }> {
  const { meta, terms, log } = deps;
  const stored = (await meta.settings.get(STORED_KEYS_VERSION)) ?? KEYS_BEFORE_RECORDED;
  const rekey = stored !== String(MATCH_KEYS_VERSION);
  let indexed = 0;
  let rekeyed = 0;
  for (let cursor: string | undefined, more = true; more; ) {
    if (signal?.aborted === true) throw new Error('stopped');
    const page = await meta.scans.evaluations(cursor, PAGE);
    const updates: ScanEvaluation[] = [];
    // What the stored keys stand for, for the index of packages (described in one go a page).
    const keyTerms = new Set<number>();
    for (const e of page.items) {
      const { repository, digest } = e.record;
      let keys = e.keys;
      if (keys === undefined || rekey) {
        const made = await deps.storedKeys(repository, digest).catch((err: unknown) => {
          log.warn({ err: err instanceof Error ? err.message : String(err), repository, digest }, 'could not read the stored SBOM of an image to index it');
          return undefined;
        });
        if (made === undefined) {
          // Without an SBOM its keys are made by scanning it again (those of another version serve till then).
          if (keys !== undefined) await deps.rescan(repository, digest);
        } else {
          keys = await deps.keyRefs(made);
          rekeyed += 1;
        }
      } else for (let i = 0; i < keys.length; i += 2) keyTerms.add(keys[i]!);
      updates.push({
        repository,
        digest,
        dbBuiltAt: e.record.dbBuiltAt,
        counts: e.record.summary.vulnerabilities,
        vulnerabilities: e.vulnerabilities,
        ...(keys !== undefined ? { keys } : {}),
      });
    }
    if (keyTerms.size > 0) {
      const ids = [...keyTerms];
      await terms.load(ids);
      const described: PackageTerm[] = [];
      for (const term of ids) {
        const key = terms.termOf(term);
        if (key === undefined) continue;
        const { ecosystem, name, version } = splitMatchKey(key);
        described.push({ term, ecosystem, name, version });
      }
      await meta.scans.describePackages(described);
    }
    indexed += await meta.scans.updateEvaluations(updates);
    cursor = page.next;
    more = cursor !== undefined;
  }
  await meta.settings.put(STORED_KEYS_VERSION, String(MATCH_KEYS_VERSION));
  return { indexed, rekeyed };
}
