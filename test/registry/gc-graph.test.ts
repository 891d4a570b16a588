import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestOf, type Digest } from '../../src/oci/index.js';
import { unreachableManifests } from '../../src/registry/gc.js';
import type { ManifestNode } from '../../src/storage/index.js';

const d = (name: string): Digest => digestOf(Buffer.from(name));
const CUTOFF = 1_000_000;
const OLD = CUTOFF - 1;

function node(repository: string, name: string, opts: { tagged?: boolean; subject?: string; children?: string[]; pushedAt?: number } = {}): ManifestNode {
  return {
    repository,
    digest: d(name),
    tagged: opts.tagged ?? false,
    subject: opts.subject === undefined ? null : d(opts.subject),
    children: (opts.children ?? []).map(d),
    pushedAt: opts.pushedAt ?? OLD,
  };
}

const NAMES = ['a', 'b', 'tagged', 'untagged', 'recent', 'idx', 'amd64', 'arm64', 'sig', 'sig-of-sig', 'sbom', 'orphan-sig', 'outer', 'inner', 'leaf', 'shared', 'x', 'y', 'ghost'];
const nameOf = new Map<string, string>(NAMES.map((n) => [d(n), n]));

/** `repo@name` of each dead node, in the order returned. */
function deadNames(graph: readonly ManifestNode[], cutoff = CUTOFF): string[] {
  return unreachableManifests(graph, cutoff).map((n) => `${n.repository}@${nameOf.get(n.digest) ?? n.digest}`);
}

const sorted = (xs: string[]) => [...xs].sort();

