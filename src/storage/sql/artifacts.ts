/** Repositories, manifests and tags; blob links; upload sessions; the garbage collector's index. */
import { isDigest, type Digest } from '../../oci/index.js';
import { StorageError } from '../errors.js';
import type { ArtifactRecord, ArtifactStore, BlobIndex, DeleteManifestResult, GcIndex, ManifestNode, ManifestRecord, Page, PutManifestInput, PutManifestResult, ReferrerRecord, RepositoryRecord, ReserveResult, UploadIndex, Visibility } from '../metadata-store.js';
import { isForeignKeyViolation, type SqlDb, type SqlValue } from './db.js';
import { bool, placeholders, forShare, forUpdate, parseJsonObject, visibilityClause, repoId } from './common.js';

// ---------------------------------------------------------------- repositories, manifests, tags

interface ArtifactRow {
  digest: Digest;
  media_type: string;
  artifact_type: string | null;
  subject: Digest | null;
  total_size: number;
  pushed_at: number;
  annotations: string | null;
}
const ARTIFACT_COLUMNS = 'm.digest, m.media_type, m.artifact_type, m.subject, m.total_size, m.pushed_at, m.annotations';
const toArtifact = (r: ArtifactRow, tags: readonly string[]): ArtifactRecord => ({
  digest: r.digest,
  mediaType: r.media_type,
  artifactType: r.artifact_type,
  subject: r.subject,
  size: r.total_size,
  tags,
  pushedAt: r.pushed_at,
  annotations: parseJsonObject(r.annotations),
});

interface RepositoryRow {
  name: string;
  project: string;
  created_at: number;
  updated_at: number;
  artifact_count: number | string;
}
const REPOSITORY_SELECT = `SELECT r.name, p.name AS project, r.created_at, r.updated_at,
  (SELECT COUNT(*) FROM manifests m WHERE m.repo_id = r.id) AS artifact_count
  FROM repositories r JOIN projects p ON p.id = r.project_id`;
const toRepository = (r: RepositoryRow): RepositoryRecord => ({ name: r.name, project: r.project, createdAt: r.created_at, updatedAt: r.updated_at, artifactCount: Number(r.artifact_count) });

export class SqlArtifacts implements ArtifactStore {
  constructor(private readonly db: SqlDb) {}

  async ensureRepository(name: string, project: string, now: number): Promise<number | undefined> {
    const existing = await repoId(this.db, name);
    if (existing !== undefined) return existing;
    await this.db.run(
      'INSERT INTO repositories (project_id, name, created_at, updated_at) SELECT id, ?, ?, ? FROM projects WHERE name = ? ON CONFLICT (name) DO NOTHING',
      [name, now, now, project],
    );
    return repoId(this.db, name);
  }

  async getRepository(name: string): Promise<RepositoryRecord | undefined> {
    const row = await this.db.get<RepositoryRow>(`${REPOSITORY_SELECT} WHERE r.name = ?`, [name]);
    return row && toRepository(row);
  }

  async listRepositories(project: string | null, visibility: Visibility, page: Page): Promise<RepositoryRecord[]> {
    const v = visibilityClause(visibility, 'p');
    const where = ['EXISTS (SELECT 1 FROM manifests m WHERE m.repo_id = r.id)', v.sql];
    const params: SqlValue[] = [...v.params];
    if (project !== null) (where.push('p.name = ?'), params.push(project));
    if (page.after !== undefined) (where.push('r.name > ?'), params.push(page.after));
    const rows = await this.db.all<RepositoryRow>(`${REPOSITORY_SELECT} WHERE ${where.join(' AND ')} ORDER BY r.name LIMIT ?`, [...params, page.limit]);
    return rows.map(toRepository);
  }

  async deleteRepository(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM repositories WHERE name = ?', [name])) > 0;
  }

