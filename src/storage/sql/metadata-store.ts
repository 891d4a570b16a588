import { isDigest, type Digest } from '../../oci/index.js';
import { StorageError } from '../errors.js';
import type {
  JobRecord,
  JobState,
  JobStore,
  ArtifactRecord,
  ArtifactStore,
  BlobIndex,
  DeleteManifestResult,
  GcIndex,
  ManifestNode,
  ManifestRecord,
  MemberRecord,
  Membership,
  MetadataStore,
  Page,
  ProjectRecord,
  ProjectRole,
  ProjectStore,
  PutManifestInput,
  PutManifestResult,
  ReferrerRecord,
  RepositoryAction,
  RepositoryRecord,
  ReserveResult,
  RobotPermission,
  RobotRecord,
  RobotStore,
  ScanEvaluation,
  ScanEvaluationState,
  ScanResultRecord,
  SigningKeyRecord,
  SigningKeyStore,
  StoredEvaluation,
  ScanResultStore,
  SettingsStore,
  UploadIndex,
  UserRecord,
  UserStore,
  Visibility,
} from '../metadata-store.js';
import { isForeignKeyViolation, isUniqueViolation, type SqlDb, type SqlValue } from './db.js';
import { MIGRATIONS, migrationSql } from './schema.js';

/** Applies the migrations this build knows; refuses a database migrated by a newer build. */
export async function migrate(db: SqlDb): Promise<void> {
  await db.transaction(async (tx) => {
    // Replicas starting together: one migrates, the others wait here and then find nothing to do.
    if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(7361626)');
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const row = await tx.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const current = row?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new StorageError('SCHEMA_TOO_NEW', `the metadata database is at schema version ${current}, newer than this build (${MIGRATIONS.length}): upgrade Portcullis`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      for (const statement of migrationSql(tx.dialect, v).split(/;\s*\n/)) {
        if (statement.trim() !== '') await tx.run(statement);
      }
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [v + 1, Date.now()]);
    }
  });
}

/** The metadata store over any SqlDb: one implementation, one contract suite, two backends. */
export class SqlMetadataStore implements MetadataStore {
  readonly users: UserStore;
  readonly projects: ProjectStore;
  readonly robots: RobotStore;
  readonly artifacts: ArtifactStore;
  readonly blobs: BlobIndex;
  readonly uploads: UploadIndex;
  readonly gc: GcIndex;
  readonly settings: SettingsStore;
  readonly jobs: JobStore;
  readonly scans: ScanResultStore;
  readonly signingKeys: SigningKeyStore;

