/** Scan results, their index (scan-index.ts) and the term dictionary of re-evaluations. */
import type { Digest } from '../../oci/index.js';
import type {
  ImageHit,
  PackageQuery,
  PackageTerm,
  PageRequest,
  ScanEvaluation,
  ScanEvaluationState,
  ScanResultRecord,
  ScanResultStore,
  SecurityTotals,
  SeverityCounts,
  StoredEvaluation,
  Visibility,
} from '../metadata-store.js';
import { placeholders, repoId } from './common.js';
import { isForeignKeyViolation, type SqlDb } from './db.js';
import * as index from './scan-index.js';
import { toScan, type ScanRow } from './scan-rows.js';

// ---------------------------------------------------------------- scan results

interface EvaluationRow extends ScanRow {
  repo_id: number;
  vuln_refs: Uint8Array | null;
  key_refs: Uint8Array | null;
}
const SCAN_COLUMNS = 'r.name AS repository, s.digest, s.db_built_at, s.scanned_at, s.critical, s.high, s.medium, s.low, s.unknown, s.fixable, s.secrets, s.misconfigurations, s.class_counts, s.report_digest, s.warnings';
const EVALUATION_SELECT = `SELECT s.repo_id, ${SCAN_COLUMNS}, s.vuln_refs, k.key_refs FROM scan_results s JOIN repositories r ON r.id = s.repo_id
  LEFT JOIN scan_match_keys k ON k.repo_id = s.repo_id AND k.digest = s.digest`;

const total = (c: SeverityCounts): number => c.critical + c.high + c.medium + c.low + c.unknown;

/** Most warnings a result keeps: the first ones tell what kind of thing was not read. */
const MAX_WARNINGS = 50;

const NONE = new Uint32Array(0);

function toEvaluation(r: EvaluationRow): StoredEvaluation {
  // No vulnerabilities stored: a result the upgrade to the index queued for a fresh scan.
  return { record: toScan(r), vulnerabilities: r.vuln_refs === null ? NONE : decodeRefs(r.vuln_refs), keys: r.key_refs === null ? undefined : decodeRefs(r.key_refs) };
}

/** Term ids as stored: little-endian uint32s, whatever the machine. */
export function encodeRefs(refs: Uint32Array): Buffer {
  const out = Buffer.allocUnsafe(refs.length * 4);
  for (let i = 0; i < refs.length; i++) out.writeUInt32LE(refs[i]!, i * 4);
  return out;
}

