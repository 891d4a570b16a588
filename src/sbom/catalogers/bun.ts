/**
 * Bun's text lockfile, `bun.lock` (Bun ≥ 1.2; JSON with trailing commas, read as JSONC). Its
 * `packages` map is keyed by the package's place in the install tree (`is-odd`, `is-even/is-odd`:
 * the copy nested under is-even, `util/ms`: the copy under the workspace member util) and says
 * what is there: `["name@version", registry, {dependencies…}, integrity]` for a registry package,
 * `["name@workspace:path"]`, `["name@file:…", {…}]`, `["name@github:…", {…}, "…"]` and the like for
 * the rest. The key is an alias when it differs from the name (`"num": ["is-number@7.0.0", …]`).
 *
 * Registry packages are npm packages. Workspace members with a version are packages too (as npm's
 * lockfile has them); `file:`, `link:`, git, GitHub and tarball entries state no version and are
 * the project's own code or unversioned sources, so they are skipped. A dependency resolves the
 * way node resolves `require`: the nearest copy up the tree. Dev is what only the workspaces'
 * devDependencies reach. The binary `bun.lockb` of older Bun is not read.
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { isRecord, limitedWarnings, reachable, type Json } from './common.js';
import { insideNodeModules, LockPackages } from './npm.js';

const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;
/** Tree keys deeper than this are no install tree; the bound keeps resolution linear. */
const MAX_KEY_SEGMENTS = 128;

export const bunLockCataloger: Cataloger = {
  id: 'bun-lock',
  version: 1,
  wants: (path) => (path === 'bun.lock' || path.endsWith('/bun.lock')) && !insideNodeModules(path),
  async parse(file, ctx) {
    const doc = parseJsonc(await textOf(file));
    if (!isRecord(doc) || !isRecord(doc['packages'])) throw new Error('bun.lock has no "packages" object');
    const workspaces = isRecord(doc['workspaces']) ? doc['workspaces'] : {};
    const warnings = limitedWarnings(ctx);
    const out = new LockPackages();

    // Each tree key: the package key it holds (npm registry packages and versioned workspace members).
    const keyAt = new Map<string, string>();
    const entries = new Map<string, Json>();
    for (const [treeKey, value] of Object.entries(doc['packages'])) {
      const parsed = Array.isArray(value) && typeof value[0] === 'string' ? splitIdentifier(value[0]) : undefined;
      if (parsed === undefined || !Array.isArray(value)) {
        warnings.warn(`bun.lock package "${treeKey.slice(0, 200)}" is not ["name@version", …]`);
        continue;
      }
      const meta = value.find((v, i) => i > 0 && isRecord(v));
      entries.set(treeKey, isRecord(meta) ? meta : {});
      if (parsed.spec.startsWith('workspace:')) {
        const ws = workspaces[parsed.spec.slice('workspace:'.length)];
        const version = isRecord(ws) && typeof ws['version'] === 'string' && ws['version'] !== '' ? ws['version'] : undefined;
        if (version !== undefined) keyAt.set(treeKey, out.add(parsed.name, version));
        continue;
      }
      // A registry package's second element is the registry (or "" for the default); others have their metadata there.
      if (typeof value[1] !== 'string' || !isPlainVersion(parsed.spec)) continue;
      keyAt.set(treeKey, out.add(parsed.name, parsed.spec));
    }

    const resolve = (from: string, dep: string): string | undefined => {
      for (let dir: string | undefined = from; dir !== undefined; dir = parentKey(dir)) {
        const key = dir === '' ? dep : `${dir}/${dep}`;
        if (entries.has(key)) return key;
      }
      return undefined;
    };
    const edges = new Map<string, string[]>();
    for (const [treeKey, meta] of entries) {
      if (treeKey.split('/').length > MAX_KEY_SEGMENTS) continue;
      const deps = DEP_FIELDS.flatMap((f) => (isRecord(meta[f]) ? Object.keys(meta[f]) : [])).flatMap((d) => resolve(treeKey, d) ?? []);
      edges.set(treeKey, deps);
      const from = keyAt.get(treeKey);
      for (const d of deps) {
        const to = keyAt.get(d);
        if (from !== undefined && to !== undefined) out.dependsOn(from, to);
      }
    }

    // Workspace dependencies start at the member's own tree key (its name); the root's at the top.
    const prodRoots: string[] = [];
    const devRoots: string[] = [];
    for (const [path, ws] of Object.entries(workspaces)) {
      if (!isRecord(ws)) continue;
      const name = typeof ws['name'] === 'string' ? ws['name'] : '';
      const base = path === '' || name === '' ? '' : name;
      const memberKey = keyAt.get(name);
      for (const field of [...DEP_FIELDS, 'devDependencies'] as const) {
        for (const dep of isRecord(ws[field]) ? Object.keys(ws[field]) : []) {
          const target = resolve(base, dep);
          if (target === undefined) continue;
          (field === 'devDependencies' ? devRoots : prodRoots).push(target);
          const to = keyAt.get(target);
          if (path !== '' && memberKey !== undefined && to !== undefined) out.dependsOn(memberKey, to);
        }
      }
    }
    // By package, not tree key: a package installed at two places is dev only if no copy is reached otherwise.
    const prod = new Set([...reachable(prodRoots, edges)].flatMap((k) => keyAt.get(k) ?? []));
    for (const treeKey of reachable(devRoots, edges)) {
      const key = keyAt.get(treeKey);
      if (key !== undefined && !prod.has(key)) out.markDev(key);
    }
    warnings.done();
    return out.findings();
  },
};

/** `name@spec` (the name may be scoped: `@types/node@20.1.0`). */
function splitIdentifier(id: string): { name: string; spec: string } | undefined {
  const at = id.indexOf('@', 1);
  return at > 0 && at < id.length - 1 ? { name: id.slice(0, at), spec: id.slice(at + 1) } : undefined;
}

/** A registry version (`1.2.3`, `1.0.0-rc.1`), not a URL, path or protocol spec. */
function isPlainVersion(spec: string): boolean {
  return /^\d[0-9A-Za-z.+-]*$/.test(spec);
}

/** The tree key a package's own dependencies are searched in after its own: its parent's; '' at the top, undefined past it. */
function parentKey(key: string): string | undefined {
  if (key === '') return undefined;
  // Segments are package names, and a scoped name spans two: `a/@s/b/c` → `a`, `@s/b`, `c`.
  const parts = key.split('/');
  const last = parts.length >= 2 && parts[parts.length - 2]!.startsWith('@') ? 2 : 1;
  return parts.slice(0, -last).join('/');
}

/**
 * JSON with comments and trailing commas (what Bun writes and reads), as plain JSON.parse input:
 * comments and the commas before `}` or `]` are dropped outside strings. Throws as JSON.parse does.
 */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  let pendingComma = false;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (pendingComma) out += ',';
      pendingComma = false;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new SyntaxError('unterminated comment');
      i = end + 2;
    } else if (c === ',') {
      // Held until the next token shows whether a value follows.
      if (pendingComma) out += ',';
      pendingComma = true;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      out += c;
      i++;
    } else {
      if (pendingComma && c !== '}' && c !== ']') out += ',';
      pendingComma = false;
      out += c;
      i++;
    }
  }
  if (pendingComma) out += ',';
  return JSON.parse(out) as unknown;
}
