/**
 * Webhooks: events a project subscribed to, delivered through the durable job queue (to be built:
 * see issue 12).
 */
import type { Logger } from '../shared/index.js';
import type { MetadataStore } from '../storage/index.js';
import type { TimedEvent } from './events.js';

export interface WebhookServiceDeps {
  readonly meta: MetadataStore;
  readonly log: Logger;
  readonly now: () => number;
  /** This replica's id: who holds the leases of the deliveries it runs. */
  readonly holder: string;
}

export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  /** Queues a delivery to every webhook of the event's project that subscribed to it. */
  async handle(e: TimedEvent): Promise<void> {
    void this.deps;
    void e;
  }

  start(): void {}

  async stop(): Promise<void> {}
}
