/**
 * Hex versions (src/vuln/version/hex.ts) against Elixir's own `Version` module: the vectors of
 * Elixir's version_test.exs, and 4000 generated pairs judged by `Version.parse/1` and
 * `Version.compare/2` of the installed elixir (Debian's elixir package).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareHex, isValidHex } from '../../../src/vuln/version/hex.js';
import { requireTools } from '../../helpers/env.js';
import { assertAgrees, assertConsistent, assertTable, genSemverLike, makePairs, parseVerdicts, Rng, runBatch } from './lang-oracle.js';

test("hex: Elixir's version_test.exs compare and parse vectors", () => {
  assertTable(compareHex, [
    ['1.0.1', '>', '1.0.0'],
    ['1.1.0', '>', '1.0.1'],
    ['2.1.1', '>', '1.2.2'],
    ['1.0.0', '>', '1.0.0-dev'],
    ['1.2.3-dev', '>', '0.1.2'],
    ['1.0.0-a.b', '>', '1.0.0-a'],
    ['1.0.0-b', '>', '1.0.0-a.b'],
    ['1.0.0-a', '>', '1.0.0-0'],
    ['1.0.0-a.b', '>', '1.0.0-a.a'],
    ['1.0.0', '=', '1.0.0'],
    ['1.0.0-dev', '=', '1.0.0-dev'],
    ['1.0.0-a', '=', '1.0.0-a'],
    // Build metadata is ignored (`V.match?("0.9.3", "== 0.9.3+dev")`).
    ['0.9.3', '=', '0.9.3+dev'],
    ['1.2.3-alpha.10', '>', '1.2.3-alpha.1'],
    ['0.10.2-dev', '<', '0.10.2'],
  ]);
  for (const ok of ['1.2.3', '1.4.5+ignore', '1.4.5-6-g3318bd5', '1.4.5-6.7.eight', '1.4.5-6-g3318bd5+ignore']) assert.equal(isValidHex(ok), true, ok);
  for (const bad of ['foobar', '2.3', '2', '2.3.0-01', 'v1.0.0', '01.0.0', '1.0']) assert.equal(isValidHex(bad), false, bad);
});

/** One line per pair: `VA VB CMP`, from Version.parse and Version.compare. */
const ELIXIR_ORACLE = `
IO.stream(:stdio, :line) |> Enum.each(fn line ->
  [a, b] = line |> String.trim_trailing("\\n") |> String.split("\\t")
  pa = Version.parse(a)
  pb = Version.parse(b)
  va = if match?({:ok, _}, pa), do: "1", else: "0"
  vb = if match?({:ok, _}, pb), do: "1", else: "0"
  c = case {pa, pb} do
    {{:ok, x}, {:ok, y}} -> %{lt: "-1", eq: "0", gt: "1"}[Version.compare(x, y)]
    _ -> "x"
  end
  IO.puts("#{va} #{vb} #{c}")
end)`;

test('hex agrees with Elixir Version on 4000 generated pairs', (t) => {
  if (!requireTools(t, 'elixir')) return;
  const pairs = makePairs(new Rng(0xe11c1), 4000, (r) => genSemverLike(r, { prefix: ['', '', '', '', '', 'v', ' '] }));
  assertConsistent(compareHex, pairs);
  assertAgrees(t, pairs, parseVerdicts(runBatch('elixir', ['-e', ELIXIR_ORACLE], pairs)), compareHex, isValidHex);
});