  constructor(private readonly db: SqlDb) {
    this.users = new SqlUsers(db);
    this.projects = new SqlProjects(db);
    this.robots = new SqlRobots(db);
    this.artifacts = new SqlArtifacts(db);
    this.blobs = new SqlBlobs(db);
    this.uploads = new SqlUploads(db);
    this.gc = new SqlGc(db);
    this.settings = new SqlSettings(db);
    this.jobs = new SqlJobs(db);
    this.scans = new SqlScans(db);
    this.signingKeys = new SqlSigningKeys(db);
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS one');
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

// ---------------------------------------------------------------- helpers

const bool = (v: unknown): boolean => v === 1 || v === true || v === '1';
const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
const forShare = (db: SqlDb, table: string): string => (db.dialect === 'postgres' ? ` FOR SHARE OF ${table}` : '');
const forUpdate = (db: SqlDb): string => (db.dialect === 'postgres' ? ' FOR UPDATE' : '');

function parseJsonObject(text: string | null): Record<string, string> | null {
  return text === null ? null : (JSON.parse(text) as Record<string, string>);
}

function visibilityClause(v: Visibility, projectAlias: string): { sql: string; params: SqlValue[] } {
  if (v.kind === 'all') return { sql: '1 = 1', params: [] };
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (v.includePublic) parts.push(`${projectAlias}.is_public = 1`);
  if (v.projects.length > 0) {
    parts.push(`${projectAlias}.name IN (${placeholders(v.projects.length)})`);
    params.push(...v.projects);
  }
  return { sql: parts.length === 0 ? '1 = 0' : `(${parts.join(' OR ')})`, params };
}

async function repoId(db: SqlDb, name: string): Promise<number | undefined> {
  return (await db.get<{ id: number }>('SELECT id FROM repositories WHERE name = ?', [name]))?.id;
}

// ---------------------------------------------------------------- users

interface UserRow {
  id: number;
  username: string;
  email: string | null;
  is_admin: number;
  created_at: number;
  updated_at: number;
}
const USER_COLUMNS = 'id, username, email, is_admin, created_at, updated_at';
const toUser = (r: UserRow): UserRecord => ({ id: Number(r.id), username: r.username, email: r.email, admin: bool(r.is_admin), createdAt: r.created_at, updatedAt: r.updated_at });

class SqlUsers implements UserStore {
  constructor(private readonly db: SqlDb) {}

  async create(u: { username: string; email: string | null; admin: boolean; passwordHash: string; now: number }): Promise<UserRecord> {
    try {
      const row = await this.db.get<UserRow>(
        `INSERT INTO users (username, email, password_hash, is_admin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
        [u.username, u.email, u.passwordHash, u.admin ? 1 : 0, u.now, u.now],
      );
      return toUser(row!);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StorageError('CONFLICT', `user "${u.username}" already exists`);
      throw err;
    }
  }

  async get(username: string): Promise<UserRecord | undefined> {
    const row = await this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`, [username]);
    return row && toUser(row);
  }

  async list(): Promise<UserRecord[]> {
    return (await this.db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`)).map(toUser);
  }

  async credentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
    const row = await this.db.get<UserRow & { password_hash: string }>(`SELECT ${USER_COLUMNS}, password_hash FROM users WHERE username = ?`, [username]);
    return row && { user: toUser(row), passwordHash: row.password_hash };
  }

  /**
   * Runs `op` on `username` and refuses (CONFLICT) if it leaves no administrator. On PostgreSQL the
   * administrators' rows are locked first, so two admins demoting each other cannot both succeed.
   */
  private keepAnAdmin<T>(username: string, op: (tx: SqlDb) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const admins = await tx.all<{ username: string }>(`SELECT username FROM users WHERE is_admin = 1${forUpdate(tx)}`);
      const out = await op(tx);
      if (admins.some((a) => a.username === username)) {
        const left = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM users WHERE is_admin = 1');
        if (Number(left!.n) === 0) throw new StorageError('CONFLICT', `"${username}" is the last administrator: make someone else admin first`);
      }
      return out;
    });
  }

  async update(username: string, patch: { email?: string | null; admin?: boolean; passwordHash?: string; now: number }): Promise<UserRecord> {
    const sets: string[] = ['updated_at = ?'];
    const params: SqlValue[] = [patch.now];
    if (patch.email !== undefined) (sets.push('email = ?'), params.push(patch.email));
    if (patch.admin !== undefined) (sets.push('is_admin = ?'), params.push(patch.admin ? 1 : 0));
    if (patch.passwordHash !== undefined) (sets.push('password_hash = ?'), params.push(patch.passwordHash));
    const apply = async (db: SqlDb) => {
      const row = await db.get<UserRow>(`UPDATE users SET ${sets.join(', ')} WHERE username = ? RETURNING ${USER_COLUMNS}`, [...params, username]);
      if (row === undefined) throw new StorageError('NOT_FOUND', `no user "${username}"`);
      return toUser(row);
    };
    return patch.admin === false ? this.keepAnAdmin(username, apply) : apply(this.db);
  }

  delete(username: string): Promise<boolean> {
    return this.keepAnAdmin(username, async (tx) => (await tx.run('DELETE FROM users WHERE username = ?', [username])) > 0);
  }

  async count(): Promise<number> {
    return Number((await this.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM users'))!.n);
  }
}

// ---------------------------------------------------------------- projects

interface ProjectRow {
  id: number;
  name: string;
  is_public: number;
  created_at: number;
  repository_count: number | string;
}
const PROJECT_SELECT = `SELECT p.id, p.name, p.is_public, p.created_at,
  (SELECT COUNT(*) FROM repositories r WHERE r.project_id = p.id AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo_id = r.id)) AS repository_count
  FROM projects p`;
const toProject = (r: ProjectRow): ProjectRecord => ({ id: Number(r.id), name: r.name, public: bool(r.is_public), createdAt: r.created_at, repositoryCount: Number(r.repository_count) });

class SqlProjects implements ProjectStore {
  constructor(private readonly db: SqlDb) {}

  async create(p: { name: string; public: boolean; now: number }): Promise<ProjectRecord> {
    try {
      await this.db.run('INSERT INTO projects (name, is_public, created_at) VALUES (?, ?, ?)', [p.name, p.public ? 1 : 0, p.now]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StorageError('CONFLICT', `project "${p.name}" already exists`);
      throw err;
    }
    return (await this.get(p.name))!;
  }

  async get(name: string): Promise<ProjectRecord | undefined> {
    const row = await this.db.get<ProjectRow>(`${PROJECT_SELECT} WHERE p.name = ?`, [name]);
    return row && toProject(row);
  }

  async list(visibility: Visibility): Promise<ProjectRecord[]> {
    const v = visibilityClause(visibility, 'p');
    return (await this.db.all<ProjectRow>(`${PROJECT_SELECT} WHERE ${v.sql} ORDER BY p.name`, v.params)).map(toProject);
  }

  async update(name: string, patch: { public?: boolean }): Promise<ProjectRecord> {
    if (patch.public !== undefined) {
      const n = await this.db.run('UPDATE projects SET is_public = ? WHERE name = ?', [patch.public ? 1 : 0, name]);
      if (n === 0) throw new StorageError('NOT_FOUND', `no project "${name}"`);
    }
    const p = await this.get(name);
    if (p === undefined) throw new StorageError('NOT_FOUND', `no project "${name}"`);
    return p;
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM projects WHERE name = ?', [name])) > 0;
  }

  async members(name: string): Promise<MemberRecord[]> {
    const rows = await this.db.all<{ username: string; role: ProjectRole }>(
      'SELECT u.username, m.role FROM members m JOIN users u ON u.id = m.user_id JOIN projects p ON p.id = m.project_id WHERE p.name = ? ORDER BY u.username',
      [name],
    );
    return rows.map((r) => ({ username: r.username, role: r.role }));
  }

  async setMember(project: string, username: string, role: ProjectRole): Promise<void> {
    const n = await this.db.run(
      `INSERT INTO members (project_id, user_id, role) SELECT p.id, u.id, ? FROM projects p, users u WHERE p.name = ? AND u.username = ?
       ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
      [role, project, username],
    );
    if (n === 0) {
      const what = (await this.get(project)) === undefined ? `no project "${project}"` : `no user "${username}"`;
      throw new StorageError('NOT_FOUND', what);
    }
  }

  async removeMember(project: string, username: string): Promise<boolean> {
    const n = await this.db.run(
      'DELETE FROM members WHERE project_id = (SELECT id FROM projects WHERE name = ?) AND user_id = (SELECT id FROM users WHERE username = ?)',
      [project, username],
    );
    return n > 0;
  }

  async membershipsOf(username: string): Promise<Membership[]> {
    return this.db.all<Membership>(
      'SELECT p.name AS project, m.role AS role FROM members m JOIN users u ON u.id = m.user_id JOIN projects p ON p.id = m.project_id WHERE u.username = ? ORDER BY p.name',
      [username],
    );
  }
}

// ---------------------------------------------------------------- robots

interface RobotRow {
  id: number;
  name: string;
  description: string;
  is_disabled: number;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
}
const ROBOT_COLUMNS = 'id, name, description, is_disabled, created_by, created_at, expires_at';

class SqlRobots implements RobotStore {
  constructor(private readonly db: SqlDb) {}

  private async toRobot(r: RobotRow, db: SqlDb = this.db): Promise<RobotRecord> {
    const perms = await db.all<{ project: string; actions: string }>(
      'SELECT p.name AS project, rp.actions FROM robot_permissions rp JOIN projects p ON p.id = rp.project_id WHERE rp.robot_id = ? ORDER BY p.name',
      [r.id],
    );
    return {
      id: Number(r.id),
      name: r.name,
      description: r.description,
      permissions: perms.map((p) => ({ project: p.project, actions: p.actions.split(',') as RepositoryAction[] })),
      disabled: bool(r.is_disabled),
      createdBy: r.created_by,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
    };
  }

  create(robot: { name: string; description: string; secretHash: string; permissions: readonly RobotPermission[]; createdBy: string | null; expiresAt: number | null; now: number }): Promise<RobotRecord> {
    return this.db.transaction(async (tx) => {
      let row: RobotRow | undefined;
      try {
        row = await tx.get<RobotRow>(
          `INSERT INTO robots (name, description, secret_hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${ROBOT_COLUMNS}`,
          [robot.name, robot.description, robot.secretHash, robot.createdBy, robot.now, robot.expiresAt],
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new StorageError('CONFLICT', `robot account "${robot.name}" already exists`);
        throw err;
      }
      for (const p of robot.permissions) {
        const n = await tx.run('INSERT INTO robot_permissions (robot_id, project_id, actions) SELECT ?, id, ? FROM projects WHERE name = ?', [row!.id, p.actions.join(','), p.project]);
        if (n === 0) throw new StorageError('NOT_FOUND', `no project "${p.project}"`);
      }
      return this.toRobot(row!, tx);
    });
  }

  async get(name: string): Promise<RobotRecord | undefined> {
    const row = await this.db.get<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE name = ?`, [name]);
    return row && this.toRobot(row);
  }

  async credentials(name: string): Promise<{ robot: RobotRecord; secretHash: string } | undefined> {
    const row = await this.db.get<RobotRow & { secret_hash: string }>(`SELECT ${ROBOT_COLUMNS}, secret_hash FROM robots WHERE name = ?`, [name]);
    return row && { robot: await this.toRobot(row), secretHash: row.secret_hash };
  }

  async list(): Promise<RobotRecord[]> {
    const rows = await this.db.all<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots ORDER BY name`);
    return Promise.all(rows.map((r) => this.toRobot(r)));
  }

  async update(name: string, patch: { disabled?: boolean; secretHash?: string; description?: string }): Promise<RobotRecord> {
    const sets: string[] = [];
    const params: SqlValue[] = [];
    if (patch.disabled !== undefined) (sets.push('is_disabled = ?'), params.push(patch.disabled ? 1 : 0));
    if (patch.secretHash !== undefined) (sets.push('secret_hash = ?'), params.push(patch.secretHash));
    if (patch.description !== undefined) (sets.push('description = ?'), params.push(patch.description));
    const row =
      sets.length === 0
        ? await this.db.get<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE name = ?`, [name])
        : await this.db.get<RobotRow>(`UPDATE robots SET ${sets.join(', ')} WHERE name = ? RETURNING ${ROBOT_COLUMNS}`, [...params, name]);
    if (row === undefined) throw new StorageError('NOT_FOUND', `no robot account "${name}"`);
    return this.toRobot(row);
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM robots WHERE name = ?', [name])) > 0;
  }
}

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

class SqlArtifacts implements ArtifactStore {
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

class SqlBlobs implements BlobIndex {
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
      await tx.run('INSERT INTO repo_blobs (repo_id, digest, created_at) SELECT id, ?, ? FROM repositories WHERE name = ? ON CONFLICT (repo_id, digest) DO NOTHING', [digest, now, to]);
      return row.size;
    });
  }
}

// ---------------------------------------------------------------- uploads

class SqlUploads implements UploadIndex {
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

class SqlGc implements GcIndex {
  constructor(private readonly db: SqlDb) {}

  unreferencedBlobs(before: number): Promise<{ digest: Digest; size: number }[]> {
    return this.db.all<{ digest: Digest; size: number }>(
      `SELECT b.digest, CASE WHEN b.size < 0 THEN 0 ELSE b.size END AS size FROM blobs b WHERE b.state = 'live' AND b.touched_at < ?
       AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.blob_digest = b.digest) ORDER BY b.digest`,
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

// ---------------------------------------------------------------- settings

class SqlSettings implements SettingsStore {
  constructor(private readonly db: SqlDb) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))?.value;
  }

  async putIfAbsent(key: string, value: string): Promise<string> {
    await this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.get(key))!;
  }

  async put(key: string, value: string): Promise<void> {
    await this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }
}

// ---------------------------------------------------------------- jobs

interface JobRow {
  id: number;
  kind: string;
  job_key: string;
  payload: string;
  state: JobState;
  attempts: number;
  run_after: number;
  error: string | null;
  created_at: number;
  updated_at: number;
}
const JOB_COLUMNS = 'id, kind, job_key, payload, state, attempts, run_after, error, created_at, updated_at';
const toJob = (r: JobRow): JobRecord => ({
  id: Number(r.id),
  kind: r.kind,
  key: r.job_key,
  payload: r.payload,
  state: r.state,
  attempts: Number(r.attempts),
  runAfter: Number(r.run_after),
  error: r.error,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

class SqlJobs implements JobStore {
  constructor(private readonly db: SqlDb) {}

  async enqueue(kind: string, key: string, payload: string, now: number): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO jobs (kind, job_key, payload, state, attempts, run_after, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?, ?) ON CONFLICT (kind, job_key) DO NOTHING`,
      [kind, key, payload, now, now, now],
    );
    return n > 0;
  }