  putManifest(input: PutManifestInput): Promise<PutManifestResult> {
    return this.db.transaction(async (tx) => {
      const id = await repoId(tx, input.repository);
      if (id === undefined) throw new StorageError('NOT_FOUND', `no repository "${input.repository}"`);

      let missingBlobs: Digest[] = [];
      if (input.blobs.length > 0) {
        const found = await tx.all<{ digest: Digest }>(
          `SELECT b.digest FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest
           WHERE rb.repo_id = ? AND b.state = 'live' AND rb.digest IN (${placeholders(input.blobs.length)})${forShare(tx, 'b')}`,
          [id, ...input.blobs],
        );
        const have = new Set(found.map((r) => r.digest));
        missingBlobs = input.blobs.filter((d) => !have.has(d));
      }
      let childBytes = 0;
      let missingManifests: Digest[] = [];
      if (input.children.length > 0) {
        const found = await tx.all<{ digest: Digest; total_size: number }>(
          `SELECT digest, total_size FROM manifests WHERE repo_id = ? AND digest IN (${placeholders(input.children.length)})`,
          [id, ...input.children],
        );
        const have = new Set(found.map((r) => r.digest));
        missingManifests = input.children.filter((d) => !have.has(d));
        childBytes = found.reduce((n, r) => n + r.total_size, 0);
      }
      if (missingBlobs.length > 0 || missingManifests.length > 0) return { kind: 'missing', blobs: missingBlobs, manifests: missingManifests };

      const created =
        (await tx.run(
          `INSERT INTO manifests (repo_id, digest, media_type, artifact_type, subject, annotations, size, total_size, content, pushed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repo_id, digest) DO NOTHING`,
          [
            id,
            input.digest,
            input.mediaType,
            input.artifactType,
            input.subject,
            input.annotations === null ? null : JSON.stringify(input.annotations),
            input.content.byteLength,
            input.content.byteLength + input.blobBytes + childBytes,
            Buffer.from(input.content.buffer, input.content.byteOffset, input.content.byteLength),
            input.now,
          ],
        )) > 0;
      if (created) {
        for (const b of input.blobs) await tx.run('INSERT INTO manifest_blobs (repo_id, manifest_digest, blob_digest) VALUES (?, ?, ?)', [id, input.digest, b]);
        for (const c of input.children) await tx.run('INSERT INTO manifest_children (repo_id, parent_digest, child_digest) VALUES (?, ?, ?)', [id, input.digest, c]);
      }
      if (input.tag !== null) {
        await tx.run(
          'INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at',
          [id, input.tag, input.digest, input.now],
        );
      }
      await tx.run('UPDATE repositories SET updated_at = ? WHERE id = ?', [input.now, id]);
      return { kind: 'stored', created };
    });
  }

  async getManifest(repository: string, reference: string, withContent: boolean): Promise<ManifestRecord | undefined> {
    const cols = withContent ? 'm.digest, m.media_type, m.size, m.content' : 'm.digest, m.media_type, m.size';
    const row = isDigest(reference)
      ? await this.db.get<{ digest: Digest; media_type: string; size: number; content?: Buffer }>(
          `SELECT ${cols} FROM manifests m JOIN repositories r ON r.id = m.repo_id WHERE r.name = ? AND m.digest = ?`,
          [repository, reference],
        )
      : await this.db.get<{ digest: Digest; media_type: string; size: number; content?: Buffer }>(
          `SELECT ${cols} FROM tags t JOIN repositories r ON r.id = t.repo_id JOIN manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest WHERE r.name = ? AND t.name = ?`,
          [repository, reference],
        );
    if (row === undefined) return undefined;
    return { digest: row.digest, mediaType: row.media_type, size: row.size, ...(row.content !== undefined ? { content: row.content } : {}) };
  }

  deleteManifest(repository: string, digest: Digest): Promise<DeleteManifestResult> {
    return this.db.transaction(async (tx) => {
      const id = await repoId(tx, repository);
      if (id === undefined) return { kind: 'unknown' };
      const parents = await tx.all<{ parent_digest: Digest }>('SELECT parent_digest FROM manifest_children WHERE repo_id = ? AND child_digest = ? ORDER BY parent_digest', [id, digest]);
      if (parents.length > 0) return { kind: 'referenced', by: parents.map((p) => p.parent_digest) };
      const n = await tx.run('DELETE FROM manifests WHERE repo_id = ? AND digest = ?', [id, digest]);
      return n > 0 ? { kind: 'deleted' } : { kind: 'unknown' };
    });
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM tags WHERE repo_id = (SELECT id FROM repositories WHERE name = ?) AND name = ?', [repository, tag])) > 0;
  }

  async listTags(repository: string, page: Page): Promise<string[] | undefined> {
    const id = await repoId(this.db, repository);
    if (id === undefined) return undefined;
    const rows =
      page.after === undefined
        ? await this.db.all<{ name: string }>('SELECT name FROM tags WHERE repo_id = ? ORDER BY name LIMIT ?', [id, page.limit])
        : await this.db.all<{ name: string }>('SELECT name FROM tags WHERE repo_id = ? AND name > ? ORDER BY name LIMIT ?', [id, page.after, page.limit]);
    return rows.map((r) => r.name);
  }

