/** Projects' webhooks and the log of their deliveries (see WebhookStore). */
import type { WebhookAttempt, WebhookAttemptOutcome, WebhookDeliveryJob, WebhookDeliveryLog, WebhookDeliveryRecord, WebhookDeliveryState, WebhookRecord, WebhookStore } from '../webhook-store.js';
import { bool, forUpdate } from './common.js';
import type { SqlDb } from './db.js';
import { SqlJobs } from './jobs.js';

interface WebhookRow {
  id: number;
  project: string;
  url: string;
  events: string;
  secret: string;
  format: string;
  enabled: number;
  created_at: number;
  created_by: string | null;
}
const SELECT = 'SELECT w.id, p.name AS project, w.url, w.events, w.secret, w.format, w.enabled, w.created_at, w.created_by FROM webhooks w JOIN projects p ON p.id = w.project_id';
const toRecord = (r: WebhookRow): WebhookRecord => ({
  id: Number(r.id),
  project: r.project,
  url: r.url,
  events: JSON.parse(r.events) as string[],
  secret: r.secret,
  format: r.format,
  enabled: bool(r.enabled),
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});

export class SqlWebhooks implements WebhookStore {
  readonly deliveries: WebhookDeliveryLog;

  constructor(private readonly db: SqlDb) {
    this.deliveries = new SqlWebhookDeliveries(db);
  }

  async create(w: Omit<WebhookRecord, 'id'>): Promise<WebhookRecord | undefined> {
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO webhooks (project_id, url, events, secret, format, enabled, created_at, created_by) SELECT id, ?, ?, ?, ?, ?, ?, ? FROM projects WHERE name = ? RETURNING id',
      [w.url, JSON.stringify(w.events), w.secret, w.format, w.enabled ? 1 : 0, w.createdAt, w.createdBy, w.project],
    );
    return row === undefined ? undefined : this.get(Number(row.id));
  }

  async get(id: number): Promise<WebhookRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const row = await this.db.get<WebhookRow>(`${SELECT} WHERE w.id = ?`, [id]);
    return row === undefined ? undefined : toRecord(row);
  }

  async list(project: string): Promise<WebhookRecord[]> {
    return (await this.db.all<WebhookRow>(`${SELECT} WHERE p.name = ? ORDER BY w.id`, [project])).map(toRecord);
  }

  async delete(project: string, id: number): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    return (await this.db.run('DELETE FROM webhooks WHERE id = ? AND project_id = (SELECT id FROM projects WHERE name = ?)', [id, project])) > 0;
  }
}

interface DeliveryRow {
  id: string;
  webhook_id: number;
  project: string;
  event: string;
  payload: string;
  state: WebhookDeliveryState;
  attempts: number;
  status_code: number | null;
  error: string | null;
  response: string | null;
  next_attempt_at: number | null;
  history: string;
  created_at: number;
  updated_at: number;
}
const SELECT_DELIVERY = `SELECT d.id, d.webhook_id, p.name AS project, d.event, d.payload, d.state, d.attempts, d.status_code, d.error, d.response, d.next_attempt_at, d.history, d.created_at, d.updated_at
  FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN projects p ON p.id = w.project_id`;
