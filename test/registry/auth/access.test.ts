import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, ROLE_ACTIONS, allowedActions, canAdminProject, principalName, type Principal, type ProjectFacts } from '../../../src/registry/auth/access.js';
import { PROJECT_ROLES, type ProjectRole, type RepositoryAction } from '../../../src/storage/index.js';

const PUBLIC: ProjectFacts = { name: 'pub', public: true };
const PRIVATE: ProjectFacts = { name: 'priv', public: false };

const USER: Principal = { kind: 'user', name: 'alice', admin: false };
const ADMIN: Principal = { kind: 'user', name: 'root', admin: true };
const robot = (...permissions: { project: string; actions: RepositoryAction[] }[]): Principal => ({ kind: 'robot', name: 'robot$ci', permissions });

const sorted = (s: Set<RepositoryAction>): RepositoryAction[] => [...s].sort();
const ALL: RepositoryAction[] = ['delete', 'pull', 'push'];

/** What each role may do, written out here rather than read from ROLE_ACTIONS. */
const EXPECTED_ROLE: Record<ProjectRole, RepositoryAction[]> = {
  'project-admin': ['delete', 'pull', 'push'],
  maintainer: ['delete', 'pull', 'push'],
  developer: ['pull', 'push'],
  guest: ['pull'],
};

describe('allowedActions: users by role × visibility', () => {
  test('every role is covered', () => {
    assert.deepEqual([...PROJECT_ROLES].sort(), Object.keys(EXPECTED_ROLE).sort());
    for (const role of PROJECT_ROLES) assert.deepEqual([...ROLE_ACTIONS[role]].sort(), EXPECTED_ROLE[role]);
  });

  for (const role of [...PROJECT_ROLES, undefined]) {
    for (const project of [PUBLIC, PRIVATE]) {
      const fromRole = role === undefined ? [] : EXPECTED_ROLE[role];
      const expected = [...new Set([...fromRole, ...(project.public ? (['pull'] as const) : [])])].sort();
      test(`user with role ${role ?? '(none)'} in a ${project.public ? 'public' : 'private'} project → ${expected.join(',') || 'nothing'}`, () => {
        assert.deepEqual(sorted(allowedActions(USER, project, role)), expected);
      });
    }
  }
});

describe('allowedActions: anonymous', () => {
  test('public project: pull only', () => {
    assert.deepEqual(sorted(allowedActions(ANONYMOUS, PUBLIC, undefined)), ['pull']);
  });
  test('private project: nothing', () => {
    assert.deepEqual(sorted(allowedActions(ANONYMOUS, PRIVATE, undefined)), []);
  });
  test('a role passed for anonymous is ignored', () => {
    assert.deepEqual(sorted(allowedActions(ANONYMOUS, PRIVATE, 'project-admin')), []);
    assert.deepEqual(sorted(allowedActions(ANONYMOUS, PUBLIC, 'maintainer')), ['pull']);
  });
  test('nonexistent project: nothing', () => {
    assert.deepEqual(sorted(allowedActions(ANONYMOUS, undefined, undefined)), []);
  });
});

describe('allowedActions: admin', () => {
  for (const [label, project] of [['public', PUBLIC], ['private', PRIVATE], ['nonexistent', undefined]] as const) {
    test(`admin in a ${label} project without a role → everything`, () => {
      assert.deepEqual(sorted(allowedActions(ADMIN, project, undefined)), ALL);
    });
  }
  test('admin with a weak role still gets everything', () => {
    assert.deepEqual(sorted(allowedActions(ADMIN, PRIVATE, 'guest')), ALL);
  });
});

describe('allowedActions: robots', () => {
  test('permissions for the project apply', () => {
    assert.deepEqual(sorted(allowedActions(robot({ project: 'priv', actions: ['pull', 'push'] }), PRIVATE, undefined)), ['pull', 'push']);
  });
  test('permissions for another project do not', () => {
    assert.deepEqual(sorted(allowedActions(robot({ project: 'other', actions: ['pull', 'push', 'delete'] }), PRIVATE, undefined)), []);
  });
  test('a robot without permissions may pull a public project', () => {
    assert.deepEqual(sorted(allowedActions(robot(), PUBLIC, undefined)), ['pull']);
  });
  test('push-only permission in a public project adds pull from visibility', () => {
    assert.deepEqual(sorted(allowedActions(robot({ project: 'pub', actions: ['push'] }), PUBLIC, undefined)), ['pull', 'push']);
  });
  test('several entries for the same project are merged', () => {
    assert.deepEqual(sorted(allowedActions(robot({ project: 'priv', actions: ['pull'] }, { project: 'priv', actions: ['delete'] }, { project: 'x', actions: ['push'] }), PRIVATE, undefined)), ['delete', 'pull']);
  });
  test('a role passed for a robot is ignored', () => {
    assert.deepEqual(sorted(allowedActions(robot(), PRIVATE, 'project-admin')), []);
  });
  test('project names must match exactly', () => {
    assert.deepEqual(sorted(allowedActions(robot({ project: 'pri', actions: ['pull'] }), PRIVATE, undefined)), []);
    assert.deepEqual(sorted(allowedActions(robot({ project: 'priv2', actions: ['pull'] }), PRIVATE, undefined)), []);
  });
  test('nonexistent project: nothing, even with matching permissions', () => {
    assert.deepEqual(sorted(allowedActions(robot({ project: 'gone', actions: ['pull', 'push', 'delete'] }), undefined, undefined)), []);
  });
});

describe('allowedActions: nonexistent project for users', () => {
  for (const role of [...PROJECT_ROLES, undefined]) {
    test(`user with role ${role ?? '(none)'} → nothing`, () => {
      assert.deepEqual(sorted(allowedActions(USER, undefined, role)), []);
    });
  }
});

test('allowedActions returns a fresh set each call', () => {
  const a = allowedActions(ADMIN, PRIVATE, undefined);
  a.delete('delete');
  assert.deepEqual(sorted(allowedActions(ADMIN, PRIVATE, undefined)), ALL);
});

describe('canAdminProject', () => {
  const table: [string, Principal, ProjectRole | undefined, boolean][] = [
    ['admin without role', ADMIN, undefined, true],
    ['admin as guest', ADMIN, 'guest', true],
    ['project-admin', USER, 'project-admin', true],
    ['maintainer', USER, 'maintainer', false],
    ['developer', USER, 'developer', false],
    ['guest', USER, 'guest', false],
    ['user without role', USER, undefined, false],
    ['anonymous', ANONYMOUS, undefined, false],
    ['anonymous with a role', ANONYMOUS, 'project-admin', false],
    ['robot with every permission', robot({ project: 'priv', actions: ['pull', 'push', 'delete'] }), undefined, false],
    ['robot with a role', robot(), 'project-admin', false],
  ];
  for (const [why, principal, role, expected] of table) {
    test(`${why} → ${expected}`, () => {
      assert.equal(canAdminProject(principal, role), expected);
    });
  }
});

test('principalName', () => {
  assert.equal(principalName(ANONYMOUS), 'anonymous');
  assert.equal(principalName(USER), 'alice');
  assert.equal(principalName(robot()), 'robot$ci');
});
