/**
 * The inverted index of scan results: each scanned image numbered (`scan_images`), its
 * vulnerability and match-key term ids as rows (`scan_image_vulns`, `scan_image_keys`), and what
 * each match-key term stands for (`scan_packages`). Written with every result in the same
 * transaction, so that "which images hold CVE-X?" and "which hold this package?" are index lookups
 * whatever the number of images. Rows go with their image (foreign keys, cascading).
 */
import type { Digest } from '../../oci/index.js';
import type { ImageHit, PackageQuery, PackageTerm, PageRequest, SecurityTotals, Visibility } from '../metadata-store.js';
import { placeholders, visibilityClause } from './common.js';
import type { SqlDb, SqlValue } from './db.js';
import { summaryOf, type ScanRow } from './scan-rows.js';

/** Rows per INSERT: two or three parameters each, well under both backends' limits. */
const ROW_CHUNK = 400;
/** Terms per IN list. */
const TERM_CHUNK = 500;

/** The image's number in the index, numbering it when new. */
async function imageNumber(tx: SqlDb, repoId: number, digest: string): Promise<number> {
  await tx.run('INSERT INTO scan_images (repo_id, digest) VALUES (?, ?) ON CONFLICT (repo_id, digest) DO NOTHING', [repoId, digest]);
  const row = await tx.get<{ id: number }>('SELECT id FROM scan_images WHERE repo_id = ? AND digest = ?', [repoId, digest]);
  if (row === undefined) throw new Error(`scan_images has no row for ${digest} after inserting it`);
  return Number(row.id);
}

/** Replaces the image's rows of one index: `width` 1 (`term`) or 2 (`term, packages` pairs). */
async function replaceRows(tx: SqlDb, table: 'scan_image_vulns' | 'scan_image_keys', image: number, values: Uint32Array, width: 1 | 2): Promise<void> {
  await tx.run(`DELETE FROM ${table} WHERE image = ?`, [image]);
  const columns = width === 1 ? '(term, image)' : '(term, image, packages)';
  const row = width === 1 ? '(?, ?)' : '(?, ?, ?)';
  const n = values.length / width;
  for (let start = 0; start < n; start += ROW_CHUNK) {
    const end = Math.min(n, start + ROW_CHUNK);
    const params: SqlValue[] = [];
    for (let i = start; i < end; i++) {
      params.push(values[i * width]!, image);
      if (width === 2) params.push(values[i * width + 1]!);
    }
    // A term twice in one image (never written so, but cheap to tolerate) keeps one row.
    await tx.run(`INSERT INTO ${table} ${columns} VALUES ${Array.from({ length: end - start }, () => row).join(', ')} ON CONFLICT (term, image) DO NOTHING`, params);
  }
}

/** Indexes an image's state as it is written: its vulnerabilities, and its keys when given. */
export async function indexImage(tx: SqlDb, repoId: number, digest: string, vulnerabilities: Uint32Array | undefined, keys: Uint32Array | undefined): Promise<void> {
  if (vulnerabilities === undefined && keys === undefined) return;
  const image = await imageNumber(tx, repoId, digest);
  if (vulnerabilities !== undefined) await replaceRows(tx, 'scan_image_vulns', image, vulnerabilities, 1);
  if (keys !== undefined) await replaceRows(tx, 'scan_image_keys', image, keys, 2);
}

export async function describePackages(db: SqlDb, items: readonly PackageTerm[]): Promise<void> {
  for (let i = 0; i < items.length; i += ROW_CHUNK) {
    const chunk = items.slice(i, i + ROW_CHUNK);
    await db.run(
      `INSERT INTO scan_packages (term, ecosystem, name, version) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')} ON CONFLICT (term) DO NOTHING`,
      chunk.flatMap((p) => [p.term, p.ecosystem, p.name, p.version]),
    );
  }
}

