/**
 * Elixir's `mix.lock`: a map literal of Elixir terms, one entry per dependency, written by Mix:
 *
 *   %{
 *     "plug": {:hex, :plug, "1.14.2", "<checksum>", [:mix], [{:mime, "~> 2.0", [hex: :mime, repo: "hexpm", optional: false]}], "hexpm", "<outer checksum>"},
 *     "gettext": {:git, "https://github.com/elixir-lang/gettext.git", "<sha>", [branch: "main"]},
 *   }
 *
 * Older Mix wrote `"plug" => {…}` keys and shorter `:hex` tuples (3, 6 or 7 elements). The file is
 * parsed as data by a small reader of the term syntax Mix writes (maps, tuples, lists, keyword
 * lists, strings, atoms, numbers), never evaluated. `:hex` entries are Hex packages: the tuple's
 * second element is the package name (the map key is the app name, which may differ), the third
 * its version; a repository `hexpm:<org>` is an organization's private packages (purl namespace
 * `<org>`), another repository name is a private Hex server's (namespace the repository's name),
 * so neither is matched against hex.pm advisories. Git and path dependencies have no Hex version
 * and are skipped. A dependency names the app it needs; it resolves through the lock's keys.
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { limitedWarnings } from './common.js';

/** An Elixir term, as much of it as mix.lock uses. */
type Term =
  | { readonly kind: 'atom'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: string }
  | { readonly kind: 'tuple'; readonly items: readonly Term[] }
  | { readonly kind: 'list'; readonly items: readonly Term[] }
  | { readonly kind: 'map'; readonly entries: readonly (readonly [Term, Term])[] };

/** Real locks nest four deep (map, tuple, list of deps, keyword options); more is hostile. */
const MAX_DEPTH = 32;

export const mixLockCataloger: Cataloger = {
  id: 'mix-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  // A dependency's own lock under deps/ is its development lock, not what the project resolved.
  wants: (path) => (path === 'mix.lock' || path.endsWith('/mix.lock')) && !path.startsWith('deps/') && !path.includes('/deps/'),
  async parse(file, ctx) {
    const doc = parseElixirTerm(await textOf(file));
    if (doc.kind !== 'map') throw new Error('mix.lock is not a map');
    const warnings = limitedWarnings(ctx);
    const hex = new Map<string, { name: string; version: string; repo: string; deps: string[] }>();
    for (const [k, v] of doc.entries) {
      const app = k.kind === 'string' || k.kind === 'atom' ? k.value : undefined;
      if (app === undefined || v.kind !== 'tuple' || v.items[0]?.kind !== 'atom') {
        warnings.warn(`mix.lock entry ${app !== undefined ? `"${app.slice(0, 200)}"` : 'with a key that is no string'} is not a {:scm, …} tuple`);
        continue;
      }
      if (v.items[0].value !== 'hex') continue;
      const [, name, version, , , deps, repo] = v.items;
      if (name?.kind !== 'atom' || version?.kind !== 'string' || version.value === '') {
        warnings.warn(`mix.lock entry "${app.slice(0, 200)}" is a :hex tuple without a package name and version`);
        continue;
      }
      const depApps = deps?.kind === 'list' ? deps.items.flatMap((d) => (d.kind === 'tuple' && d.items[0]?.kind === 'atom' ? [d.items[0].value] : [])) : [];
      hex.set(app, { name: name.value, version: version.value, repo: repo?.kind === 'string' ? repo.value : 'hexpm', deps: depApps });
    }
    warnings.done();
    return [...hex.values()].map(({ name, version, repo, deps }): Finding => {
      const dependsOn = deps.flatMap((d) => {
        const target = hex.get(d);
        return target !== undefined ? [packageKey({ type: 'hex', ...hexNamespace(target.repo), name: target.name, version: target.version })] : [];
      });
      const pkg: RawPackage = {
        type: 'hex',
        ...hexNamespace(repo),
        name,
        version,
        ...(repo !== 'hexpm' ? { properties: { repo } } : {}),
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
      };
      return { kind: 'package', package: pkg };
    });
  },
};

function hexNamespace(repo: string): { namespace?: string } {
  if (repo === 'hexpm') return {};
  return { namespace: repo.startsWith('hexpm:') ? repo.slice('hexpm:'.length) : repo };
}

// ---- a reader of Elixir term literals ----