  claim(kinds: readonly string[], now: number, leaseMs: number): Promise<JobRecord | undefined> {
    if (kinds.length === 0) return Promise.resolve(undefined);
    return this.db.transaction(async (tx) => {
      // Replicas claim side by side: PostgreSQL skips rows another claim holds; SQLite has one writer.
      const skip = tx.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
      const row = await tx.get<{ id: number }>(
        `SELECT id FROM jobs WHERE kind IN (${placeholders(kinds.length)})
           AND ((state = 'queued' AND run_after <= ?) OR (state = 'running' AND locked_until < ?))
         ORDER BY run_after, id LIMIT 1${skip}`,
        [...kinds, now, now],
      );
      if (row === undefined) return undefined;
      await tx.run(`UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = ?, updated_at = ? WHERE id = ?`, [now + leaseMs, now, row.id]);
      const claimed = await tx.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`, [row.id]);
      return claimed === undefined ? undefined : toJob(claimed);
    });
  }

  async complete(id: number, now: number): Promise<void> {
    await this.db.run(`UPDATE jobs SET state = 'done', locked_until = NULL, error = NULL, updated_at = ? WHERE id = ?`, [now, id]);
  }

  async fail(id: number, error: string, now: number, retryAt: number | null): Promise<void> {
    await this.db.run(`UPDATE jobs SET state = ?, locked_until = NULL, error = ?, run_after = ?, updated_at = ? WHERE id = ?`, [
      retryAt === null ? 'failed' : 'queued',
      error.slice(0, 2000),
      retryAt ?? now,
      now,
      id,
    ]);
  }

  async get(kind: string, key: string): Promise<JobRecord | undefined> {
    const row = await this.db.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE kind = ? AND job_key = ?`, [kind, key]);
    return row === undefined ? undefined : toJob(row);
  }

  async requeue(kind: string, key: string, now: number): Promise<boolean> {
    const n = await this.db.run(
      `UPDATE jobs SET state = 'queued', attempts = 0, run_after = ?, locked_until = NULL, error = NULL, updated_at = ? WHERE kind = ? AND job_key = ? AND state IN ('done', 'failed')`,
      [now, now, kind, key],
    );
    return n > 0;
  }

  async counts(kind: string): Promise<Record<JobState, number>> {
    const rows = await this.db.all<{ state: JobState; n: number }>('SELECT state, COUNT(*) AS n FROM jobs WHERE kind = ? GROUP BY state', [kind]);
    const out: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }
}

// ---------------------------------------------------------------- scan results

interface ScanRow {
  repository: string;
  digest: string;
  db_built_at: string | null;
  scanned_at: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
  fixable: number;
  secrets: number;
  misconfigurations: number;
  report_digest: string;
}
interface EvaluationRow extends ScanRow {
  repo_id: number;
  vuln_ids: string;
  vuln_refs: Uint8Array | null;
  match_keys: string | null;
  key_refs: Uint8Array | null;
}
const SCAN_COLUMNS = 'r.name AS repository, s.digest, s.db_built_at, s.scanned_at, s.critical, s.high, s.medium, s.low, s.unknown, s.fixable, s.secrets, s.misconfigurations, s.report_digest';
const EVALUATION_SELECT = `SELECT s.repo_id, ${SCAN_COLUMNS}, s.vuln_ids, s.vuln_refs, k.match_keys, k.key_refs FROM scan_results s JOIN repositories r ON r.id = s.repo_id
  LEFT JOIN scan_match_keys k ON k.repo_id = s.repo_id AND k.digest = s.digest`;
const toScan = (r: ScanRow): ScanResultRecord => ({
  repository: r.repository,
  digest: r.digest as Digest,
  dbBuiltAt: r.db_built_at,
  scannedAt: Number(r.scanned_at),
  summary: {
    critical: Number(r.critical),
    high: Number(r.high),
    medium: Number(r.medium),
    low: Number(r.low),
    unknown: Number(r.unknown),
    fixable: Number(r.fixable),
    secrets: Number(r.secrets),
    misconfigurations: Number(r.misconfigurations),
  },
  reportDigest: r.report_digest as Digest,
});

function toEvaluation(r: EvaluationRow): StoredEvaluation {
  const vulnerabilities = r.vuln_refs === null ? undefined : decodeRefs(r.vuln_refs);
  const keys = r.key_refs === null ? undefined : decodeRefs(r.key_refs);
  const legacyKeys = keys === undefined && r.match_keys !== null && r.match_keys !== '' ? r.match_keys : undefined;
  return {
    record: toScan(r),
    vulnerabilities,
    keys,
    ...(vulnerabilities === undefined || legacyKeys !== undefined ? { legacy: { vulnerabilityIds: vulnerabilities === undefined ? legacyIds(r.vuln_ids) : [], matchKeys: legacyKeys } } : {}),
  };
}

function legacyIds(text: string): string[] {
  try {
    const ids = JSON.parse(text) as unknown;
    return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
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

class SqlScans implements ScanResultStore {
  constructor(private readonly db: SqlDb) {}

  async put(record: ScanResultRecord, state: ScanEvaluationState): Promise<boolean> {
    const id = await repoId(this.db, record.repository);
    if (id === undefined) return false;
    const s = record.summary;
    try {
      await this.db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO scan_results (repo_id, digest, db_built_at, scanned_at, critical, high, medium, low, unknown, fixable, secrets, misconfigurations, report_digest, vuln_ids, vuln_refs)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?)
           ON CONFLICT (repo_id, digest) DO UPDATE SET db_built_at = excluded.db_built_at, scanned_at = excluded.scanned_at, critical = excluded.critical,
             high = excluded.high, medium = excluded.medium, low = excluded.low, unknown = excluded.unknown, fixable = excluded.fixable,
             secrets = excluded.secrets, misconfigurations = excluded.misconfigurations, report_digest = excluded.report_digest, vuln_ids = excluded.vuln_ids, vuln_refs = excluded.vuln_refs`,
          [id, record.digest, record.dbBuiltAt, record.scannedAt, s.critical, s.high, s.medium, s.low, s.unknown, s.fixable, s.secrets, s.misconfigurations, record.reportDigest, encodeRefs(state.vulnerabilities)],
        );
        if (state.keys !== undefined) await putKeys(tx, id, record.digest, state.keys);
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
            : await tx.run(`UPDATE scan_results SET ${set}, vuln_ids = '[]', vuln_refs = ? WHERE repo_id = ? AND digest = ?`, [...values, encodeRefs(e.vulnerabilities), id, e.digest]);
        if (changed === 0) continue;
        updated += 1;
        if (e.keys !== undefined) await putKeys(tx, id, e.digest, e.keys);
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
}

async function putKeys(tx: SqlDb, repoId: number, digest: string, keys: Uint32Array): Promise<void> {
  await tx.run(
    `INSERT INTO scan_match_keys (repo_id, digest, match_keys, key_refs) VALUES (?, ?, '', ?)
     ON CONFLICT (repo_id, digest) DO UPDATE SET match_keys = excluded.match_keys, key_refs = excluded.key_refs`,
    [repoId, digest, encodeRefs(keys)],
  );
}

class SqlSigningKeys implements SigningKeyStore {
  constructor(private readonly db: SqlDb) {}

  async get(project: string): Promise<SigningKeyRecord | undefined> {
    const row = await this.db.get<{ encrypted_key: string; public_key: string; created_at: number }>(
      'SELECT k.encrypted_key, k.public_key, k.created_at FROM project_signing_keys k JOIN projects p ON p.id = k.project_id WHERE p.name = ?',
      [project],
    );
    return row === undefined ? undefined : { project, encryptedKey: row.encrypted_key, publicKey: row.public_key, createdAt: Number(row.created_at) };
  }

  async put(key: SigningKeyRecord): Promise<boolean> {
    const changed = await this.db.run(
      `INSERT INTO project_signing_keys (project_id, encrypted_key, public_key, created_at) SELECT id, ?, ?, ? FROM projects WHERE name = ?
       ON CONFLICT (project_id) DO UPDATE SET encrypted_key = excluded.encrypted_key, public_key = excluded.public_key, created_at = excluded.created_at`,
      [key.encryptedKey, key.publicKey, key.createdAt, key.project],
    );
    return changed > 0;
  }

  async delete(project: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM project_signing_keys WHERE project_id = (SELECT id FROM projects WHERE name = ?)', [project])) > 0;
  }
}

/** A page cursor of the scan listings: the last (repository id, digest) seen. */
function parseCursor(cursor: string | undefined): [number, string] {
  if (cursor === undefined) return [-1, ''];
  const slash = cursor.indexOf('/');
  const repo = Number(cursor.slice(0, slash));
  if (slash < 1 || !Number.isSafeInteger(repo)) throw new Error(`not a scan listing cursor: ${cursor}`);
  return [repo, cursor.slice(slash + 1)];
}