export async function findPackages(db: SqlDb, q: PackageQuery, limit: number): Promise<PackageTerm[]> {
  const names = [...new Set(q.names)];
  if (names.length === 0) return [];
  const where = [`name IN (${placeholders(names.length)})`];
  const params: SqlValue[] = [...names];
  if (q.ecosystem !== undefined) {
    where.push('ecosystem = ?');
    params.push(q.ecosystem);
  }
  if (q.version !== undefined) {
    where.push('version = ?');
    params.push(q.version);
  }
  const rows = await db.all<{ term: number; ecosystem: string; name: string; version: string }>(
    `SELECT term, ecosystem, name, version FROM scan_packages WHERE ${where.join(' AND ')} ORDER BY ecosystem, name, version, term LIMIT ?`,
    [...params, limit],
  );
  return rows.map((r) => ({ term: Number(r.term), ecosystem: r.ecosystem, name: r.name, version: r.version }));
}

interface HitRow extends ScanRow {
  image: number;
  project: string;
  pushed_at: number;
}

const HIT_SELECT = `SELECT i.id AS image, p.name AS project, r.name AS repository, i.digest, m.pushed_at, s.db_built_at, s.scanned_at, s.critical, s.high, s.medium, s.low, s.unknown,
  s.fixable, s.secrets, s.misconfigurations, s.class_counts, s.report_digest, s.warnings
  FROM scan_images i JOIN scan_results s ON s.repo_id = i.repo_id AND s.digest = i.digest JOIN manifests m ON m.repo_id = i.repo_id AND m.digest = i.digest
  JOIN repositories r ON r.id = i.repo_id JOIN projects p ON p.id = r.project_id`;