/**
 * Parses one Elixir term literal (with an optional trailing newline and comments). Throws a
 * SyntaxError naming the line on anything else: this reads data, it evaluates nothing.
 */
export function parseElixirTerm(text: string): Term {
  let i = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new SyntaxError(`${what} at line ${line}`);
  };
  const skip = (): void => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text[i] !== '#') return;
      while (i < text.length && text[i] !== '\n') i++;
    }
  };
  const stringLiteral = (): string => {
    // Mix writes plain double-quoted strings; escapes are kept simple (\" \\ \n \t), interpolation refused.
    let out = '';
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) return fail('unterminated string');
      i++;
      if (c === '"') return out;
      if (c === '#' && text[i] === '{') return fail('string interpolation');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i++];
      out += e === 'n' ? '\n' : e === 't' ? '\t' : e === undefined ? fail('unterminated string') : e;
    }
  };
  const atomName = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_@]*[?!]?/.exec(text.slice(i, i + 256));
    if (m === null) return fail('expected an atom');
    i += m[0].length;
    return m[0];
  };
  const items = (close: string, depth: number, allowKeywords: boolean): Term[] => {
    const out: Term[] = [];
    for (;;) {
      skip();
      if (text[i] === close) {
        i++;
        return out;
      }
      out.push(keywordOr(depth, allowKeywords));
      skip();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(`expected "," or "${close}"`);
    }
  };
  /** A list element may be `key: value`, which is the tuple {:key, value}. */
  const keywordOr = (depth: number, allowKeywords: boolean): Term => {
    if (allowKeywords) {
      const m = /^([A-Za-z_][A-Za-z0-9_@]*[?!]?):\s/.exec(text.slice(i, i + 258));
      if (m !== null) {
        i += m[0].length;
        return { kind: 'tuple', items: [{ kind: 'atom', value: m[1]! }, value(depth + 1)] };
      }
    }
    return value(depth + 1);
  };
  const value = (depth: number): Term => {
    if (depth > MAX_DEPTH) fail('terms nested too deep');
    skip();
    const c = text[i];
    if (c === '"') return { kind: 'string', value: stringLiteral() };
    if (c === ':') {
      i++;
      return { kind: 'atom', value: text[i] === '"' ? stringLiteral() : atomName() };
    }
    if (c === '{') {
      i++;
      return { kind: 'tuple', items: items('}', depth, false) };
    }
    if (c === '[') {
      i++;
      return { kind: 'list', items: items(']', depth, true) };
    }
    if (c === '%' && text[i + 1] === '{') {
      i += 2;
      return { kind: 'map', entries: mapEntries(depth) };
    }
    const num = /^-?\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][-+]?\d+)?/.exec(text.slice(i, i + 128));
    if (num !== null) {
      i += num[0].length;
      return { kind: 'number', value: num[0] };
    }
    // true, false and nil are atoms written without the colon.
    const bare = /^(true|false|nil)\b/.exec(text.slice(i, i + 6));
    if (bare !== null) {
      i += bare[0].length;
      return { kind: 'atom', value: bare[1]! };
    }
    return fail(c === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(c)}`);
  };
  /** `"key": value` (the key is then an atom in Elixir, but Mix reads it as the app name either way) or `key => value`. */
  const mapEntries = (depth: number): [Term, Term][] => {
    const out: [Term, Term][] = [];
    for (;;) {
      skip();
      if (text[i] === '}') {
        i++;
        return out;
      }
      let key: Term;
      if (text[i] === '"') {
        key = { kind: 'string', value: stringLiteral() };
        if (text[i] === ':' && /\s/.test(text[i + 1] ?? '')) i++;
        else arrow();
      } else {
        const m = /^([A-Za-z_][A-Za-z0-9_@]*[?!]?):\s/.exec(text.slice(i, i + 258));
        if (m !== null) {
          i += m[0].length;
          key = { kind: 'atom', value: m[1]! };
        } else {
          key = value(depth + 1);
          arrow();
        }
      }
      out.push([key, value(depth + 1)]);
      skip();
      if (text[i] === ',') i++;
      else if (text[i] !== '}') fail('expected "," or "}"');
    }
  };
  const arrow = (): void => {
    skip();
    if (text.startsWith('=>', i)) i += 2;
    else fail('expected "=>"');
  };
  const term = value(0);
  skip();
  if (i < text.length) fail('text after the term');
  return term;
}