  async parents(repository: string, digest: Digest): Promise<Digest[]> {
    const rows = await this.db.all<{ parent_digest: Digest }>(
      'SELECT c.parent_digest FROM manifest_children c JOIN repositories r ON r.id = c.repo_id WHERE r.name = ? AND c.child_digest = ? ORDER BY c.parent_digest LIMIT 100',
      [repository, digest],
    );
    return rows.map((r) => r.parent_digest);
  }

  async referrers(repository: string, subject: Digest, artifactType: string | null): Promise<ReferrerRecord[]> {
    const params: SqlValue[] = [repository, subject];
    let filter = '';
    if (artifactType !== null) (filter = ' AND m.artifact_type = ?'), params.push(artifactType);
    const rows = await this.db.all<{ digest: Digest; media_type: string; size: number; artifact_type: string | null; annotations: string | null }>(
      `SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations FROM manifests m JOIN repositories r ON r.id = m.repo_id
       WHERE r.name = ? AND m.subject = ?${filter} ORDER BY m.pushed_at, m.digest`,
      params,
    );
    return rows.map((r) => ({ digest: r.digest, mediaType: r.media_type, size: r.size, artifactType: r.artifact_type, annotations: parseJsonObject(r.annotations) }));
  }

  async listArtifacts(repository: string): Promise<ArtifactRecord[]> {
    const id = await repoId(this.db, repository);
    if (id === undefined) return [];
    const rows = await this.db.all<ArtifactRow>(`SELECT ${ARTIFACT_COLUMNS} FROM manifests m WHERE m.repo_id = ? ORDER BY m.pushed_at DESC, m.digest`, [id]);
    const tags = await this.db.all<{ name: string; digest: Digest }>('SELECT name, digest FROM tags WHERE repo_id = ? ORDER BY name', [id]);
    const byDigest = new Map<string, string[]>();
    for (const t of tags) byDigest.set(t.digest, [...(byDigest.get(t.digest) ?? []), t.name]);
    return rows.map((r) => toArtifact(r, byDigest.get(r.digest) ?? []));
  }

  async getArtifact(repository: string, reference: string): Promise<ArtifactRecord | undefined> {
    const manifest = await this.getManifest(repository, reference, false);
    if (manifest === undefined) return undefined;
    const row = await this.db.get<ArtifactRow>(
      `SELECT ${ARTIFACT_COLUMNS} FROM manifests m JOIN repositories r ON r.id = m.repo_id WHERE r.name = ? AND m.digest = ?`,
      [repository, manifest.digest],
    );
    if (row === undefined) return undefined;
    const tags = await this.db.all<{ name: string }>(
      'SELECT t.name FROM tags t JOIN repositories r ON r.id = t.repo_id WHERE r.name = ? AND t.digest = ? ORDER BY t.name',
      [repository, manifest.digest],
    );
    return toArtifact(row, tags.map((t) => t.name));
  }
}

// ---------------------------------------------------------------- blobs

export class SqlBlobs implements BlobIndex {
  constructor(private readonly db: SqlDb) {}

  async reserve(digest: Digest, now: number): Promise<ReserveResult> {
    // A new row's size is unknown (-1) until link() records the verified size.
    const rows = await this.db.all<{ digest: string }>(
      `INSERT INTO blobs (digest, size, state, touched_at, created_at) VALUES (?, -1, 'live', ?, ?)
       ON CONFLICT (digest) DO UPDATE SET touched_at = excluded.touched_at WHERE blobs.state = 'live' RETURNING digest`,
      [digest, now, now],
    );
    return rows.length > 0 ? 'reserved' : 'busy';
  }

