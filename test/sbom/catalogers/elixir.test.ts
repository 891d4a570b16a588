/**
 * mix.lock against Mix. `MIX_1_14` is the file Mix 1.14 wrote (`Mix.Dep.Lock.write/1` in a
 * `mix new` project, Debian's elixir 1.14.0); the older shapes (`=>` keys, 3-, 6- and 7-element
 * `:hex` tuples) follow mix.lock files published by projects of those years. Where elixir is
 * installed, `Mix.Dep.Lock.read/1` reads every lockfile here and its entries are the ground truth.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RawPackage } from '../../../src/sbom/index.js';
import { mixLockCataloger, parseElixirTerm } from '../../../src/sbom/catalogers/elixir.js';
import { requireTools, tempDir } from '../../helpers/env.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const MIX_1_14 = `%{
  "mime": {:hex, :mime, "2.0.3", "3676436d3d1f7b81b5a2d2bd8405f412c677558c81b1c92be58c00562bb59095", [:mix], [], "hexpm", "27a30bf0db44d25eecba73755acf4068cbfe26a4372f9eb3e4ea3a45956bff6b"},
  "my_git": {:git, "https://github.com/elixir-lang/gettext.git", "1e4a5a2a0f1c9d2b3c4d5e6f7a8b9c0d1e2f3a4b", [branch: "main"]},
  "plug": {:hex, :plug, "1.14.2", "cff7d4ec45b4ae176a227acd94a7ab536d9b37b942c8e8fa6dfc0fff98ff4d80", [:mix], [{:mime, "~> 1.0 or ~> 2.0", [hex: :mime, repo: "hexpm", optional: false]}, {:plug_crypto, "~> 1.1.1 or ~> 1.2", [hex: :plug_crypto, repo: "hexpm", optional: false]}, {:telemetry, "~> 0.4.3 or ~> 1.0", [hex: :telemetry, repo: "hexpm", optional: false]}], "hexpm", "842fc50187e13cf4ac3b253d47d9474ed6c296a8732752835ce4a86acdf68d13"},
  "plug_crypto": {:hex, :plug_crypto, "1.2.5", "918772575e48e81e455818229bf719d4ab4181fcbf7f85b68a35620f78d89ced", [:mix], [], "hexpm", "26549a1d6345e2172eb1c233866756ae44a9609bd33ee6f99147ab3fd87fd842"},
  "private_lib": {:hex, :private_lib, "0.3.0-rc.1", "aaaa", [:mix], [], "hexpm:acme", "bbbb"},
  "ranch": {:hex, :ranch, "1.8.0", "8c7a100a139fd57f17327b6413e4167ac559fbc04ca7448e9be9057311597a1d", [:make, :rebar3], [], "hexpm", "49fbcfd3682fab1f5d109351b61257676da1a2fdbe295904176d5e521a2ddfe5"},
  "renamed": {:hex, :real_name, "2.0.0", "cccc", [:mix], [], "hexpm", "dddd"},
  "telemetry": {:hex, :telemetry, "1.2.1", "68fdfe8d8f05a8428483a97d7aab2f268aaff24b49e0f599faa091f1d4e7f61c", [:rebar3], [], "hexpm", "dad9ce9d8effc621708f99eac538ef1cbe05d6a874dd741de2e689c47feafed5"},
}
`;

/** Elixir 1.2-era: `=>` keys, bare {:hex, name, version}; and a 6-element tuple with an optional dependency. */
const OLD = `%{"connection" => {:hex, :connection, "1.0.4"},
  "cowboy" => {:hex, :cowboy, "1.0.4", "a324a8df9f2316c833a470d918aaf73ae894278b8aa6226ce7a9bf699388f878", [:rebar, :make], [{:cowlib, "~> 1.0.0", [hex: :cowlib, optional: false]}, {:ranch, "~> 1.0", [hex: :ranch, optional: false]}]},
  "cowlib" => {:hex, :cowlib, "1.0.2", "9d769a1d062c9c3ac753096f868ca121e2730b9a377de23dec0f7e08b1df84ee", [:make], []},
  "oauth" => {:git, "https://github.com/tim/erlang-oauth.git", "bd19896e31125f99ff45bb5850b1c0e74b996743", []},
  # a comment Mix never writes, but Elixir allows
  "ranch" => {:hex, :ranch, "1.2.1", "a6fb992c10f2187b46ffd17ce398ddf8a54f691b81768f9ef5f461ea7e28c762", [:make], [], "hexpm"}}
`;

const catalog = (text: string): ReturnType<typeof runCataloger> => runCataloger(mixLockCataloger, 'app/mix.lock', text);

