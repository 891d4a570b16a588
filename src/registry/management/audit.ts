import type { FastifyInstance } from 'fastify';
import type { ManagementDeps } from './context.js';

/** The audit log's routes (to be built: see issue 12). */
export function registerAuditRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  void app;
  void deps;
}
