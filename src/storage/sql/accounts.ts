/** Users, projects with their members, and robot accounts. */
import { StorageError } from '../errors.js';
import type { MemberRecord, Membership, ProjectRecord, ProjectRole, ProjectStore, RepositoryAction, RobotPermission, RobotRecord, RobotStore, UserRecord, UserStore, Visibility } from '../metadata-store.js';
import { isUniqueViolation, type SqlDb, type SqlValue } from './db.js';
import { bool, forUpdate, visibilityClause } from './common.js';

// ---------------------------------------------------------------- users

interface UserRow {
  id: number;
  username: string;
  email: string | null;
  is_admin: number;
  security_team: number;
  created_at: number;
  updated_at: number;
}
const USER_COLUMNS = 'id, username, email, is_admin, security_team, created_at, updated_at';
const toUser = (r: UserRow): UserRecord => ({ id: Number(r.id), username: r.username, email: r.email, admin: bool(r.is_admin), securityTeam: bool(r.security_team), createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) });

export class SqlUsers implements UserStore {
  constructor(private readonly db: SqlDb) {}

  async create(u: { username: string; email: string | null; admin: boolean; securityTeam?: boolean; passwordHash: string; now: number }): Promise<UserRecord> {
    try {
      const row = await this.db.get<UserRow>(
        `INSERT INTO users (username, email, password_hash, is_admin, security_team, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
        [u.username, u.email, u.passwordHash, u.admin ? 1 : 0, u.securityTeam === true ? 1 : 0, u.now, u.now],
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

  async update(username: string, patch: { email?: string | null; admin?: boolean; securityTeam?: boolean; passwordHash?: string; now: number }): Promise<UserRecord> {
    const sets: string[] = ['updated_at = ?'];
    const params: SqlValue[] = [patch.now];
    if (patch.email !== undefined) (sets.push('email = ?'), params.push(patch.email));
    if (patch.admin !== undefined) (sets.push('is_admin = ?'), params.push(patch.admin ? 1 : 0));
    if (patch.securityTeam !== undefined) (sets.push('security_team = ?'), params.push(patch.securityTeam ? 1 : 0));
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

export class SqlProjects implements ProjectStore {
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

  /**
   * Runs `op` on `username`'s membership of `project` and refuses (CONFLICT) if it takes the
   * project's last project-admin away: only a system administrator could manage it then. On
   * PostgreSQL the project's row is locked first, so concurrent member changes of one project run
   * one after the other and two project-admins demoting each other cannot both succeed. (NO KEY
   * UPDATE: pushes referencing the project by foreign key need not wait.)
   */
  private keepAProjectAdmin<T>(project: string, username: string, op: (tx: SqlDb) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.get(`SELECT id FROM projects WHERE name = ?${tx.dialect === 'postgres' ? ' FOR NO KEY UPDATE' : ''}`, [project]);
      const admins = async () =>
        (await tx.all<{ username: string }>(
          "SELECT u.username FROM members m JOIN users u ON u.id = m.user_id JOIN projects p ON p.id = m.project_id WHERE p.name = ? AND m.role = 'project-admin'",
          [project],
        )).map((r) => r.username);
      const was = (await admins()).includes(username);
      const out = await op(tx);
      if (was && (await admins()).length === 0) {
        throw new StorageError('CONFLICT', `"${username}" is the last project-admin of "${project}": make another member project-admin first`);
      }
      return out;
    });
  }

  async setMember(project: string, username: string, role: ProjectRole): Promise<void> {
    const apply = async (db: SqlDb) => {
      const n = await db.run(
        `INSERT INTO members (project_id, user_id, role) SELECT p.id, u.id, ? FROM projects p, users u WHERE p.name = ? AND u.username = ?
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
        [role, project, username],
      );
      if (n === 0) {
        const known = await db.get('SELECT 1 AS x FROM projects WHERE name = ?', [project]);
        throw new StorageError('NOT_FOUND', known === undefined ? `no project "${project}"` : `no user "${username}"`);
      }
    };
    // Making someone project-admin never leaves a project without one.
    return role === 'project-admin' ? apply(this.db) : this.keepAProjectAdmin(project, username, apply);
  }

  removeMember(project: string, username: string): Promise<boolean> {
    return this.keepAProjectAdmin(project, username, async (tx) => {
      const n = await tx.run(
        'DELETE FROM members WHERE project_id = (SELECT id FROM projects WHERE name = ?) AND user_id = (SELECT id FROM users WHERE username = ?)',
        [project, username],
      );
      return n > 0;
    });
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

export class SqlRobots implements RobotStore {
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