/** `name@version repo deps` per Hex package; the repository as Mix states it. */
function summary(packages: readonly RawPackage[]): string[] {
  return packages
    .map((p) => {
      const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('hex:'.length).replace(/^.*\//, '')).sort();
      return `${p.name}@${p.version} ${p.properties?.['repo'] ?? 'hexpm'}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
    })
    .sort();
}

test('mix.lock as Mix 1.14 writes it: Hex packages by their package name, organization repositories, dependencies', async () => {
  const { packages, warnings } = await catalog(MIX_1_14);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'mime@2.0.3 hexpm',
    'plug@1.14.2 hexpm -> mime@2.0.3 plug_crypto@1.2.5 telemetry@1.2.1',
    'plug_crypto@1.2.5 hexpm',
    'private_lib@0.3.0-rc.1 hexpm:acme',
    'ranch@1.8.0 hexpm',
    'real_name@2.0.0 hexpm',
    'telemetry@1.2.1 hexpm',
  ]);
  assert.deepEqual(packages.find((p) => p.name === 'private_lib'), { type: 'hex', namespace: 'acme', name: 'private_lib', version: '0.3.0-rc.1', properties: { repo: 'hexpm:acme' } });
  assert.deepEqual(packages.find((p) => p.name === 'mime'), { type: 'hex', name: 'mime', version: '2.0.3' });
});

test('mix.lock of older Mix: => keys, 3-, 6- and 7-element tuples, comments', async () => {
  const { packages, warnings } = await catalog(OLD);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['connection@1.0.4 hexpm', 'cowboy@1.0.4 hexpm -> cowlib@1.0.2 ranch@1.2.1', 'cowlib@1.0.2 hexpm', 'ranch@1.2.1 hexpm']);
});

test('Mix.Dep.Lock.read agrees on every lockfile here', async (t) => {
  if (!requireTools(t, 'elixir')) return;
  const dir = tempDir(t);
  // One line per entry: app, then name@version repo deps for :hex, else the SCM.
  const script = `
    [path] = System.argv()
    for {app, t} <- Enum.sort(Mix.Dep.Lock.read(path)) do
      case t do
        {:hex, n, v} -> IO.puts("#{app} #{n}@#{v} hexpm")
        {:hex, n, v, _, _, d} -> IO.puts("#{app} #{n}@#{v} hexpm #{Enum.map_join(d, ",", &elem(&1, 0))}")
        {:hex, n, v, _, _, d, r} -> IO.puts("#{app} #{n}@#{v} #{r} #{Enum.map_join(d, ",", &elem(&1, 0))}")
        {:hex, n, v, _, _, d, r, _} -> IO.puts("#{app} #{n}@#{v} #{r} #{Enum.map_join(d, ",", &elem(&1, 0))}")
        other -> IO.puts("#{app} #{elem(other, 0)}")
      end
    end`;
  for (const [label, text] of [['Mix 1.14', MIX_1_14], ['old', OLD]] as const) {
    const path = join(dir, `${label.replace(/\W/g, '')}.lock`);
    writeFileSync(path, text);
    const lines = execFileSync('elixir', ['-e', script, path], { encoding: 'utf8' }).trim().split('\n');
    const hex = lines.map((l) => l.split(' ')).filter((f) => f.length > 2);
    const byApp = new Map(hex.map(([app, nv]) => [app!, nv!]));
    const expected = hex.map(([, nv, repo, deps]) => {
      const resolved = (deps ?? '').split(',').flatMap((d) => byApp.get(d) ?? []).sort();
      return `${nv!} ${repo!}${resolved.length > 0 ? ` -> ${resolved.join(' ')}` : ''}`;
    });
    assert.ok(expected.length >= 4, label);
    assert.deepEqual(summary((await catalog(text)).packages), expected.sort(), label);
  }
});

test('the term reader: keyword lists, quoted atoms, escapes, nesting; no evaluation', () => {
  assert.deepEqual(parseElixirTerm('[a: 1, :"c d"]'), {
    kind: 'list',
    items: [
      { kind: 'tuple', items: [{ kind: 'atom', value: 'a' }, { kind: 'number', value: '1' }] },
      { kind: 'atom', value: 'c d' },
    ],
  });
  const t = parseElixirTerm('{:x, "a\\"b", [k: true], %{1 => nil}}');
  assert.equal(t.kind, 'tuple');
  assert.deepEqual(t.kind === 'tuple' ? t.items.map((x) => x.kind) : [], ['atom', 'string', 'list', 'map']);
  assert.deepEqual(t.kind === 'tuple' ? t.items[1] : undefined, { kind: 'string', value: 'a"b' });
  for (const bad of ['%{"a": System.cmd("id", [])}', '"#{1}"', '{:a', '[1, 2', '%{"a" {}}', `${'['.repeat(100)}${']'.repeat(100)}`, '{} {}']) {
    assert.throws(() => parseElixirTerm(bad), SyntaxError, bad);
  }
});

test('wants mix.lock outside deps/', () => {
  assert.ok(mixLockCataloger.wants('mix.lock', 1, 0o644));
  assert.ok(mixLockCataloger.wants('app/mix.lock', 1, 0o644));
  assert.ok(!mixLockCataloger.wants('app/deps/plug/mix.lock', 1, 0o644));
  assert.ok(!mixLockCataloger.wants('app/mymix.lock', 1, 0o644));
});

test('broken input warns: truncated, not a map, entries without versions, garbage', async () => {
  const garbage = GARBAGE.toString('latin1');
  for (const body of [garbage, '%{"a": {:hex, :a, "1.0.0"}, "b": {:hex', '[]', '']) {
    const { packages, warnings } = await catalog(body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const { packages, warnings } = await catalog('%{"ok": {:hex, :ok, "1.0.0"}, "nov": {:hex, :nov}, "num": 7, "bad": {"x"}}');
  assert.deepEqual(summary(packages), ['ok@1.0.0 hexpm']);
  assert.equal(warnings.length, 3, warnings.join('; '));
});
