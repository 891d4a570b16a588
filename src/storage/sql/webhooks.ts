/** Projects' webhooks (see WebhookStore). */
import type { WebhookRecord, WebhookStore } from '../webhook-store.js';
import { bool } from './common.js';
import type { SqlDb } from './db.js';

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
  constructor(private readonly db: SqlDb) {}

  async create(w: Omit<WebhookRecord, 'id'>): Promise<WebhookRecord | undefined> {
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO webhooks (project_id, url, events, secret, format, enabled, created_at, created_by) SELECT id, ?, ?, ?, ?, ?, ?, ? FROM projects WHERE name = ? RETURNING id',
      [w.url, JSON.stringify(w.events), w.secret, w.format, w.enabled ? 1 : 0, w.createdAt, w.createdBy, w.project],
    );
    return row === undefined ? undefined : this.get(Number(row.id));
  }

  async get(id: number): Promise<WebhookRecord | undefined> {
    const row = await this.db.get<WebhookRow>(`${SELECT} WHERE w.id = ?`, [id]);
    return row === undefined ? undefined : toRecord(row);
  }

  async list(project: string): Promise<WebhookRecord[]> {
    return (await this.db.all<WebhookRow>(`${SELECT} WHERE p.name = ? ORDER BY w.id`, [project])).map(toRecord);
  }

  async delete(project: string, id: number): Promise<boolean> {
    return (await this.db.run('DELETE FROM webhooks WHERE id = ? AND project_id = (SELECT id FROM projects WHERE name = ?)', [id, project])) > 0;
  }
}
