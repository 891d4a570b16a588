/** A project's webhook. */
export interface WebhookRecord {
  readonly id: number;
  readonly project: string;
  readonly url: string;
  readonly events: readonly string[];
  /** The HMAC secret (stored as given: it signs every delivery). Never leaves the registry. */
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
  /** Deletes the webhook with its delivery log. */
  delete(project: string, id: number): Promise<boolean>;
  /** The log of the webhooks' deliveries. */
  readonly deliveries: WebhookDeliveryLog;
}

/** `pending` until an attempt succeeds (`delivered`) or the last one failed (`failed`). */
export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

/** One attempt of a delivery, as the log keeps it. */
export interface WebhookAttempt {
  readonly at: number;
  /** The receiver's HTTP status; null when there was no answer (refused, unreachable, timed out). */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/** A delivery: one event for one webhook, with its exact body and what its attempts gave. */
export interface WebhookDeliveryRecord {
  /** A UUID: the `X-Portcullis-Delivery` header, the same in every attempt. */
  readonly id: string;
  readonly webhookId: number;
  readonly project: string;
  /** `PUSH_ARTIFACT`, … */
  readonly event: string;
  /** The body, byte for byte what every attempt sends (and signs). */
  readonly payload: string;
  readonly state: WebhookDeliveryState;
  readonly attempts: number;
  /** The last attempt's status, error and the start of its response body. */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly response: string | null;
  /** When the next attempt is due; null once the delivery is delivered or failed. */
  readonly nextAttemptAt: number | null;
  readonly history: readonly WebhookAttempt[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A job of the durable queue: the attempt of a delivery that is due at `runAfter`. */
export interface WebhookDeliveryJob {
  readonly kind: string;
  readonly key: string;
  readonly payload: string;
  readonly runAfter: number;
}

/** What a finished attempt changes in its delivery. */
export interface WebhookAttemptOutcome extends WebhookAttempt {
  /** The attempt's number, from 1. */
  readonly attempt: number;
  readonly state: WebhookDeliveryState;
  /** The start of the response body (a short excerpt, never the whole). */
  readonly response: string | null;
  /** The next attempt's job (with state `pending`); null when there is none. */
  readonly next: WebhookDeliveryJob | null;
}

/**
 * The deliveries of webhooks. Each change is made in one transaction with the job queue of the
 * same database: a delivery is never recorded without the job of its first attempt, nor an
 * attempt without the job of the next.
 */
export interface WebhookDeliveryLog {
  /**
   * Records pending deliveries and queues the job of each one's first attempt; a delivery whose
   * webhook is gone is skipped. Resolves to how many were recorded.
   */
  add(items: readonly { readonly delivery: Pick<WebhookDeliveryRecord, 'id' | 'webhookId' | 'event' | 'payload' | 'createdAt'>; readonly job: WebhookDeliveryJob }[]): Promise<number>;
  get(id: string): Promise<WebhookDeliveryRecord | undefined>;
  /**
   * Records attempt `outcome.attempt` of a pending delivery that has had the attempts before it
   * (and queues `outcome.next`); false, and nothing changed, otherwise (a job run again after it
   * was recorded, a delivery that is gone).
   */
  record(id: string, outcome: WebhookAttemptOutcome): Promise<boolean>;
  /** A webhook's deliveries, newest first; `after` is the id of the last one of the page before. */
  list(webhookId: number, page: { readonly limit: number; readonly after?: string }): Promise<WebhookDeliveryRecord[]>;
  /**
   * Fails the deliveries still pending that were created before `abandonBefore` (their jobs were
   * lost: run and killed their process three times), then deletes the delivered and failed ones
   * last changed before `before`, with the finished jobs of `jobKind` of that age. Resolves to how
   * many deliveries were deleted.
   */
  prune(o: { readonly before: number; readonly abandonBefore: number; readonly jobKind: string; readonly now: number }): Promise<number>;
}
