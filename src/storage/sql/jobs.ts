/** The durable job queue. */
import type { ClaimOptions, JobRecord, JobState, JobStore } from '../metadata-store.js';
import type { SqlDb } from './db.js';
import { placeholders } from './common.js';

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

export class SqlJobs implements JobStore {
  constructor(private readonly db: SqlDb) {}

  async enqueue(kind: string, key: string, payload: string, now: number): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO jobs (kind, job_key, payload, state, attempts, run_after, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?, ?) ON CONFLICT (kind, job_key) DO NOTHING`,
      [kind, key, payload, now, now, now],
    );
    return n > 0;
  }

  claim(o: ClaimOptions): Promise<JobRecord | undefined> {
    const { kinds, now } = o;
    if (kinds.length === 0) return Promise.resolve(undefined);
    return this.db.transaction(async (tx) => {
      const kindIn = `kind IN (${placeholders(kinds.length)})`;
      const ready = `((state = 'queued' AND run_after <= ?) OR (state = 'running' AND locked_until < ?))`;
      // Claimed maxAttempts times, and the last run ended with its process: not again.
      await tx.run(
        `UPDATE jobs SET state = 'failed', locked_until = NULL, holder = NULL, updated_at = ?,
           error = 'tried ' || attempts || ' times; the last run ended with the process running it (killed, or out of memory)'
         WHERE ${kindIn} AND ${ready} AND attempts >= ?`,
        [now, ...kinds, now, now, o.maxAttempts],
      );
      // Replicas claim side by side: PostgreSQL skips rows another claim holds; SQLite has one writer.
      const skip = tx.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
      const row = await tx.get<{ id: number }>(`SELECT id FROM jobs WHERE ${kindIn} AND ${ready} ORDER BY run_after, id LIMIT 1${skip}`, [...kinds, now, now]);
      if (row === undefined) return undefined;
      await tx.run(`UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = ?, holder = ?, updated_at = ? WHERE id = ?`, [now + o.leaseMs, o.holder, now, row.id]);
      const claimed = await tx.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`, [row.id]);
      return claimed === undefined ? undefined : toJob(claimed);
    });
  }

  async renew(id: number, holder: string, until: number, now: number): Promise<boolean> {
    return (await this.db.run(`UPDATE jobs SET locked_until = ?, updated_at = ? WHERE id = ? AND state = 'running' AND holder = ?`, [until, now, id, holder])) > 0;
  }

  async release(holder: string, now: number): Promise<number> {
    return this.db.run(
      `UPDATE jobs SET state = 'queued', locked_until = NULL, holder = NULL, run_after = ?, updated_at = ?, error = 'interrupted: the process running it restarted'
       WHERE state = 'running' AND holder = ?`,
      [now, now, holder],
    );
  }

  async giveBack(id: number, holder: string, now: number): Promise<boolean> {
    const n = await this.db.run(
      `UPDATE jobs SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, locked_until = NULL, holder = NULL, run_after = ?, updated_at = ?
       WHERE id = ? AND state = 'running' AND holder = ?`,
      [now, now, id, holder],
    );
    return n > 0;
  }

  async complete(id: number, holder: string, now: number): Promise<boolean> {
    const n = await this.db.run(`UPDATE jobs SET state = 'done', locked_until = NULL, holder = NULL, error = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND holder = ?`, [now, id, holder]);
    return n > 0;
  }

  async fail(id: number, holder: string, error: string, now: number, retryAt: number | null): Promise<boolean> {
    const n = await this.db.run(`UPDATE jobs SET state = ?, locked_until = NULL, holder = NULL, error = ?, run_after = ?, updated_at = ? WHERE id = ? AND state = 'running' AND holder = ?`, [
      retryAt === null ? 'failed' : 'queued',
      error.slice(0, 2000),
      retryAt ?? now,
      now,
      id,
      holder,
    ]);
    return n > 0;
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
