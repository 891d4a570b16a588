import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatScope, normaliseActions, parseScopes, type AccessEntry } from '../../../src/registry/auth/scope.js';

describe('parseScopes', () => {
  const table: [string, string[], AccessEntry[]][] = [
    ['single repository scope', ['repository:team/app:pull'], [{ type: 'repository', name: 'team/app', actions: ['pull'] }]],
    ['several actions', ['repository:team/app:pull,push'], [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]],
    ['deep name', ['repository:team/app/api:pull'], [{ type: 'repository', name: 'team/app/api', actions: ['pull'] }]],
    [
      'space-separated scopes in one parameter',
      ['repository:team/a:pull repository:team/b:push,pull'],
      [
        { type: 'repository', name: 'team/a', actions: ['pull'] },
        { type: 'repository', name: 'team/b', actions: ['push', 'pull'] },
      ],
    ],
    [
      'repeated parameters, in order',
      ['repository:team/a:pull', 'repository:team/b:push'],
      [
        { type: 'repository', name: 'team/a', actions: ['pull'] },
        { type: 'repository', name: 'team/b', actions: ['push'] },
      ],
    ],
    ['extra spaces between scopes', ['  repository:team/a:pull   repository:team/b:pull '], [
      { type: 'repository', name: 'team/a', actions: ['pull'] },
      { type: 'repository', name: 'team/b', actions: ['pull'] },
    ]],
    ['resource class', ['repository(plugin):x/y:pull'], [{ type: 'repository', name: 'x/y', actions: ['pull'] }]],
    ['registry catalog', ['registry:catalog:*'], [{ type: 'registry', name: 'catalog', actions: ['*'] }]],
    ['wildcard action kept raw', ['repository:team/app:*'], [{ type: 'repository', name: 'team/app', actions: ['*'] }]],
    ['empty actions dropped', ['repository:team/app:pull,,push,'], [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]],
    ['no actions at all', ['repository:team/app:'], [{ type: 'repository', name: 'team/app', actions: [] }]],
    ['unknown actions kept for the caller to judge', ['repository:team/app:pull,frobnicate'], [{ type: 'repository', name: 'team/app', actions: ['pull', 'frobnicate'] }]],
    ['single-segment name is grammatical', ['repository:library:pull'], [{ type: 'repository', name: 'library', actions: ['pull'] }]],
    // ignored entries
    ['empty input', [], []],
    ['empty parameter', [''], []],
    ['missing colon', ['repository'], []],
    ['only one colon', ['repository:team/app'], []],
    ['unknown resource type', ['plugin:team/app:pull'], []],
    ['registry resource other than catalog', ['registry:users:*'], []],
    ['upper-case repository name', ['repository:Team/App:pull'], []],
    ['invalid name with a trailing slash', ['repository:team/app/:pull'], []],
    ['name with an extra colon (host:port)', ['repository:localhost:5000/team/app:pull'], []],
    ['empty name', ['repository::pull'], []],
    ['upper-case resource type', ['Repository:team/app:pull'], []],
    [
      'malformed entries do not hide valid ones',
      ['bogus repository:team/a:pull registry:catalog:* repository:BAD:pull', 'repository:team/b:push'],
      [
        { type: 'repository', name: 'team/a', actions: ['pull'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'repository', name: 'team/b', actions: ['push'] },
      ],
    ],
  ];
  for (const [why, input, expected] of table) {
    test(why, () => {
      assert.deepEqual(parseScopes(input), expected);
    });
  }

  test('formatScope writes back what parseScopes reads', () => {
    for (const scope of ['repository:team/app:pull,push', 'registry:catalog:*', 'repository:a/b/c:delete']) {
      const [entry] = parseScopes([scope]);
      assert.ok(entry);
      assert.equal(formatScope(entry), scope);
    }
  });
});

describe('normaliseActions', () => {
  const table: [string[], string[]][] = [
    [['*'], ['pull', 'push', 'delete']],
    [['pull', '*'], ['pull', 'push', 'delete']],
    [['pull'], ['pull']],
    [['push', 'pull'], ['pull', 'push']],
    [['delete', 'push', 'pull', 'pull'], ['pull', 'push', 'delete']],
    [['pull', 'frobnicate'], ['pull']],
    [['PULL'], []],
    [['**'], []],
    [[], []],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(normaliseActions(input), expected);
    });
  }
});
