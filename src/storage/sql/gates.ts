/** The gates' records: project policies, trusted keys, waivers and promotions. */
import type { Digest } from '../../oci/index.js';
import type { GateOutcome, PolicyRecord, PolicyStore, PromotionRecord, PromotionStore, TrustedKeyRecord, TrustedKeyStore, WaiverRecord, WaiverState, WaiverStore } from '../gates.js';
import { forUpdate } from './common.js';
import { isUniqueViolation, type SqlDb, type SqlValue } from './db.js';

const projectId = async (db: SqlDb, name: string): Promise<number | undefined> => {
  const row = await db.get<{ id: number }>('SELECT id FROM projects WHERE name = ?', [name]);
  return row === undefined ? undefined : Number(row.id);
};

// ---------------------------------------------------------------- policies

export class SqlPolicies implements PolicyStore {
  constructor(private readonly db: SqlDb) {}

  async get(project: string): Promise<PolicyRecord | undefined> {
    const row = await this.db.get<{ document: string; updated_at: number; updated_by: string | null }>(
      'SELECT pp.document, pp.updated_at, pp.updated_by FROM project_policies pp JOIN projects p ON p.id = pp.project_id WHERE p.name = ?',
      [project],
    );
    return row === undefined ? undefined : { project, document: row.document, updatedAt: Number(row.updated_at), updatedBy: row.updated_by };
  }

  async put(r: PolicyRecord): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO project_policies (project_id, document, updated_at, updated_by) SELECT id, ?, ?, ? FROM projects WHERE name = ?
       ON CONFLICT (project_id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      [r.document, r.updatedAt, r.updatedBy, r.project],
    );
    return n > 0;
  }
}

// ---------------------------------------------------------------- trusted keys

export class SqlTrustedKeys implements TrustedKeyStore {
  constructor(private readonly db: SqlDb) {}

  async list(project: string): Promise<TrustedKeyRecord[]> {
    const rows = await this.db.all<{ name: string; public_key: string; created_at: number; created_by: string | null }>(
      'SELECT k.name, k.public_key, k.created_at, k.created_by FROM trusted_keys k JOIN projects p ON p.id = k.project_id WHERE p.name = ? ORDER BY k.name',
      [project],
    );
    return rows.map((r) => ({ project, name: r.name, publicKey: r.public_key, createdAt: Number(r.created_at), createdBy: r.created_by }));
  }

  async add(r: TrustedKeyRecord): Promise<'added' | 'exists' | 'no-project'> {
    const id = await projectId(this.db, r.project);
    if (id === undefined) return 'no-project';
    try {
      await this.db.run('INSERT INTO trusted_keys (project_id, name, public_key, created_at, created_by) VALUES (?, ?, ?, ?, ?)', [id, r.name, r.publicKey, r.createdAt, r.createdBy]);
    } catch (err) {
      if (isUniqueViolation(err)) return 'exists';
      throw err;
    }
    return 'added';
  }

  async delete(project: string, name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM trusted_keys WHERE name = ? AND project_id = (SELECT id FROM projects WHERE name = ?)', [name, project])) > 0;
  }
}

// ---------------------------------------------------------------- waivers

interface WaiverRow {
  id: number;
  project: string;
  repository: string | null;
  digest: string | null;
  vuln_ids: string;
  reason: string;
  requested_by: string;
  requested_at: number;
  expires_at: number;
  state: WaiverState;
  decided_by: string | null;
  decided_at: number | null;
  comment: string | null;
}
const WAIVER_SELECT = `SELECT w.id, p.name AS project, w.repository, w.digest, w.vuln_ids, w.reason, w.requested_by, w.requested_at, w.expires_at, w.state, w.decided_by, w.decided_at, w.comment
  FROM waivers w JOIN projects p ON p.id = w.project_id`;
const toWaiver = (r: WaiverRow): WaiverRecord => ({
  id: Number(r.id),
  project: r.project,
  repository: r.repository,
  digest: r.digest as Digest | null,
  ids: JSON.parse(r.vuln_ids) as string[],
  reason: r.reason,
  requestedBy: r.requested_by,
  requestedAt: Number(r.requested_at),
  expiresAt: Number(r.expires_at),
  state: r.state,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  comment: r.comment,
});

export class SqlWaivers implements WaiverStore {
  constructor(private readonly db: SqlDb) {}