  link(repository: string, digest: Digest, size: number, now: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const live = await tx.run(`UPDATE blobs SET size = ?, touched_at = ? WHERE digest = ? AND state = 'live'`, [size, now, digest]);
      if (live === 0) return false;
      const n = await tx.run('INSERT INTO repo_blobs (repo_id, digest, created_at) SELECT id, ?, ? FROM repositories WHERE name = ? ON CONFLICT (repo_id, digest) DO NOTHING', [digest, now, repository]);
      if (n === 0 && (await repoId(tx, repository)) === undefined) throw new StorageError('NOT_FOUND', `no repository "${repository}"`);
      return true;
    });
  }

  async linked(repository: string, digest: Digest, touch?: { now: number; before: number }): Promise<number | undefined> {
    const row = await this.db.get<{ size: number; touched_at: number }>(
      `SELECT b.size, b.touched_at FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id JOIN blobs b ON b.digest = rb.digest
       WHERE r.name = ? AND rb.digest = ? AND b.state = 'live'`,
      [repository, digest],
    );
    if (row === undefined) return undefined;
    if (touch !== undefined && row.touched_at < touch.before) {
      await this.db.run(`UPDATE blobs SET touched_at = ? WHERE digest = ? AND state = 'live'`, [touch.now, digest]);
    }
    return row.size;
  }

  async unlink(repository: string, digest: Digest): Promise<boolean> {
    return (await this.db.run('DELETE FROM repo_blobs WHERE repo_id = (SELECT id FROM repositories WHERE name = ?) AND digest = ?', [repository, digest])) > 0;
  }

  mount(from: string, to: string, digest: Digest, now: number): Promise<number | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{ size: number }>(
        `SELECT b.size FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id JOIN blobs b ON b.digest = rb.digest
         WHERE r.name = ? AND rb.digest = ? AND b.state = 'live'${forShare(tx, 'b')}`,
        [from, digest],
      );
      if (row === undefined) return undefined;
      await tx.run('UPDATE blobs SET touched_at = ? WHERE digest = ?', [now, digest]);
      const n = await tx.run('INSERT INTO repo_blobs (repo_id, digest, created_at) SELECT id, ?, ? FROM repositories WHERE name = ? ON CONFLICT (repo_id, digest) DO NOTHING', [digest, now, to]);
      if (n === 0 && (await repoId(tx, to)) === undefined) throw new StorageError('NOT_FOUND', `no repository "${to}"`);
      return row.size;
    });
  }

  pin(name: string, digest: Digest, size: number, now: number): Promise<{ previous: Digest | undefined } | false> {
    return this.db.transaction(async (tx) => {
      // On PostgreSQL the row lock orders this and a collection's claim of the blob: whichever comes second sees the other.
      const live = await tx.run(`UPDATE blobs SET size = ?, touched_at = ? WHERE digest = ? AND state = 'live'`, [size, now, digest]);
      if (live === 0) return false;
      const before = await tx.get<{ digest: Digest }>(`SELECT digest FROM blob_pins WHERE name = ?${forUpdate(tx)}`, [name]);
      await tx.run('INSERT INTO blob_pins (name, digest, pinned_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, pinned_at = excluded.pinned_at', [name, digest, now]);
      if (before === undefined || before.digest === digest) return { previous: undefined };
      // The blob let go ages from now: a reader that had just started on it has the grace period to finish.
      await tx.run(`UPDATE blobs SET touched_at = ? WHERE digest = ? AND state = 'live'`, [now, before.digest]);
      return { previous: before.digest };
    });
  }
}

// ---------------------------------------------------------------- uploads

export class SqlUploads implements UploadIndex {
  constructor(private readonly db: SqlDb) {}

  async create(id: string, repository: string, now: number): Promise<void> {
    const n = await this.db.run('INSERT INTO uploads (id, repo_id, created_at, updated_at) SELECT ?, id, ?, ? FROM repositories WHERE name = ?', [id, now, now, repository]);
    if (n === 0) throw new StorageError('NOT_FOUND', `no repository "${repository}"`);
  }

  async get(id: string): Promise<{ repository: string; createdAt: number; updatedAt: number } | undefined> {
    const row = await this.db.get<{ name: string; created_at: number; updated_at: number }>(
      'SELECT r.name, u.created_at, u.updated_at FROM uploads u JOIN repositories r ON r.id = u.repo_id WHERE u.id = ?',
      [id],
    );
    return row && { repository: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.run('UPDATE uploads SET updated_at = ? WHERE id = ?', [now, id]);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM uploads WHERE id = ?', [id])) > 0;
  }

  async stale(before: number): Promise<string[]> {
    return (await this.db.all<{ id: string }>('SELECT id FROM uploads WHERE updated_at < ? ORDER BY id', [before])).map((r) => r.id);
  }
}

// ---------------------------------------------------------------- garbage collection

export class SqlGc implements GcIndex {
  constructor(private readonly db: SqlDb) {}

