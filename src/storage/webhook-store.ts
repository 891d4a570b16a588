/** A project's webhook. */
export interface WebhookRecord {
  readonly id: number;
  readonly project: string;
  readonly url: string;
  readonly events: readonly string[];
  /** The HMAC secret (stored as given: it signs every delivery). */
  readonly secret: string;
  /** `default` (Harbor's JSON shape) or `cloudevents`. */
  readonly format: string;
  readonly enabled: boolean;
  readonly createdAt: number;
  readonly createdBy: string | null;
}

export interface WebhookStore {
  /** Undefined when the project does not exist. */
  create(w: Omit<WebhookRecord, 'id'>): Promise<WebhookRecord | undefined>;
  get(id: number): Promise<WebhookRecord | undefined>;
  list(project: string): Promise<WebhookRecord[]>;
  delete(project: string, id: number): Promise<boolean>;
}
