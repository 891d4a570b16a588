import { isRepositoryName } from '../../oci/index.js';
import { REPOSITORY_ACTIONS, type RepositoryAction } from '../../storage/index.js';

/** One entry of a Docker token's `access` claim, and of a requested `scope`. */
export interface AccessEntry {
  readonly type: 'repository' | 'registry';
  readonly name: string;
  readonly actions: readonly string[];
}

/**
 * Parses Docker token scopes: `repository:team/app:pull,push`, `registry:catalog:*`. Several
 * scopes may come space-separated in one parameter or as repeated parameters. Unknown resource
 * types and malformed entries are ignored, as distribution's token servers do.
 */
export function parseScopes(values: readonly string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const value of values) {
    for (const scope of value.split(' ')) {
      if (scope === '') continue;
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last === first) continue;
      const type = scope.slice(0, first);
      // The resource type may carry a class, e.g. `repository(plugin)`.
      const baseType = type.replace(/\(.*\)$/, '');
      const name = scope.slice(first + 1, last);
      const actions = scope.slice(last + 1).split(',').filter((a) => a !== '');
      if (baseType === 'repository' && isRepositoryName(name)) out.push({ type: 'repository', name, actions });
      else if (baseType === 'registry' && name === 'catalog') out.push({ type: 'registry', name, actions });
    }
  }
  return out;
}

/** Expands `*` and drops actions we do not know. */
export function normaliseActions(actions: readonly string[]): RepositoryAction[] {
  if (actions.includes('*')) return [...REPOSITORY_ACTIONS];
  return REPOSITORY_ACTIONS.filter((a) => actions.includes(a));
}

export function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(',')}`;
}
