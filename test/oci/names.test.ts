import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_NAME_LENGTH, OciError, isProjectName, isRepositoryName, isTag, parseRepositoryName } from '../../src/oci/index.js';

/**
 * The name grammar of the OCI Distribution Spec v1.1, written out here independently of src:
 *   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 */
const SPEC_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

// [name, valid per the spec grammar]
const GRAMMAR_TABLE: [string, boolean][] = [
  ['a', true],
  ['library', true],
  ['a/b', true],
  ['team/app', true],
  ['team/app/api', true],
  ['a/b/c/d/e/f', true],
  ['0/9', true],
  ['123/456', true],
  ['a.b/c', true],
  ['a_b/c', true],
  ['a__b/c', true],
  ['a___b/c', false],
  ['a-b/c', true],
  ['a--b/c', true],
  ['a---------b/c', true],
  ['a.-b/c', false],
  ['a-.b/c', false],
  ['a._b/c', false],
  ['a..b/c', false],
  ['a.b.c/d_e-f', true],
  ['team/my-app.v2_final', true],
  ['team/', false],
  ['/team/app', false],
  ['team//app', false],
  ['team/app/', false],
  ['Team/app', false],
  ['team/App', false],
  ['TEAM/APP', false],
  ['-team/app', false],
  ['team-/app', false],
  ['team/app-', false],
  ['.team/app', false],
  ['_team/app', false],
  ['team/app_', false],
  ['team/app.', false],
  ['team/ap p', false],
  ['team/app:latest', false],
  ['team/app@sha256', false],
  ['team\\app', false],
  ['team/ä', false],
  ['', false],
  ['team/app\n', false],
];

describe('isRepositoryName / parseRepositoryName: OCI name grammar', () => {
  test('the table agrees with the spec grammar (checks the table itself)', () => {
    for (const [name, valid] of GRAMMAR_TABLE) assert.equal(SPEC_NAME.test(name), valid, JSON.stringify(name));
  });

  for (const [name, valid] of GRAMMAR_TABLE) {
    test(`${JSON.stringify(name)} is ${valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isRepositoryName(name), valid);
      if (!valid) {
        assert.throws(
          () => parseRepositoryName(name),
          (err: unknown) => err instanceof OciError && err.code === 'NAME_INVALID' && err.status === 400,
        );
      }
    });
  }
});

describe('name length', () => {
  // A valid multi-segment name of exactly n characters.
  const nameOfLength = (n: number): string => `team/${'a'.repeat(n - 5)}`;

  test('MAX_NAME_LENGTH is distribution\'s 255', () => {
    assert.equal(MAX_NAME_LENGTH, 255);
  });

  test('255 characters is accepted', () => {
    const n = nameOfLength(255);
    assert.equal(n.length, 255);
    assert.equal(isRepositoryName(n), true);
    assert.equal(parseRepositoryName(n).repository.length, 250);
  });

  test('256 characters is NAME_INVALID although it matches the grammar', () => {
    const n = nameOfLength(256);
    assert.equal(n.length, 256);
    assert.ok(SPEC_NAME.test(n));
    assert.equal(isRepositoryName(n), false);
    assert.throws(() => parseRepositoryName(n), (err: unknown) => err instanceof OciError && err.code === 'NAME_INVALID');
  });

  test('a very long name is clipped in the error message', () => {
    const n = `Team/${'x'.repeat(10_000)}`;
    assert.throws(() => parseRepositoryName(n), (err: unknown) => err instanceof OciError && err.message.length < 500);
  });
});

describe('parseRepositoryName: <project>/<repository>', () => {
  for (const single of ['a', 'library', 'ubuntu', 'a__b', 'my-project']) {
    test(`single-segment ${JSON.stringify(single)} is valid per the spec but NAME_INVALID in Portcullis`, () => {
      assert.equal(isRepositoryName(single), true);
      assert.throws(
        () => parseRepositoryName(single),
        (err: unknown) => {
          assert.ok(err instanceof OciError);
          assert.equal(err.code, 'NAME_INVALID');
          assert.match(err.message, /<project>\/<repository>/);
          return true;
        },
      );
    });
  }

  const splits: [string, string, string][] = [
    ['team/app', 'team', 'app'],
    ['team/app/api', 'team', 'app/api'],
    ['a.b/c/d/e', 'a.b', 'c/d/e'],
    ['my-org__x/y', 'my-org__x', 'y'],
    ['0/0', '0', '0'],
  ];
  for (const [name, project, repository] of splits) {
    test(`${name} → project ${project}, repository ${repository}`, () => {
      assert.deepEqual(parseRepositoryName(name), { name, project, repository });
    });
  }
});

describe('isProjectName', () => {
  const table: [string, boolean][] = [
    ['team', true],
    ['a', true],
    ['my-team.x_y', true],
    ['team/app', false],
    ['Team', false],
    ['-team', false],
    ['', false],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
  ];
  for (const [name, valid] of table) {
    test(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name)} → ${valid}`, () => {
      assert.equal(isProjectName(name), valid);
    });
  }
});

describe('isTag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}', () => {
  const table: [string, boolean][] = [
    ['latest', true],
    ['v1.2.3', true],
    ['1', true],
    ['_', true],
    ['_private', true],
    ['UPPER', true],
    ['MiXeD-case_1.0', true],
    ['a-', true],
    ['a.', true],
    ['a..b', true],
    ['.hidden', false],
    ['-dash', false],
    ['', false],
    ['v1+build', false],
    ['v1:2', false],
    ['a/b', false],
    ['sha256:abc', false],
    ['tag with space', false],
    ['ümlaut', false],
    ['latest\n', false],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    [`_${'-'.repeat(127)}`, true],
    [`_${'-'.repeat(128)}`, false],
  ];
  for (const [tag, valid] of table) {
    const label = tag.length > 20 ? `${tag.slice(0, 6)}…(${tag.length} chars)` : JSON.stringify(tag);
    test(`${label} → ${valid}`, () => {
      assert.equal(isTag(tag), valid);
    });
  }
});
