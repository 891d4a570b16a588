/** The audit log: appended in a chain of hashes, read in order (see AuditStore). */
import type { AuditCheckpoint, AuditEntry, AuditFilter, AuditLink, AuditRecord, AuditStore } from '../audit-store.js';
import type { SqlDb, SqlValue } from './db.js';

// Selected under the record's own names: rows come back as AuditRecords, with nothing to map
// (reading a million entries to check the chain allocates one object per entry, the driver's).
const COLUMNS = 'seq, at, actor, client, action, project, resource, outcome, detail, prev_hash AS "prevHash", hash';
const INSERT_COLUMNS = 'seq, at, actor, client, action, project, resource, outcome, detail, prev_hash, hash';
const PLACEHOLDERS = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
/** Rows per INSERT: powers of two up to this, so that few distinct statements are ever prepared. */
const MAX_ROWS_PER_INSERT = 256;
/** PostgreSQL's advisory lock of the chain's end: appends and cuts of every replica take turns. */
const CHAIN_LOCK = 7361627;

/** The hash the first entry carries as its predecessor's. */
export const GENESIS_HASH = '0'.repeat(64);

export class SqlAudit implements AuditStore {
  constructor(private readonly db: SqlDb) {}

  append(entries: readonly AuditEntry[], hash: (link: AuditLink) => string): Promise<AuditRecord[]> {
    if (entries.length === 0) return Promise.resolve([]);
    return this.db.transaction(async (tx) => {
      // One appender at a time, across replicas: the chain has one end. (SQLite's BEGIN IMMEDIATE
      // already holds the database's one write lock.)
      if (tx.dialect === 'postgres') await tx.get(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`);
      let prev = await end(tx);
      const records = entries.map((entry) => {
        const link: AuditLink = { ...entry, seq: prev.seq + 1, prevHash: prev.hash };
        const record: AuditRecord = { ...link, hash: hash(link) };
        prev = record;
        return record;
      });
      await insert(tx, records);
      return records;
    });
  }

  async list(filter: AuditFilter): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.project !== undefined) (where.push('project = ?'), params.push(filter.project));
    if (filter.actor !== undefined) (where.push('actor = ?'), params.push(filter.actor));
    if (filter.action !== undefined) (where.push('action = ?'), params.push(filter.action));
    if (filter.since !== undefined) (where.push('at >= ?'), params.push(filter.since));
    if (filter.after !== undefined) (where.push('seq > ?'), params.push(filter.after));
    return this.db.all<AuditRecord>(`SELECT ${COLUMNS} FROM audit_log${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`, [...params, filter.limit]);
  }

  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    const row = await this.db.get<AuditCheckpoint>('SELECT seq, hash, created_at AS "createdAt" FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
    return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash, createdAt: Number(row.createdAt) };
  }

  cut(through: { readonly seq: number; readonly hash: string }, record: AuditEntry, hash: (link: AuditLink) => string, now: number): Promise<{ deleted: number; record: AuditRecord } | undefined> {
    return this.db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.get(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`);
      const last = await tx.get<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = ?', [through.seq]);
      if (last === undefined || last.hash !== through.hash) return undefined;
      // The checkpoint first, then the cut: the chain is never without its start.
      await tx.run('INSERT INTO audit_checkpoints (seq, hash, created_at) VALUES (?, ?, ?)', [through.seq, through.hash, now]);
      const deleted = await tx.run('DELETE FROM audit_log WHERE seq <= ?', [through.seq]);
      const prev = await end(tx);
      const link: AuditLink = { ...record, seq: prev.seq + 1, prevHash: prev.hash };
      const appended: AuditRecord = { ...link, hash: hash(link) };
      await insert(tx, [appended]);
      return { deleted, record: appended };
    });
  }
}

/** The chain's last link: its newest entry, else the checkpoint it was cut at, else the genesis. */
async function end(tx: SqlDb): Promise<{ seq: number; hash: string }> {
  const last =
    (await tx.get<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')) ??
    (await tx.get<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1'));
  return last === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(last.seq), hash: last.hash };
}

async function insert(tx: SqlDb, records: readonly AuditRecord[]): Promise<void> {
  for (let i = 0; i < records.length; ) {
    let n = MAX_ROWS_PER_INSERT;
    while (n > records.length - i) n >>= 1;
    const params: SqlValue[] = [];
    for (const r of records.slice(i, i + n)) params.push(r.seq, r.at, r.actor, r.client, r.action, r.project, r.resource, r.outcome, r.detail, r.prevHash, r.hash);
    await tx.run(`INSERT INTO audit_log (${INSERT_COLUMNS}) VALUES ${Array(n).fill(PLACEHOLDERS).join(', ')}`, params);
    i += n;
  }
}