export function decodeRefs(bytes: Uint8Array): Uint32Array {
  const n = bytes.byteLength >>> 2;
  const out = new Uint32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** Terms read or numbered per statement: well under both backends' limit on parameters. */
const TERM_CHUNK = 500;

export class SqlScans implements ScanResultStore {
  constructor(private readonly db: SqlDb) {}

  async put(record: ScanResultRecord, state: ScanEvaluationState): Promise<boolean> {
    const id = await repoId(this.db, record.repository);
    if (id === undefined) return false;
    const s = record.summary;
    const v = s.vulnerabilities;
    try {
      await this.db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO scan_results (repo_id, digest, db_built_at, scanned_at, critical, high, medium, low, unknown, fixable, secrets, misconfigurations, class_counts, report_digest, vuln_refs, warnings)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (repo_id, digest) DO UPDATE SET db_built_at = excluded.db_built_at, scanned_at = excluded.scanned_at, critical = excluded.critical,
             high = excluded.high, medium = excluded.medium, low = excluded.low, unknown = excluded.unknown, fixable = excluded.fixable,
             secrets = excluded.secrets, misconfigurations = excluded.misconfigurations, class_counts = excluded.class_counts, report_digest = excluded.report_digest, vuln_refs = excluded.vuln_refs, warnings = excluded.warnings`,
          [
            id,
            record.digest,
            record.dbBuiltAt,
            record.scannedAt,
            v.critical,
            v.high,
            v.medium,
            v.low,
            v.unknown,
            v.fixable,
            total(s.secrets),
            total(s.misconfigurations),
            JSON.stringify({ secrets: s.secrets, misconfigurations: s.misconfigurations }),
            record.reportDigest,
            encodeRefs(state.vulnerabilities),
            JSON.stringify(record.warnings.slice(0, MAX_WARNINGS)),
          ],
        );
        if (state.keys !== undefined) await putKeys(tx, id, record.digest, state.keys);
        await index.indexImage(tx, id, record.digest, state.vulnerabilities, state.keys);
      });
    } catch (err) {
      // The image was deleted while it was scanned.
      if (isForeignKeyViolation(err)) return false;
      throw err;
    }
    return true;
  }

  async get(repository: string, digest: Digest): Promise<ScanResultRecord | undefined> {
    const row = await this.db.get<ScanRow>(`SELECT ${SCAN_COLUMNS} FROM scan_results s JOIN repositories r ON r.id = s.repo_id WHERE r.name = ? AND s.digest = ?`, [repository, digest]);
    return row === undefined ? undefined : toScan(row);
  }

  async list(repository: string): Promise<ScanResultRecord[]> {
    const rows = await this.db.all<ScanRow>(`SELECT ${SCAN_COLUMNS} FROM scan_results s JOIN repositories r ON r.id = s.repo_id WHERE r.name = ? ORDER BY s.digest`, [repository]);
    return rows.map(toScan);
  }

  async evaluation(repository: string, digest: Digest): Promise<StoredEvaluation | undefined> {
    const row = await this.db.get<EvaluationRow>(`${EVALUATION_SELECT} WHERE r.name = ? AND s.digest = ?`, [repository, digest]);
    return row === undefined ? undefined : toEvaluation(row);
  }

  async evaluations(cursor: string | undefined, limit: number): Promise<{ items: StoredEvaluation[]; next: string | undefined }> {
    const [afterRepo, afterDigest] = parseCursor(cursor);
    const rows = await this.db.all<EvaluationRow>(`${EVALUATION_SELECT} WHERE s.repo_id > ? OR (s.repo_id = ? AND s.digest > ?) ORDER BY s.repo_id, s.digest LIMIT ?`, [afterRepo, afterRepo, afterDigest, limit]);
    const last = rows[rows.length - 1];
    return { items: rows.map(toEvaluation), next: rows.length === limit && last !== undefined ? `${Number(last.repo_id)}/${last.digest}` : undefined };
  }

  async updateEvaluations(items: readonly ScanEvaluation[]): Promise<number> {
    if (items.length === 0) return 0;
    return this.db.transaction(async (tx) => {
      const ids = new Map<string, number | undefined>();
      let updated = 0;
      for (const e of items) {
        if (!ids.has(e.repository)) ids.set(e.repository, await repoId(tx, e.repository));
        const id = ids.get(e.repository);
        if (id === undefined) continue;
        const c = e.counts;
        const set = 'db_built_at = ?, critical = ?, high = ?, medium = ?, low = ?, unknown = ?, fixable = ?';
        const values = [e.dbBuiltAt, c.critical, c.high, c.medium, c.low, c.unknown, c.fixable];
        const changed =
          e.vulnerabilities === undefined
            ? await tx.run(`UPDATE scan_results SET ${set} WHERE repo_id = ? AND digest = ?`, [...values, id, e.digest])
            : await tx.run(`UPDATE scan_results SET ${set}, vuln_refs = ? WHERE repo_id = ? AND digest = ?`, [...values, encodeRefs(e.vulnerabilities), id, e.digest]);
        if (changed === 0) continue;
        updated += 1;
        if (e.keys !== undefined) await putKeys(tx, id, e.digest, e.keys);
        await index.indexImage(tx, id, e.digest, e.vulnerabilities, e.keys);
      }
      return updated;
    });
  }

  async unscanned(artifactTypes: readonly string[], cursor: string | undefined, limit: number): Promise<{ items: { repository: string; digest: Digest }[]; next: string | undefined }> {
    if (artifactTypes.length === 0) return { items: [], next: undefined };
    const [afterRepo, afterDigest] = parseCursor(cursor);
    const rows = await this.db.all<{ repo_id: number; repository: string; digest: Digest }>(
      `SELECT m.repo_id, r.name AS repository, m.digest FROM manifests m JOIN repositories r ON r.id = m.repo_id
       LEFT JOIN scan_results s ON s.repo_id = m.repo_id AND s.digest = m.digest
       WHERE s.digest IS NULL AND m.artifact_type IN (${placeholders(artifactTypes.length)}) AND (m.repo_id > ? OR (m.repo_id = ? AND m.digest > ?))
       ORDER BY m.repo_id, m.digest LIMIT ?`,
      [...artifactTypes, afterRepo, afterRepo, afterDigest, limit],
    );
    const last = rows[rows.length - 1];
    return {
      items: rows.map((r) => ({ repository: r.repository, digest: r.digest })),
      next: rows.length === limit && last !== undefined ? `${Number(last.repo_id)}/${last.digest}` : undefined,
    };
  }

  async intern(terms: readonly string[]): Promise<number[]> {
    const found = new Map<string, number>();
    // In one order for every caller: concurrent inserts of the same terms then wait on each other
    // instead of deadlocking (PostgreSQL locks each new row of a unique index as it goes).
    const distinct = [...new Set(terms)].sort();
    for (let i = 0; i < distinct.length; i += TERM_CHUNK) {
      const chunk = distinct.slice(i, i + TERM_CHUNK);
      const read = async (list: readonly string[]): Promise<void> => {
        if (list.length === 0) return;
        const rows = await this.db.all<{ id: number; term: string }>(`SELECT id, term FROM scan_terms WHERE term IN (${placeholders(list.length)})`, list);
        for (const r of rows) found.set(r.term, Number(r.id));
      };
      await read(chunk);
      const missing = chunk.filter((t) => !found.has(t));
      if (missing.length === 0) continue;
      // Another writer may number the same terms meanwhile: theirs are kept, and read back.
      await this.db.run(`INSERT INTO scan_terms (term) VALUES ${missing.map(() => '(?)').join(', ')} ON CONFLICT (term) DO NOTHING`, missing);
      await read(missing);
    }
    return terms.map((t) => {
      const id = found.get(t);
      if (id === undefined) throw new Error(`the term ${JSON.stringify(t)} was not numbered`);
      if (id > 0xffffffff) throw new Error('scan_terms ran past 2^32 ids: term ids are stored as uint32');
      return id;
    });
  }

  async terms(ids: readonly number[]): Promise<(string | undefined)[]> {
    const found = new Map<number, string>();
    const distinct = [...new Set(ids)];
    for (let i = 0; i < distinct.length; i += TERM_CHUNK) {
      const chunk = distinct.slice(i, i + TERM_CHUNK);
      const rows = await this.db.all<{ id: number; term: string }>(`SELECT id, term FROM scan_terms WHERE id IN (${placeholders(chunk.length)})`, chunk);
      for (const r of rows) found.set(Number(r.id), r.term);
    }
    return ids.map((id) => found.get(id));
  }

  describePackages(items: readonly PackageTerm[]): Promise<void> {
    return index.describePackages(this.db, items);
  }

  findPackages(query: PackageQuery, limit: number): Promise<PackageTerm[]> {
    return index.findPackages(this.db, query, limit);
  }

  imagesWithKeys(terms: readonly number[], scope: Visibility, page: PageRequest): Promise<{ total: number; items: ImageHit[] }> {
    return index.imagesWithKeys(this.db, terms, scope, page);
  }

  imagesWithVulnerability(term: number, scope: Visibility, page: PageRequest): Promise<{ total: number; items: ImageHit[] }> {
    return index.imagesWithVulnerability(this.db, term, scope, page);
  }

  securityTotals(scope: Visibility, imageTypes: readonly string[]): Promise<SecurityTotals> {
    return index.securityTotals(this.db, scope, imageTypes);
  }

  mostVulnerable(scope: Visibility, limit: number): Promise<ImageHit[]> {
    return index.mostVulnerable(this.db, scope, limit);
  }
}

async function putKeys(tx: SqlDb, repoId: number, digest: string, keys: Uint32Array): Promise<void> {
  await tx.run(
    `INSERT INTO scan_match_keys (repo_id, digest, key_refs) VALUES (?, ?, ?)
     ON CONFLICT (repo_id, digest) DO UPDATE SET key_refs = excluded.key_refs`,
    [repoId, digest, encodeRefs(keys)],
  );
}

/** A page cursor of the scan listings: the last (repository id, digest) seen. */
function parseCursor(cursor: string | undefined): [number, string] {
  if (cursor === undefined) return [-1, ''];
  const slash = cursor.indexOf('/');
  const repo = Number(cursor.slice(0, slash));
  if (slash < 1 || !Number.isSafeInteger(repo)) throw new Error(`not a scan listing cursor: ${cursor}`);
  return [repo, cursor.slice(slash + 1)];
}
