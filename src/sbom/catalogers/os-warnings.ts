import type { CatalogContext } from '../cataloger.js';

/**
 * A context that passes on at most `limit` warnings, then one line saying how the rest were
 * dropped: a garbage file must not turn into one warning per line (unbounded memory in the reader).
 */
export function cappedWarnings(ctx: CatalogContext, limit = 20): CatalogContext {
  let count = 0;
  return {
    warn(message: string): void {
      count++;
      if (count <= limit) ctx.warn(message);
      else if (count === limit + 1) ctx.warn(`more than ${limit} problems in this file; the rest are not reported`);
    },
  };
}
