import type { ProjectRole, RepositoryAction, RobotPermission } from '../../storage/index.js';

/** Who is asking. Robots are named `robot$<name>` so a token subject tells the kinds apart. */
export type Principal =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly name: string; readonly admin: boolean }
  | { readonly kind: 'robot'; readonly name: string; readonly permissions: readonly RobotPermission[] };

export const ANONYMOUS: Principal = { kind: 'anonymous' };
export const ROBOT_PREFIX = 'robot$';

/** What each project role may do to the project's repositories. */
export const ROLE_ACTIONS: Readonly<Record<ProjectRole, readonly RepositoryAction[]>> = {
  'project-admin': ['pull', 'push', 'delete'],
  maintainer: ['pull', 'push', 'delete'],
  developer: ['pull', 'push'],
  guest: ['pull'],
};

export interface ProjectFacts {
  readonly name: string;
  readonly public: boolean;
}

/**
 * The actions `principal` may take on repositories of `project` (undefined: no such project).
 * Pure: the caller loads the project and the principal's role in it.
 */
export function allowedActions(principal: Principal, project: ProjectFacts | undefined, role: ProjectRole | undefined): Set<RepositoryAction> {
  const out = new Set<RepositoryAction>();
  if (principal.kind === 'user' && principal.admin) {
    // Admins get everything, even for a project that does not exist: the request then fails
    // with NAME_UNKNOWN, which tells them what is wrong, rather than DENIED.
    return new Set(['pull', 'push', 'delete']);
  }
  if (project === undefined) return out;
  if (project.public) out.add('pull');
  switch (principal.kind) {
    case 'anonymous':
      break;
    case 'user':
      if (role !== undefined) for (const a of ROLE_ACTIONS[role]) out.add(a);
      break;
    case 'robot':
      for (const p of principal.permissions) if (p.project === project.name) for (const a of p.actions) out.add(a);
      break;
    default: {
      const never: never = principal;
      throw new Error(`unknown principal ${JSON.stringify(never)}`);
    }
  }
  return out;
}

/** May `principal` administer `project` (members, robots, settings)? */
export function canAdminProject(principal: Principal, role: ProjectRole | undefined): boolean {
  return (principal.kind === 'user' && principal.admin) || (principal.kind === 'user' && role === 'project-admin');
}

export function principalName(p: Principal): string {
  return p.kind === 'anonymous' ? 'anonymous' : p.name;
}
