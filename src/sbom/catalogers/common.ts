/** Small helpers every cataloger needs the same way. */
import { createRequire } from 'node:module';
import type { CatalogContext } from '../cataloger.js';

// yaml is loaded on the first YAML file only: most images have none, and start-up counts.
const requireLazy = createRequire(import.meta.url);
let yamlParse: (typeof import('yaml'))['parse'] | undefined;

/**
 * A YAML document with every scalar a string (the failsafe schema: versions such as 1.10 must not
 * become numbers) and aliases bounded (a billion-laughs file is refused). Throws on bad YAML.
 */
export function parseYamlStrings(text: string): unknown {
  yamlParse ??= (requireLazy('yaml') as typeof import('yaml')).parse;
  return yamlParse(text, { schema: 'failsafe', maxAliasCount: 100 }) as unknown;
}

/** Warnings per file: one broken record is worth telling, ten thousand are one problem. */
export const MAX_WARNINGS = 20;

export type Json = Record<string, unknown>;

export function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A ctx.warn that stops after MAX_WARNINGS; `done()` then says how many more there were. */
export function limitedWarnings(ctx: CatalogContext): { warn(message: string): void; done(): void } {
  let count = 0;
  return {
    warn(message) {
      if (++count <= MAX_WARNINGS) ctx.warn(message);
    },
    done() {
      if (count > MAX_WARNINGS) ctx.warn(`${count - MAX_WARNINGS} more problems of the same kind not shown`);
    },
  };
}

/**
 * A context that passes on at most `limit` warnings, then one line saying how the rest were
 * dropped: a garbage file must not turn into one warning per line (unbounded memory in the reader).
 */
export function cappedWarnings(ctx: CatalogContext, limit = MAX_WARNINGS): CatalogContext {
  let count = 0;
  return {
    warn(message: string): void {
      count++;
      if (count <= limit) ctx.warn(message);
      else if (count === limit + 1) ctx.warn(`more than ${limit} problems in this file; the rest are not reported`);
    },
  };
}

/** Every key reachable from `roots` along `edges` (iterative: lockfile graphs can be deep). */
export function reachable(roots: readonly string[], edges: ReadonlyMap<string, readonly string[]>): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  for (let k = stack.pop(); k !== undefined; k = stack.pop()) {
    if (seen.has(k)) continue;
    seen.add(k);
    for (const n of edges.get(k) ?? []) if (!seen.has(n)) stack.push(n);
  }
  return seen;
}
