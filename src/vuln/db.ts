/**
 * The advisory DB: one SQLite file holding every feed's records, merged by CVE id and aliases,
 * with a schema version and metadata. Built whole into a temporary file, then renamed into place:
 * a scanner never sees half a DB. Opened read-only to scan.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { VulnError } from './errors.js';
import type { AdvisoryLookup } from './match.js';
import type { AffectedRecord, CvssScore, FeedRecords, MergedVulnerability, Severity, VulnerabilityRecord } from './model.js';

/** Bump on any change of the tables or of what their JSON holds; a scanner refuses other versions. */
export const DB_SCHEMA_VERSION = 1;
/** SQLite's application_id: marks the file as a Portcullis advisory DB ("PcAd"). */
const APPLICATION_ID = 0x50634164;

export interface DbSourceInfo {
  /** The feed as given on the command line (path or URL). */
  readonly feed: string;
  readonly files: number;
  readonly vulnerabilities: number;
  readonly affected: number;
  readonly errors: number;
}

export interface DbInfo {
  readonly schemaVersion: number;
  readonly builtAt: string;
  readonly sources: readonly DbSourceInfo[];
  readonly counts: { readonly vulnerabilities: number; readonly affected: number; readonly aliases: number; readonly ecosystems: Readonly<Record<string, number>> };
}

export interface FeedInput {
  readonly feed: string;
  readonly files: AsyncIterable<{ readonly file: string; readonly records: FeedRecords }>;
}