describe('unreachableManifests', () => {
  test('empty graph', () => {
    assert.deepEqual(unreachableManifests([], CUTOFF), []);
  });

  test('tagged manifests are roots; old untagged ones are dead', () => {
    const g = [node('t/app', 'tagged', { tagged: true }), node('t/app', 'untagged')];
    assert.deepEqual(deadNames(g), ['t/app@untagged']);
  });

  test('grace: untagged manifests pushed at or after the cutoff are kept; just before it are not', () => {
    const g = [node('t/app', 'recent', { pushedAt: CUTOFF }), node('t/app', 'a', { pushedAt: CUTOFF + 5000 }), node('t/app', 'untagged', { pushedAt: CUTOFF - 1 })];
    assert.deepEqual(deadNames(g), ['t/app@untagged']);
  });

  test('children of a tagged index live; an untagged image not in it does not', () => {
    const g = [node('t/app', 'idx', { tagged: true, children: ['amd64', 'arm64'] }), node('t/app', 'amd64'), node('t/app', 'arm64'), node('t/app', 'x')];
    assert.deepEqual(deadNames(g), ['t/app@x']);
  });

  test('children of a recent (grace) untagged index live', () => {
    const g = [node('t/app', 'idx', { pushedAt: CUTOFF, children: ['amd64'] }), node('t/app', 'amd64')];
    assert.deepEqual(deadNames(g), []);
  });

  test('nested indexes: a tagged outer index keeps the inner index and its leaf', () => {
    const g = [node('t/app', 'leaf'), node('t/app', 'inner', { children: ['leaf'] }), node('t/app', 'outer', { tagged: true, children: ['inner'] })];
    assert.deepEqual(deadNames(g), []);
  });

  test('a referrer of a live manifest lives; a referrer of a referrer lives too', () => {
    const g = [node('t/app', 'tagged', { tagged: true }), node('t/app', 'sig', { subject: 'tagged' }), node('t/app', 'sig-of-sig', { subject: 'sig' }), node('t/app', 'sbom', { subject: 'tagged' })];
    assert.deepEqual(deadNames(g), []);
  });

  test('a referrer of a child of a tagged index lives', () => {
    const g = [node('t/app', 'idx', { tagged: true, children: ['amd64'] }), node('t/app', 'amd64'), node('t/app', 'sig', { subject: 'amd64' })];
    assert.deepEqual(deadNames(g), []);
  });

  test('referrers of a dead manifest die with it, and a referrer whose subject was never pushed is dead', () => {
    const g = [node('t/app', 'untagged'), node('t/app', 'sig', { subject: 'untagged' }), node('t/app', 'sig-of-sig', { subject: 'sig' }), node('t/app', 'orphan-sig', { subject: 'ghost' })];
    assert.deepEqual(sorted(deadNames(g)), sorted(['t/app@untagged', 't/app@sig', 't/app@sig-of-sig', 't/app@orphan-sig']));
  });

  test('a live referrer does not keep its subject alive', () => {
    const g = [node('t/app', 'untagged'), node('t/app', 'sig', { subject: 'untagged', tagged: true })];
    assert.deepEqual(deadNames(g), ['t/app@untagged']);
  });

  test('a live referrer keeps its own children (an index as a referrer)', () => {
    const g = [node('t/app', 'tagged', { tagged: true }), node('t/app', 'sbom', { subject: 'tagged', children: ['leaf'] }), node('t/app', 'leaf')];
    assert.deepEqual(deadNames(g), []);
  });

  test('an index child is not kept alive by the child being live (reachability is one-way)', () => {
    const g = [node('t/app', 'idx', { children: ['amd64'] }), node('t/app', 'amd64', { tagged: true })];
    assert.deepEqual(deadNames(g), ['t/app@idx']);
  });

  test('a dead index is listed before its dead children', () => {
    // Listed children-first so an order that merely follows the input would fail.
    const g = [node('t/app', 'amd64'), node('t/app', 'arm64'), node('t/app', 'idx', { children: ['amd64', 'arm64'] })];
    const out = deadNames(g);
    assert.deepEqual(sorted(out), sorted(['t/app@idx', 't/app@amd64', 't/app@arm64']));
    assert.equal(out[0], 't/app@idx');
  });

  test('nested dead indexes: outer before inner before leaf', () => {
    const g = [node('t/app', 'leaf'), node('t/app', 'inner', { children: ['leaf'] }), node('t/app', 'outer', { children: ['inner'] })];
    assert.deepEqual(deadNames(g), ['t/app@outer', 't/app@inner', 't/app@leaf']);
  });

  test('a child shared by two dead indexes comes after both', () => {
    const g = [node('t/app', 'shared'), node('t/app', 'a', { children: ['shared'] }), node('t/app', 'leaf'), node('t/app', 'b', { children: ['leaf', 'shared'] })];
    const out = deadNames(g);
    assert.equal(out.length, 4);
    const at = (n: string) => out.indexOf(`t/app@${n}`);
    assert.ok(at('shared') > at('a') && at('shared') > at('b'), out.join(' '));
    assert.ok(at('leaf') > at('b'), out.join(' '));
  });

  test('a child shared by a dead and a live index lives', () => {
    const g = [node('t/app', 'shared'), node('t/app', 'a', { children: ['shared'] }), node('t/app', 'b', { tagged: true, children: ['shared'] })];
    assert.deepEqual(deadNames(g), ['t/app@a']);
  });

  test('an index whose child was never pushed is still collected', () => {
    const g = [node('t/app', 'idx', { children: ['ghost'] })];
    assert.deepEqual(deadNames(g), ['t/app@idx']);
  });

  test('repository isolation: the same digest in two repositories is judged per repository', () => {
    const g = [node('t/one', 'x', { tagged: true }), node('t/two', 'x')];
    assert.deepEqual(deadNames(g), ['t/two@x']);
  });

  test('repository isolation: a tagged index keeps children only in its own repository', () => {
    const g = [node('t/one', 'idx', { tagged: true, children: ['amd64'] }), node('t/one', 'amd64'), node('t/two', 'amd64')];
    assert.deepEqual(deadNames(g), ['t/two@amd64']);
  });

  test('repository isolation: a subject in another repository does not keep a referrer', () => {
    const g = [node('t/one', 'tagged', { tagged: true }), node('t/two', 'sig', { subject: 'tagged' }), node('t/one', 'sbom', { subject: 'tagged' })];
    assert.deepEqual(deadNames(g), ['t/two@sig']);
  });

  test('every dead node appears exactly once; nothing live appears', () => {
    const g: ManifestNode[] = [];
    for (const repo of ['p/a', 'p/b']) {
      g.push(node(repo, 'idx', { children: ['amd64', 'arm64'] }), node(repo, 'amd64'), node(repo, 'arm64', { subject: 'x' }), node(repo, 'x', { tagged: repo === 'p/a' }), node(repo, 'y', { subject: 'amd64' }));
    }
    const out = unreachableManifests(g, CUTOFF);
    const keys = out.map((n) => `${n.repository}@${n.digest}`);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual(sorted(deadNames(g)), sorted(['p/a@idx', 'p/a@amd64', 'p/a@y', 'p/b@idx', 'p/b@amd64', 'p/b@arm64', 'p/b@x', 'p/b@y']));
  });

  test('does not mutate its input', () => {
    const g = [node('t/app', 'idx', { children: ['amd64'] }), node('t/app', 'amd64')];
    const copy = JSON.parse(JSON.stringify(g)) as unknown;
    unreachableManifests(g, CUTOFF);
    assert.deepEqual(JSON.parse(JSON.stringify(g)), copy);
  });
});