  async create(w: Omit<WaiverRecord, 'id' | 'state' | 'decidedBy' | 'decidedAt' | 'comment'>): Promise<WaiverRecord | undefined> {
    const id = await projectId(this.db, w.project);
    if (id === undefined) return undefined;
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO waivers (project_id, repository, digest, vuln_ids, reason, requested_by, requested_at, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending') RETURNING id`,
      [id, w.repository, w.digest, JSON.stringify(w.ids), w.reason, w.requestedBy, w.requestedAt, w.expiresAt],
    );
    return this.get(Number(row!.id));
  }

  async get(id: number): Promise<WaiverRecord | undefined> {
    const row = await this.db.get<WaiverRow>(`${WAIVER_SELECT} WHERE w.id = ?`, [id]);
    return row === undefined ? undefined : toWaiver(row);
  }

  decide(id: number, decision: Exclude<WaiverState, 'pending'>, by: string, comment: string | null, now: number): Promise<WaiverRecord | 'not-pending' | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{ state: WaiverState }>(`SELECT state FROM waivers WHERE id = ?${forUpdate(tx)}`, [id]);
      if (row === undefined) return undefined;
      if (row.state !== 'pending') return 'not-pending';
      await tx.run('UPDATE waivers SET state = ?, decided_by = ?, decided_at = ?, comment = ? WHERE id = ?', [decision, by, now, comment, id]);
      const after = await tx.get<WaiverRow>(`${WAIVER_SELECT} WHERE w.id = ?`, [id]);
      return toWaiver(after!);
    });
  }

  async list(filter: { readonly project?: string; readonly state?: WaiverState; readonly limit: number }): Promise<WaiverRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.project !== undefined) (where.push('p.name = ?'), params.push(filter.project));
    if (filter.state !== undefined) (where.push('w.state = ?'), params.push(filter.state));
    const rows = await this.db.all<WaiverRow>(`${WAIVER_SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY w.id DESC LIMIT ?`, [...params, filter.limit]);
    return rows.map(toWaiver);
  }

  async active(project: string, now: number): Promise<WaiverRecord[]> {
    const rows = await this.db.all<WaiverRow>(`${WAIVER_SELECT} WHERE p.name = ? AND w.state = 'approved' AND w.expires_at > ? ORDER BY w.id`, [project, now]);
    return rows.map(toWaiver);
  }
}

// ---------------------------------------------------------------- promotions

interface PromotionRow {
  id: number;
  source: string;
  source_digest: string;
  target: string;
  target_tag: string | null;
  target_project: string;
  actor: string | null;
  outcome: 'promoted' | 'refused';
  gates: string;
  signature: string | null;
  created_at: number;
}
const PROMOTION_COLUMNS = 'id, source, source_digest, target, target_tag, target_project, actor, outcome, gates, signature, created_at';
const toPromotion = (r: PromotionRow): PromotionRecord => ({
  id: Number(r.id),
  source: r.source,
  sourceDigest: r.source_digest as Digest,
  target: r.target,
  targetTag: r.target_tag,
  targetProject: r.target_project,
  actor: r.actor,
  outcome: r.outcome,
  gates: JSON.parse(r.gates) as GateOutcome[],
  signature: r.signature as Digest | null,
  createdAt: Number(r.created_at),
});

export class SqlPromotions implements PromotionStore {
  constructor(private readonly db: SqlDb) {}

  async record(p: Omit<PromotionRecord, 'id'>): Promise<PromotionRecord> {
    const row = await this.db.get<PromotionRow>(
      `INSERT INTO promotions (source, source_digest, target, target_tag, target_project, actor, outcome, gates, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${PROMOTION_COLUMNS}`,
      [p.source, p.sourceDigest, p.target, p.targetTag, p.targetProject, p.actor, p.outcome, JSON.stringify(p.gates), p.signature, p.createdAt],
    );
    return toPromotion(row!);
  }

  async list(filter: { readonly project?: string; readonly digest?: Digest; readonly limit: number }): Promise<PromotionRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.project !== undefined) (where.push('target_project = ?'), params.push(filter.project));
    if (filter.digest !== undefined) (where.push('source_digest = ?'), params.push(filter.digest));
    const rows = await this.db.all<PromotionRow>(`SELECT ${PROMOTION_COLUMNS} FROM promotions${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, [...params, filter.limit]);
    return rows.map(toPromotion);
  }
}