const toDelivery = (r: DeliveryRow): WebhookDeliveryRecord => ({
  id: r.id,
  webhookId: Number(r.webhook_id),
  project: r.project,
  event: r.event,
  payload: r.payload,
  state: r.state,
  attempts: Number(r.attempts),
  statusCode: r.status_code === null ? null : Number(r.status_code),
  error: r.error,
  response: r.response,
  nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
  history: JSON.parse(r.history) as WebhookAttempt[],
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** Deliveries, recorded with the queue's jobs of their attempts (the same database, one transaction). */
class SqlWebhookDeliveries implements WebhookDeliveryLog {
  constructor(private readonly db: SqlDb) {}

  add(items: readonly { readonly delivery: Pick<WebhookDeliveryRecord, 'id' | 'webhookId' | 'event' | 'payload' | 'createdAt'>; readonly job: WebhookDeliveryJob }[]): Promise<number> {
    if (items.length === 0) return Promise.resolve(0);
    return this.db.transaction(async (tx) => {
      const jobs = new SqlJobs(tx);
      let added = 0;
      for (const { delivery: d, job } of items) {
        // The webhook may have gone since the event was matched: then nothing is recorded.
        const n = await tx.run(
          `INSERT INTO webhook_deliveries (id, webhook_id, event, payload, state, attempts, history, next_attempt_at, created_at, updated_at)
           SELECT ?, id, ?, ?, 'pending', 0, '[]', ?, ?, ? FROM webhooks WHERE id = ?`,
          [d.id, d.event, d.payload, job.runAfter, d.createdAt, d.createdAt, d.webhookId],
        );
        if (n === 0) continue;
        await enqueueAt(jobs, job);
        added++;
      }
      return added;
    });
  }

  async get(id: string): Promise<WebhookDeliveryRecord | undefined> {
    const row = await this.db.get<DeliveryRow>(`${SELECT_DELIVERY} WHERE d.id = ?`, [id]);
    return row === undefined ? undefined : toDelivery(row);
  }

  record(id: string, o: WebhookAttemptOutcome): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{ history: string }>(`SELECT history FROM webhook_deliveries WHERE id = ? AND state = 'pending' AND attempts = ?${forUpdate(tx)}`, [id, o.attempt - 1]);
      if (row === undefined) return false;
      const history = [...(JSON.parse(row.history) as WebhookAttempt[]), { at: o.at, statusCode: o.statusCode, error: o.error, durationMs: o.durationMs }];
      const n = await tx.run(
        `UPDATE webhook_deliveries SET state = ?, attempts = ?, status_code = ?, error = ?, response = ?, next_attempt_at = ?, history = ?, updated_at = ?
         WHERE id = ? AND state = 'pending' AND attempts = ?`,
        [o.state, o.attempt, o.statusCode, o.error, o.response, o.next?.runAfter ?? null, JSON.stringify(history), o.at, id, o.attempt - 1],
      );
      if (n === 0) return false;
      if (o.next !== null) await enqueueAt(new SqlJobs(tx), o.next);
      return true;
    });
  }

  async list(webhookId: number, page: { readonly limit: number; readonly after?: string }): Promise<WebhookDeliveryRecord[]> {
    if (page.after === undefined) {
      return (await this.db.all<DeliveryRow>(`${SELECT_DELIVERY} WHERE d.webhook_id = ? ORDER BY d.seq DESC LIMIT ?`, [webhookId, page.limit])).map(toDelivery);
    }
    const rows = await this.db.all<DeliveryRow>(
      `${SELECT_DELIVERY} WHERE d.webhook_id = ? AND d.seq < (SELECT seq FROM webhook_deliveries WHERE id = ? AND webhook_id = ?) ORDER BY d.seq DESC LIMIT ?`,
      [webhookId, page.after, webhookId, page.limit],
    );
    return rows.map(toDelivery);
  }

  prune(o: { readonly before: number; readonly abandonBefore: number; readonly jobKind: string; readonly now: number }): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.run(
        `UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, updated_at = ?,
           error = 'abandoned: the job of its next attempt was lost (its runs ended their process)'
         WHERE state = 'pending' AND created_at < ?`,
        [o.now, o.abandonBefore],
      );
      const n = await tx.run(`DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND updated_at < ?`, [o.before]);
      // The jobs of the attempts: nothing reads a finished one again.
      await tx.run(`DELETE FROM jobs WHERE kind = ? AND state IN ('done', 'failed') AND updated_at < ?`, [o.jobKind, o.before]);
      return n;
    });
  }
}

/**
 * Queues a job due at `runAfter`: the queue's `enqueue` makes a job due at the `now` it is given
 * (so a retry's job reads as created when it is due).
 */
async function enqueueAt(jobs: SqlJobs, job: WebhookDeliveryJob): Promise<void> {
  await jobs.enqueue(job.kind, job.key, job.payload, job.runAfter);
}
