import type { FastifyInstance } from 'fastify';
import type { ManagementDeps } from './context.js';

/** A project's webhooks and their deliveries (to be built: see issue 12). */
export function registerWebhookRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  void app;
  void deps;
}