export interface BuildOptions {
  readonly now?: Date;
  /** Each skipped record's error line, as it is met. */
  readonly onError?: (line: string) => void;
  readonly onFile?: (file: string, records: FeedRecords) => void;
}

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE vulnerabilities (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE aliases (alias TEXT PRIMARY KEY, id TEXT NOT NULL);
CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, vuln_id TEXT NOT NULL, data TEXT NOT NULL);
`;

/**
 * Builds the DB at `out` from the feeds. Records are staged in the new file as they stream in,
 * then merged: ids linked by aliases form one vulnerability, named by its CVE when it has exactly
 * one (two CVEs are never merged into one).
 */
export async function buildAdvisoryDb(out: string, inputs: readonly FeedInput[], options: BuildOptions = {}): Promise<DbInfo> {
  const tmp = join(dirname(out), `.${basename(out)}.${randomUUID()}.tmp`);
  const db = new Database(tmp);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.exec(SCHEMA);
    const sources = await stage(db, inputs, options);
    db.exec('CREATE INDEX raw_vulns_id ON raw_vulns (id)');
    db.exec('CREATE INDEX raw_enrichment_id ON raw_enrichment (id)');
    writeMerged(db);
    db.exec('DROP TABLE raw_vulns');
    db.exec('DROP TABLE raw_enrichment');
    db.exec('CREATE INDEX affected_package ON affected (ecosystem, name)');
    // "Which images hold CVE-X?" starts from the packages a vulnerability names.
    db.exec('CREATE INDEX affected_vuln ON affected (vuln_id)');
    const ecosystems: Record<string, number> = {};
    for (const row of db.prepare('SELECT ecosystem, COUNT(*) AS n FROM affected GROUP BY ecosystem ORDER BY ecosystem').all() as { ecosystem: string; n: number }[]) ecosystems[row.ecosystem] = row.n;
    const count = (table: string): number => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const info: DbInfo = {
      schemaVersion: DB_SCHEMA_VERSION,
      builtAt: (options.now ?? new Date()).toISOString(),
      sources,
      counts: { vulnerabilities: count('vulnerabilities'), affected: count('affected'), aliases: count('aliases'), ecosystems },
    };
    const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    setMeta.run('schema_version', String(DB_SCHEMA_VERSION));
    setMeta.run('built_at', info.builtAt);
    setMeta.run('sources', JSON.stringify(info.sources));
    setMeta.run('counts', JSON.stringify(info.counts));
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec('VACUUM');
    db.close();
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, out);
    return info;
  } catch (err) {
    if (db.open) db.close();
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Stages every feed's records in the new file as they stream in (raw vulnerabilities, enrichment,
 * affected packages), links ids by their aliases and records each id's canonical id (`canon_map`:
 * the sets live in the file, not in memory, once this returns); what was read of each feed.
 */
async function stage(db: Database.Database, inputs: readonly FeedInput[], options: BuildOptions): Promise<DbSourceInfo[]> {
  db.exec('CREATE TABLE raw_vulns (id TEXT NOT NULL, data TEXT NOT NULL)');
  // Records that name no package (the NVD, CVE records) wait apart: only those of a flaw some
  // package record names are merged in.
  db.exec('CREATE TABLE raw_enrichment (id TEXT NOT NULL, data TEXT NOT NULL)');
  const insertRaw = db.prepare('INSERT INTO raw_vulns (id, data) VALUES (?, ?)');
  const insertEnrichment = db.prepare('INSERT INTO raw_enrichment (id, data) VALUES (?, ?)');
  const insertAffected = db.prepare('INSERT INTO affected (ecosystem, name, vuln_id, data) VALUES (?, ?, ?, ?)');
  const groups = new UnionFind();
  const sources: DbSourceInfo[] = [];
  for (const input of inputs) {
    const info = { feed: input.feed, files: 0, vulnerabilities: 0, affected: 0, errors: 0 };
    for await (const { file, records } of input.files) {
      info.files += 1;
      info.errors += records.errors.length;
      for (const e of records.errors) options.onError?.(e);
      options.onFile?.(file, records);
      db.transaction(() => {
        for (const v of records.vulnerabilities) {
          if (v.enrichment === true) {
            insertEnrichment.run(v.id, JSON.stringify(v));
            info.vulnerabilities += 1;
            continue;
          }
          insertRaw.run(v.id, JSON.stringify(v));
          groups.add(v.id);
          // An advisory naming several CVEs (a DSA, a USN, an XSA) is about several flaws: it
          // keeps its own id rather than fusing them into one.
          if ([v.id, ...v.aliases].filter((x) => CVE.test(x)).length <= 1) for (const a of v.aliases) groups.union(v.id, a);
          info.vulnerabilities += 1;
        }
        for (const a of records.affected) {
          insertAffected.run(a.ecosystem, a.name, a.vulnId, JSON.stringify(stripAffected(a)));
          groups.add(a.vulnId);
          info.affected += 1;
        }
      })();
    }
    sources.push(info);
  }
  db.exec('CREATE TABLE canon_map (id TEXT PRIMARY KEY, canon TEXT NOT NULL) WITHOUT ROWID');
  const insertMap = db.prepare('INSERT INTO canon_map (id, canon) VALUES (?, ?)');
  db.transaction(() => {
    for (const [id, canon] of groups.canonicalPairs()) insertMap.run(id, canon);
  })();
  db.exec('CREATE INDEX canon_map_canon ON canon_map (canon)');
  return sources;
}

function stripAffected(a: AffectedRecord): Omit<AffectedRecord, 'ecosystem' | 'name' | 'vulnId'> {
  const { ecosystem: _e, name: _n, vulnId: _v, ...rest } = a;
  void _e;
  void _n;
  void _v;
  return rest;
}

const CVE = /^CVE-\d{4}-\d+$/;

/** Ids linked by aliases. Two sets that each hold a different CVE stay apart. */
class UnionFind {
  private readonly parent = new Map<string, string>();
  private readonly cve = new Map<string, string | undefined>();

  add(id: string): void {
    if (this.parent.has(id)) return;
    this.parent.set(id, id);
    this.cve.set(id, CVE.test(id) ? id : undefined);
  }

  find(id: string): string {
    let root = id;
    while (this.parent.get(root) !== root) root = this.parent.get(root)!;
    let x = id;
    while (x !== root) {
      const next = this.parent.get(x)!;
      this.parent.set(x, root);
      x = next;
    }
    return root;
  }

  union(a: string, b: string): void {
    this.add(a);
    this.add(b);
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    const ca = this.cve.get(ra);
    const cb = this.cve.get(rb);
    if (ca !== undefined && cb !== undefined && ca !== cb) return;
    this.parent.set(rb, ra);
    this.cve.set(ra, ca ?? cb);
  }

  /**
   * Each id with the canonical id of its set: the set's CVE, else its smallest id by preference.
   * Two passes over the ids, holding one name per set: never a second map of every id.
   */
  *canonicalPairs(): Generator<[id: string, canon: string]> {
    const names = new Map<string, string>();
    for (const id of this.parent.keys()) {
      const root = this.find(id);
      const cve = this.cve.get(root);
      if (cve !== undefined) {
        names.set(root, cve);
        continue;
      }
      const best = names.get(root);
      if (best === undefined || idRank(id) - idRank(best) < 0 || (idRank(id) === idRank(best) && id.localeCompare(best) < 0)) names.set(root, id);
    }
    for (const id of this.parent.keys()) yield [id, names.get(this.find(id))!];
  }
}

/** Which id names a flaw that has no CVE: GitHub's advisory first, then the ecosystem's own databases. */
function idRank(id: string): number {
  return id.startsWith('GHSA-') ? 0 : id.startsWith('GO-') ? 1 : id.startsWith('PYSEC-') ? 2 : id.startsWith('RUSTSEC-') ? 3 : 4;
}

/** Text and scores come from the most trusted source that has them. */
const TEXT_ORDER = ['nvd', 'ghsa', 'osv', 'go', 'pysec', 'cve', 'debian-tracker', 'alpine-secdb', 'kev', 'epss'];

/** Sets of linked ids merged per page: a page's records are all that is held in memory. */
const MERGE_PAGE = 2000;

/**
 * Writes one vulnerability row per set of linked ids (and its aliases), a page of sets at a time
 * in the order of their canonical ids, so the build's memory stays flat however many records the
 * feeds hold; then names every affected record by its set's canonical id, in one statement.
 */
function writeMerged(db: Database.Database): void {
  const nextCanons = db.prepare<[string, number], { canon: string }>('SELECT DISTINCT canon FROM canon_map WHERE canon > ? ORDER BY canon LIMIT ?');
  // A set's records in the order they were read (rowid): the merge's ties go to the first read.
  const rowsOf = db.prepare<[string, string], { canon: string; id: string; data: string | null }>(
    'SELECT m.canon AS canon, m.id AS id, r.data AS data FROM canon_map m LEFT JOIN raw_vulns r ON r.id = m.id WHERE m.canon >= ? AND m.canon <= ? ORDER BY m.canon, r.rowid',
  );
  const enrichmentOf = db.prepare<[string], { data: string }>('SELECT data FROM raw_enrichment WHERE id = ?');
  const insertVuln = db.prepare('INSERT INTO vulnerabilities (id, data) VALUES (?, ?)');
  const insertAlias = db.prepare('INSERT OR IGNORE INTO aliases (alias, id) VALUES (?, ?)');
  for (let after = ''; ; ) {
    const page = nextCanons.all(after, MERGE_PAGE);
    if (page.length === 0) break;
    const rows = rowsOf.all(page[0]!.canon, page[page.length - 1]!.canon);
    db.transaction(() => {
      for (let i = 0; i < rows.length; ) {
        const canon = rows[i]!.canon;
        const ids = new Set<string>();
        const recs: VulnerabilityRecord[] = [];
        for (; i < rows.length && rows[i]!.canon === canon; i++) {
          ids.add(rows[i]!.id);
          if (rows[i]!.data !== null) recs.push(JSON.parse(rows[i]!.data!) as VulnerabilityRecord);
        }
        for (const id of ids) if (CVE.test(id)) for (const row of enrichmentOf.all(id)) recs.push(JSON.parse(row.data) as VulnerabilityRecord);
        const v = mergeSet(canon, ids, recs);
        insertVuln.run(v.id, JSON.stringify(v));
        for (const a of v.aliases) insertAlias.run(a, v.id);
      }
    })();
    after = page[page.length - 1]!.canon;
  }
  db.exec('UPDATE affected SET vuln_id = (SELECT canon FROM canon_map WHERE id = affected.vuln_id) WHERE vuln_id IN (SELECT id FROM canon_map WHERE canon <> id)');
  db.exec('DROP TABLE canon_map');
}

/** One vulnerability of a set of linked ids: text and scores from the most trusted source that has them. */
function mergeSet(canon: string, ids: ReadonlySet<string>, recs: VulnerabilityRecord[]): MergedVulnerability {
  recs.sort((a, b) => rankOf(a.source) - rankOf(b.source));
  const pick = <K extends keyof VulnerabilityRecord>(k: K): VulnerabilityRecord[K] | undefined => recs.find((r) => r[k] !== undefined && r[k] !== '')?.[k];
  const aliases = new Set<string>();
  for (const id of ids) if (id !== canon) aliases.add(id);
  for (const r of recs) for (const a of r.aliases) if (a !== canon) aliases.add(a);
  const cvss: CvssScore[] = [];
  const seen = new Set<string>();
  for (const r of recs) {
    for (const c of r.cvss) {
      const key = `${c.source}\u0000${c.vector}`;
      if (!seen.has(key)) {
        seen.add(key);
        cvss.push(c);
      }
    }
  }
  const cweIds = new Set(recs.flatMap((r) => r.cweIds ?? []));
  const knownExploited = recs.find((r) => r.knownExploited !== undefined)?.knownExploited;
  const epss = recs.find((r) => r.epss !== undefined)?.epss;
  const severities: Record<string, Severity> = {};
  for (const r of recs) if (r.severity !== undefined) severities[r.severity.source] ??= r.severity.severity;
  const summary = pick('summary');
  const details = pick('details');
  const published = pick('published');
  const modified = recs.map((r) => r.modified).filter((m): m is string => m !== undefined).sort().pop();
  return {
    id: canon,
    aliases: [...aliases].sort(),
    ...(summary !== undefined ? { summary } : {}),
    ...(details !== undefined ? { details } : {}),
    ...(published !== undefined ? { published } : {}),
    ...(modified !== undefined ? { modified } : {}),
    references: [...new Set(recs.flatMap((r) => r.references))],
    cvss,
    ...(cweIds.size > 0 ? { cweIds: [...cweIds].sort() } : {}),
    ...(knownExploited !== undefined ? { knownExploited } : {}),
    ...(epss !== undefined ? { epss } : {}),
    severities,
    sources: [...new Set(recs.map((r) => r.source))],
  };
}

function rankOf(source: string): number {
  const i = TEXT_ORDER.indexOf(source);
  return i < 0 ? TEXT_ORDER.length : i;
}

/** Entries of each lookup cache of an open DB; a long-lived registry process starts over past it. */
const CACHE_LIMIT = 50_000;

/** An open advisory DB: the lookup the matcher reads, and the DB's metadata. */
export class AdvisoryDb implements AdvisoryLookup {
  readonly info: DbInfo;
  private readonly db: Database.Database;
  private readonly affectedStmt: Database.Statement<[string, string], { vuln_id: string; data: string }>;
  private readonly vulnStmt: Database.Statement<[string], { data: string }>;
  private readonly aliasStmt: Database.Statement<[string], { id: string }>;
  private readonly packagesStmt: Database.Statement<[string], { ecosystem: string; name: string }>;
  private readonly affectedCache = new Map<string, readonly AffectedRecord[]>();
  private readonly vulnCache = new Map<string, MergedVulnerability | undefined>();

  private constructor(db: Database.Database, info: DbInfo) {
    this.db = db;
    this.info = info;
    this.affectedStmt = db.prepare('SELECT vuln_id, data FROM affected WHERE ecosystem = ? AND name = ?');
    this.vulnStmt = db.prepare('SELECT data FROM vulnerabilities WHERE id = ?');
    this.aliasStmt = db.prepare('SELECT id FROM aliases WHERE alias = ?');
    this.packagesStmt = db.prepare('SELECT DISTINCT ecosystem, name FROM affected WHERE vuln_id = ? ORDER BY ecosystem, name');
  }

  /** Opens a DB read-only; DB_NOT_FOUND, DB_INVALID (not SQLite, not ours, corrupt) or DB_SCHEMA. */
  static open(path: string): AdvisoryDb {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new VulnError('DB_NOT_FOUND', `no advisory DB at ${path}: make one from the official feeds with \`portcullis db update --db ${path}\`, or fetch one with \`portcullis db pull\``);
    }
    const head = Buffer.alloc(16);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 16, 0);
    } finally {
      closeSync(fd);
    }
    if (size < 100 || head.toString('latin1') !== 'SQLite format 3\u0000') throw new VulnError('DB_INVALID', `${path} is not an advisory DB (not an SQLite file)`);
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      const appId = db.pragma('application_id', { simple: true }) as number;
      if (appId !== APPLICATION_ID) throw new VulnError('DB_INVALID', `${path} is an SQLite file but not a Portcullis advisory DB`);
      const meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
      const version = Number(meta.get('schema_version'));
      if (version !== DB_SCHEMA_VERSION) {
        throw new VulnError('DB_SCHEMA', `${path} has advisory DB schema ${meta.get('schema_version') ?? '?'}; this scanner reads schema ${DB_SCHEMA_VERSION}: rebuild it with this version's \`portcullis db build\` or pull a matching one`);
      }
      const info: DbInfo = {
        schemaVersion: version,
        builtAt: meta.get('built_at') ?? '',
        sources: JSON.parse(meta.get('sources') ?? '[]') as DbSourceInfo[],
        counts: JSON.parse(meta.get('counts') ?? '{}') as DbInfo['counts'],
      };
      return new AdvisoryDb(db, info);
    } catch (err) {
      db?.close();
      if (err instanceof VulnError) throw err;
      throw new VulnError('DB_INVALID', `${path} is not a readable advisory DB: ${(err as Error).message}`, { cause: err });
    }
  }

  affected(ecosystem: string, name: string): readonly AffectedRecord[] {
    const key = `${ecosystem}\u0000${name}`;
    const hit = this.affectedCache.get(key);
    if (hit !== undefined) return hit;
    if (this.affectedCache.size >= CACHE_LIMIT) this.affectedCache.clear();
    const rows = this.affectedStmt.all(ecosystem, name).map((r) => ({ ...(JSON.parse(r.data) as Omit<AffectedRecord, 'ecosystem' | 'name' | 'vulnId'>), ecosystem, name, vulnId: r.vuln_id }));
    this.affectedCache.set(key, rows);
    return rows;
  }

  vulnerability(id: string): MergedVulnerability | undefined {
    if (this.vulnCache.has(id)) return this.vulnCache.get(id);
    const row = this.vulnStmt.get(id) ?? (() => {
      const alias = this.aliasStmt.get(id);
      return alias === undefined ? undefined : this.vulnStmt.get(alias.id);
    })();
    const v = row === undefined ? undefined : (JSON.parse(row.data) as MergedVulnerability);
    if (this.vulnCache.size >= CACHE_LIMIT) this.vulnCache.clear();
    this.vulnCache.set(id, v);
    return v;
  }

  /** The packages (ecosystem, name) the records of a vulnerability name; its canonical id or an alias. */
  packagesOf(id: string): { ecosystem: string; name: string }[] {
    const v = this.vulnerability(id);
    return v === undefined ? [] : this.packagesStmt.all(v.id);
  }

  holds(ecosystem: string): boolean {
    return (this.info.counts.ecosystems?.[ecosystem] ?? 0) > 0;
  }

  /** The DB's age at `now`, in milliseconds. */
  ageMs(now: Date = new Date()): number {
    const built = Date.parse(this.info.builtAt);
    return Number.isFinite(built) ? now.getTime() - built : Number.POSITIVE_INFINITY;
  }

  close(): void {
    this.db.close();
  }
}
