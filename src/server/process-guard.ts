import type { Logger } from '../shared/index.js';

/**
 * Keeps a serving process alive through a promise rejection nobody handled: a fault in the
 * handling of one request must not end every other request. The rejection is logged as an error,
 * with its stack, so that the fault gets found and fixed. A synchronous uncaught exception still
 * ends the process: after one, its state is unknown. Returns a function that removes the guard.
 */
export function guardRejections(log: Logger, target: NodeJS.EventEmitter = process): () => void {
  const onRejection = (reason: unknown): void => {
    log.error({ err: reason }, 'unhandled promise rejection; the process keeps serving (a bug: please report it)');
  };
  target.on('unhandledRejection', onRejection);
  return () => {
    target.off('unhandledRejection', onRejection);
  };
}