  unreferencedBlobs(before: number): Promise<{ digest: Digest; size: number }[]> {
    return this.db.all<{ digest: Digest; size: number }>(
      `SELECT b.digest, CASE WHEN b.size < 0 THEN 0 ELSE b.size END AS size FROM blobs b WHERE b.state = 'live' AND b.touched_at < ?
       AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.blob_digest = b.digest)
       AND NOT EXISTS (SELECT 1 FROM blob_pins p WHERE p.digest = b.digest) ORDER BY b.digest`,
      [before],
    );
  }

  claim(digest: Digest, before: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // On PostgreSQL the row lock waits out any manifest PUT holding the blob FOR SHARE; the
      // reference check below is a new statement, so it sees what that PUT committed.
      const row = await tx.get<{ state: string; touched_at: number }>(`SELECT state, touched_at FROM blobs WHERE digest = ?${forUpdate(tx)}`, [digest]);
      if (row === undefined || row.state !== 'live' || row.touched_at >= before) return false;
      const ref = await tx.get('SELECT 1 AS one FROM manifest_blobs WHERE blob_digest = ? LIMIT 1', [digest]);
      if (ref !== undefined) return false;
      if ((await tx.get('SELECT 1 AS one FROM blob_pins WHERE digest = ? LIMIT 1', [digest])) !== undefined) return false;
      await tx.run(`UPDATE blobs SET state = 'deleting' WHERE digest = ?`, [digest]);
      return true;
    });
  }

  async claimOrphan(digest: Digest, size: number): Promise<boolean> {
    return (await this.db.run(`INSERT INTO blobs (digest, size, state, touched_at, created_at) VALUES (?, ?, 'deleting', 0, 0) ON CONFLICT (digest) DO NOTHING`, [digest, size])) > 0;
  }

  async knownBlobs(): Promise<Digest[]> {
    return (await this.db.all<{ digest: Digest }>('SELECT digest FROM blobs')).map((r) => r.digest);
  }

  async claimed(): Promise<Digest[]> {
    return (await this.db.all<{ digest: Digest }>(`SELECT digest FROM blobs WHERE state = 'deleting' ORDER BY digest`)).map((r) => r.digest);
  }

  async forget(digest: Digest): Promise<void> {
    try {
      await this.db.run(`DELETE FROM blobs WHERE digest = ? AND state = 'deleting'`, [digest]);
    } catch (err) {
      // A manifest cannot reference a blob in 'deleting', so this is a broken invariant, not a race.
      if (isForeignKeyViolation(err)) throw new StorageError('CONFLICT', `blob ${digest} is referenced by a manifest; not forgotten`, { cause: err });
      throw err;
    }
  }

  async manifestGraph(): Promise<ManifestNode[]> {
    const rows = await this.db.all<{ repo: string; digest: Digest; subject: Digest | null; pushed_at: number; tagged: number | boolean }>(
      `SELECT r.name AS repo, m.digest, m.subject, m.pushed_at,
         CASE WHEN EXISTS (SELECT 1 FROM tags t WHERE t.repo_id = m.repo_id AND t.digest = m.digest) THEN 1 ELSE 0 END AS tagged
       FROM manifests m JOIN repositories r ON r.id = m.repo_id ORDER BY r.name, m.digest`,
    );
    const edges = await this.db.all<{ repo: string; parent_digest: Digest; child_digest: Digest }>(
      'SELECT r.name AS repo, c.parent_digest, c.child_digest FROM manifest_children c JOIN repositories r ON r.id = c.repo_id',
    );
    const children = new Map<string, Digest[]>();
    for (const e of edges) {
      const key = `${e.repo}@${e.parent_digest}`;
      children.set(key, [...(children.get(key) ?? []), e.child_digest]);
    }
    return rows.map((r) => ({ repository: r.repo, digest: r.digest, subject: r.subject, pushedAt: r.pushed_at, tagged: bool(r.tagged), children: children.get(`${r.repo}@${r.digest}`) ?? [] }));
  }

  deleteManifests(items: readonly { repository: string; digest: Digest }[]): Promise<number> {
    return this.db.transaction(async (tx) => {
      let n = 0;
      for (const it of items) n += await tx.run('DELETE FROM manifests WHERE repo_id = (SELECT id FROM repositories WHERE name = ?) AND digest = ?', [it.repository, it.digest]);
      return n;
    });
  }
}