/** The images of `where` (over HIT_SELECT's aliases) in scope: a page by repository and digest, and the total. */
async function pageOfImages(db: SqlDb, where: string, params: readonly SqlValue[], scope: Visibility, page: PageRequest): Promise<{ total: number; rows: HitRow[] }> {
  const v = visibilityClause(scope, 'p');
  const total = await db.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM scan_images i JOIN repositories r ON r.id = i.repo_id JOIN projects p ON p.id = r.project_id WHERE ${where} AND ${v.sql}`,
    [...params, ...v.params],
  );
  const n = Number(total?.n ?? 0);
  if (n === 0 || page.offset >= n) return { total: n, rows: [] };
  const rows = await db.all<HitRow>(`${HIT_SELECT} WHERE ${where} AND ${v.sql} ORDER BY r.name, i.digest LIMIT ? OFFSET ?`, [...params, ...v.params, page.limit, page.offset]);
  return { total: n, rows };
}

/** The tags of these images, by image number, each list in name order. */
async function tagsOf(db: SqlDb, images: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (images.length === 0) return out;
  const rows = await db.all<{ image: number; name: string }>(
    `SELECT i.id AS image, t.name FROM scan_images i JOIN tags t ON t.repo_id = i.repo_id AND t.digest = i.digest WHERE i.id IN (${placeholders(images.length)}) ORDER BY t.name`,
    images,
  );
  for (const r of rows) {
    const id = Number(r.image);
    const list = out.get(id);
    if (list === undefined) out.set(id, [r.name]);
    else list.push(r.name);
  }
  return out;
}

function toHit(r: HitRow, tags: Map<number, string[]>, held: Map<number, { terms: number[]; packages: number[] }> | undefined): ImageHit {
  const id = Number(r.image);
  const h = held?.get(id);
  return {
    project: r.project,
    repository: r.repository,
    digest: r.digest as Digest,
    tags: tags.get(id) ?? [],
    pushedAt: Number(r.pushed_at),
    scannedAt: Number(r.scanned_at),
    summary: summaryOf(r),
    terms: h?.terms ?? [],
    packages: h?.packages ?? [],
  };
}

export async function imagesWithKeys(db: SqlDb, terms: readonly number[], scope: Visibility, page: PageRequest): Promise<{ total: number; items: ImageHit[] }> {
  const distinct = [...new Set(terms)];
  if (distinct.length === 0) return { total: 0, items: [] };
  if (distinct.length > TERM_CHUNK) throw new RangeError(`at most ${TERM_CHUNK} package versions a query (${distinct.length} given)`);
  const inTerms = `i.id IN (SELECT image FROM scan_image_keys WHERE term IN (${placeholders(distinct.length)}))`;
  const { total, rows } = await pageOfImages(db, inTerms, distinct, scope, page);
  const images = rows.map((r) => Number(r.image));
  const held = new Map<number, { terms: number[]; packages: number[] }>();
  if (images.length > 0) {
    const keyRows = await db.all<{ image: number; term: number; packages: number }>(
      `SELECT image, term, packages FROM scan_image_keys WHERE image IN (${placeholders(images.length)}) AND term IN (${placeholders(distinct.length)}) ORDER BY image, term`,
      [...images, ...distinct],
    );
    for (const k of keyRows) {
      const id = Number(k.image);
      let h = held.get(id);
      if (h === undefined) held.set(id, (h = { terms: [], packages: [] }));
      h.terms.push(Number(k.term));
      h.packages.push(Number(k.packages));
    }
  }
  const tags = await tagsOf(db, images);
  return { total, items: rows.map((r) => toHit(r, tags, held)) };
}

export async function imagesWithVulnerability(db: SqlDb, term: number, scope: Visibility, page: PageRequest): Promise<{ total: number; items: ImageHit[] }> {
  const { total, rows } = await pageOfImages(db, 'i.id IN (SELECT image FROM scan_image_vulns WHERE term = ?)', [term], scope, page);
  const tags = await tagsOf(db, rows.map((r) => Number(r.image)));
  return { total, items: rows.map((r) => toHit(r, tags, undefined)) };
}

export async function securityTotals(db: SqlDb, scope: Visibility, imageTypes: readonly string[]): Promise<SecurityTotals> {
  const v = visibilityClause(scope, 'p');
  const images =
    imageTypes.length === 0
      ? 0
      : Number(
          (
            await db.get<{ n: number }>(
              `SELECT COUNT(*) AS n FROM manifests m JOIN repositories r ON r.id = m.repo_id JOIN projects p ON p.id = r.project_id WHERE m.artifact_type IN (${placeholders(imageTypes.length)}) AND ${v.sql}`,
              [...imageTypes, ...v.params],
            )
          )?.n ?? 0,
        );
  const sums = await db.get<{ n: number; critical: number | null; high: number | null; medium: number | null; low: number | null; unknown: number | null; fixable: number | null }>(
    `SELECT COUNT(*) AS n, SUM(s.critical) AS critical, SUM(s.high) AS high, SUM(s.medium) AS medium, SUM(s.low) AS low, SUM(s.unknown) AS unknown, SUM(s.fixable) AS fixable
     FROM scan_results s JOIN repositories r ON r.id = s.repo_id JOIN projects p ON p.id = r.project_id WHERE ${v.sql}`,
    v.params,
  );
  const rows = await db.all<{ term: number; n: number }>(
    `SELECT v.term, COUNT(*) AS n FROM scan_image_vulns v JOIN scan_images i ON i.id = v.image JOIN repositories r ON r.id = i.repo_id JOIN projects p ON p.id = r.project_id
     WHERE ${v.sql} GROUP BY v.term`,
    v.params,
  );
  const num = (x: number | null | undefined): number => Number(x ?? 0);
  return {
    images,
    scanned: num(sums?.n),
    vulnerabilities: { critical: num(sums?.critical), high: num(sums?.high), medium: num(sums?.medium), low: num(sums?.low), unknown: num(sums?.unknown), fixable: num(sums?.fixable) },
    byVulnerability: new Map(rows.map((r) => [Number(r.term), Number(r.n)])),
  };
}

export async function mostVulnerable(db: SqlDb, scope: Visibility, limit: number): Promise<ImageHit[]> {
  const v = visibilityClause(scope, 'p');
  const rows = await db.all<HitRow>(
    `${HIT_SELECT} WHERE (s.critical > 0 OR s.high > 0) AND ${v.sql} ORDER BY s.critical DESC, s.high DESC, s.medium DESC, r.name, i.digest LIMIT ?`,
    [...v.params, limit],
  );
  const tags = await tagsOf(db, rows.map((r) => Number(r.image)));
  return rows.map((r) => toHit(r, tags, undefined));
}
