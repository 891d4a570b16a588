/**
 * JavaScript packages, four catalogers:
 * - `npmPackageCataloger`: installed packages, from `node_modules/<name>/package.json` and
 *   `node_modules/@scope/<name>/package.json` (at any depth of node_modules nesting, pnpm's
 *   `.pnpm/<id>/node_modules/<name>` included). Other package.json files inside a package (`lib/`,
 *   test fixtures, `esm/` stubs) and the application's own package.json are not packages.
 * - `npmLockCataloger`: `package-lock.json` and `npm-shrinkwrap.json`, lockfile v1 (nested
 *   `dependencies`) and v2/v3 (`packages` keyed by install path), with the root project and the
 *   dependency graph resolved the way node resolves `require` (nearest `node_modules` upwards).
 * - `yarnLockCataloger`: `yarn.lock`, classic (v1 text format) and berry (YAML with `__metadata`).
 * - `pnpmLockCataloger`: `pnpm-lock.yaml` v5 (`/name/1.0.0_peer`), v6 (`/name@1.0.0(peer)`) and v9
 *   (`name@1.0.0` packages plus `snapshots`).
 *
 * Dev dependencies are kept, as Syft keeps them, with the property `dev: "true"` where the lockfile
 * tells (npm `dev`, pnpm `dev` or reachability from importers' devDependencies). yarn.lock does not
 * record it, so yarn packages carry no dev mark. npm workspace members are packages (the lockfile
 * gives their name and version); yarn berry's workspace, `link:` and `portal:` entries (version
 * `0.0.0-use.local`) are skipped, and pnpm names workspaces only as importers. Lockfiles inside
 * node_modules are not read: a dependency's own lockfile lists its development tree, not what is
 * installed, and what is installed is read from node_modules itself.
 */
import { createRequire } from 'node:module';
import type { CatalogContext, Cataloger, CatalogFile } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { normalizeLicenses } from '../licenses.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, limitedWarnings, reachable, type Json } from './common.js';

// yaml is loaded on the first YAML lockfile only: most images have none, and start-up counts.
const requireLazy = createRequire(import.meta.url);
let yamlParse: (typeof import('yaml'))['parse'] | undefined;
function parseYaml(text: string, options: { schema: 'failsafe'; maxAliasCount: number }): unknown {
  yamlParse ??= (requireLazy('yaml') as typeof import('yaml')).parse;
  return yamlParse(text, options);
}

/** Deeper lockfile v1 nesting than any real tree has; the bound keeps dependency resolution linear. */
const MAX_V1_DEPTH = 256;


function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Debian installs node modules into /usr/share/nodejs and /usr/lib/nodejs (and per-arch
 * /usr/lib/<triplet>/nodejs): directories that play node_modules' part for the system's node.
 */
function isDebianNodePath(dir: string): boolean {
  if (dir === 'usr/share/nodejs' || dir === 'usr/lib/nodejs') return true;
  return dir.startsWith('usr/lib/') && dir.endsWith('/nodejs') && dir.indexOf('/', 8) === dir.length - '/nodejs'.length;
}

export function insideNodeModules(path: string): boolean {
  return path.startsWith('node_modules/') || path.includes('/node_modules/') || path.startsWith('usr/share/nodejs/') || path.startsWith('usr/lib/nodejs/') || (path.startsWith('usr/lib/') && path.includes('/nodejs/'));
}

/** License statements of a package.json or lockfile entry: `license` (string or legacy {type}) and legacy `licenses[]`. */
function npmLicenses(doc: Json): string[] {
  const out: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (isRecord(v) && typeof v['type'] === 'string') out.push(v['type']);
  };
  for (const field of [doc['license'], doc['licenses']]) {
    if (Array.isArray(field)) field.forEach(add);
    else add(field);
  }
  return normalizeLicenses(out);
}

/** `@scope/name` → namespace `@scope`, name `name`; anything else is a plain name. */
function splitName(fullName: string): { namespace?: string; name: string } {
  const slash = fullName.indexOf('/');
  if (fullName.startsWith('@') && slash > 1 && slash < fullName.length - 1) return { namespace: fullName.slice(0, slash), name: fullName.slice(slash + 1) };
  return { name: fullName };
}

function npmKey(fullName: string, version: string): string {
  return packageKey({ type: 'npm', ...splitName(fullName), version });
}

/**
 * Packages of one lockfile, merged by key: the same name@version installed at several paths is one
 * package whose dependencies are the union, and which is dev only if every occurrence is.
 */
export class LockPackages {
  private readonly entries = new Map<string, { fullName: string; version: string; licenses: Set<string>; dev: boolean | undefined; root: boolean; deps: Set<string> }>();

  /** Adds (or merges) a package; `dev` undefined means the lockfile does not say. Returns its key. */
  add(fullName: string, version: string, opts: { dev?: boolean; root?: boolean; licenses?: readonly string[] } = {}): string {
    const key = npmKey(fullName, version);
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { fullName, version, licenses: new Set(), dev: opts.dev, root: false, deps: new Set() };
      this.entries.set(key, e);
    } else if (opts.dev !== undefined) {
      e.dev = e.dev === undefined ? opts.dev : e.dev && opts.dev;
    }
    if (opts.root === true) e.root = true;
    for (const l of opts.licenses ?? []) e.licenses.add(l);
    return key;
  }

  /** Marks a package dev, for lockfiles that tell it by reachability rather than per entry. */
  markDev(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined) e.dev = true;
  }

  dependsOn(from: string, to: string): void {
    if (from !== to) this.entries.get(from)?.deps.add(to);
  }

  findings(): Finding[] {
    return [...this.entries.values()].map((e) => {
      const pkg: RawPackage = {
        type: 'npm',
        ...splitName(e.fullName),
        version: e.version,
        ...(e.licenses.size > 0 ? { licenses: [...e.licenses] } : {}),
        ...(e.dev === true && !e.root ? { properties: { dev: 'true' } } : {}),
        ...(e.deps.size > 0 ? { dependsOn: [...e.deps] } : {}),
        ...(e.root ? { root: true } : {}),
      };
      return { kind: 'package', package: pkg };
    });
  }
}

function parseJson(text: string, ctx: CatalogContext, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    ctx.warn(`not valid JSON, no ${what} read: ${(err as Error).message.slice(0, 200)}`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Installed packages

/** True for `…node_modules/<name>/package.json` and `…node_modules/@scope/<name>/package.json`. */
function isInstalledManifest(path: string): boolean {
  if (!path.endsWith('/package.json')) return false;
  const end = path.length - '/package.json'.length;
  const nameStart = path.lastIndexOf('/', end - 1) + 1;
  const dir = path.slice(nameStart, end);
  if (dir === '' || dir.startsWith('.')) return false;
  const parentEnd = nameStart - 1;
  if (parentEnd <= 0) return false;
  const parentStart = path.lastIndexOf('/', parentEnd - 1) + 1;
  const parent = path.slice(parentStart, parentEnd);
  // A scope directory (`node_modules/@types`) holds packages; it is not one.
  if (parent === 'node_modules' || isDebianNodePath(path.slice(0, parentEnd))) return !dir.startsWith('@');
  if (!parent.startsWith('@') || parentStart === 0) return false;
  const grandStart = path.lastIndexOf('/', parentStart - 2) + 1;
  return path.slice(grandStart, parentStart - 1) === 'node_modules' || isDebianNodePath(path.slice(0, parentStart - 1));
}

export const npmPackageCataloger: Cataloger = {
  id: 'npm-package',
  version: 2,
  wants: (path) => isInstalledManifest(path),
  async parse(file: CatalogFile, ctx: CatalogContext): Promise<readonly Finding[]> {
    const doc = parseJson(await textOf(file), ctx, 'package');
    if (!isRecord(doc)) {
      if (doc !== undefined) ctx.warn('package.json is not a JSON object');
      return [];
    }
    const name = str(doc['name']);
    const version = str(doc['version']);
    if (name === undefined || version === undefined) {
      ctx.warn(`package.json without ${name === undefined ? 'name' : 'version'}`);
      return [];
    }
    const licenses = npmLicenses(doc);
    const pkg: RawPackage = { type: 'npm', ...splitName(name), version, ...(licenses.length > 0 ? { licenses } : {}) };
    return [{ kind: 'package', package: pkg }];
  },
};

// ---------------------------------------------------------------------------------------------
// package-lock.json / npm-shrinkwrap.json

const NPM_LOCKS = new Set(['package-lock.json', 'npm-shrinkwrap.json']);

export const npmLockCataloger: Cataloger = {
  id: 'npm-lock',
  version: 2,
  wants: (path) => (path.endsWith('package-lock.json') || path.endsWith('npm-shrinkwrap.json')) && NPM_LOCKS.has(basename(path)) && !insideNodeModules(path),
  async parse(file, ctx) {
    const doc = parseJson(await textOf(file), ctx, 'packages');
    if (!isRecord(doc)) {
      if (doc !== undefined) ctx.warn('lockfile is not a JSON object');
      return [];
    }
    const out = new LockPackages();
    const warnings = limitedWarnings(ctx);
    if (isRecord(doc['packages'])) readPackagesLock(doc, doc['packages'], out, warnings);
    else if (isRecord(doc['dependencies']) || doc['lockfileVersion'] === 1) readV1Lock(doc, out, warnings);
    else warnings.warn('lockfile has neither "packages" nor "dependencies"');
    warnings.done();
    return out.findings();
  },
};

const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;
/** The root project and workspace members also install their devDependencies. */
const PROJECT_DEP_FIELDS = [...DEP_FIELDS, 'devDependencies'] as const;

/** Linux PATH_MAX: no install path on disk is longer, so a longer key is no install. */
const MAX_INSTALL_PATH = 4096;
/** Lookups to resolve one lockfile's dependencies: real ones need a few per dependency, only a hostile file gets near. */
const MAX_RESOLVE_STEPS = 20_000_000;

/** Splits an install path `dir/node_modules/name` (`node_modules/name` at the top, dir ''); undefined for project paths. */
function installSlot(path: string): { dir: string; name: string } | undefined {
  const i = path.lastIndexOf('node_modules/');
  if (i < 0 || (i > 0 && path[i - 1] !== '/')) return undefined;
  return { dir: i === 0 ? '' : path.slice(0, i - 1), name: path.slice(i + 'node_modules/'.length) };
}

/** The directory whose node_modules node searches after `dir`'s own: the enclosing package, or the top. */
function parentDir(dir: string): string {
  const up = dir.lastIndexOf('/node_modules/');
  return up >= 0 ? dir.slice(0, up) : '';
}

/** Lockfile v2/v3: `packages` keyed by install path (`""` is the root project). */
function readPackagesLock(doc: Json, packages: Json, out: LockPackages, warnings: { warn(m: string): void }): void {
  const keyAt = new Map<string, string>();
  const links: [string, string][] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (!isRecord(entry) || path.length > MAX_INSTALL_PATH) {
      warnings.warn(`lockfile entry "${path.slice(0, 200)}" is ${isRecord(entry) ? 'longer than any install path' : 'not an object'}`);
      continue;
    }
    if (entry['link'] === true) {
      const target = str(entry['resolved']);
      if (target !== undefined) links.push([path, target]);
      continue;
    }
    // The install path names the package (`…node_modules/@scope/name`); `name` is set for aliases and workspaces.
    const name = str(entry['name']) ?? (path === '' ? str(doc['name']) : (installSlot(path)?.name ?? basename(path)));
    const version = str(entry['version']) ?? (path === '' ? str(doc['version']) : undefined);
    if (name === undefined || version === undefined) {
      // A root project without name or version is not a package, but its dependencies still are.
      if (path !== '') warnings.warn(`lockfile entry "${path.slice(0, 200)}" has no ${name === undefined ? 'name' : 'version'}`);
      continue;
    }
    keyAt.set(path, out.add(name, version, { dev: entry['dev'] === true, root: path === '', licenses: npmLicenses(entry) }));
  }

  // What each directory's node_modules holds: byDir.get(dir).get(name) is a package key.
  const byDir = new Map<string, Map<string, string>>();
  const place = (path: string, key: string | undefined): void => {
    const slot = installSlot(path);
    if (slot === undefined || key === undefined) return;
    let names = byDir.get(slot.dir);
    if (names === undefined) byDir.set(slot.dir, (names = new Map()));
    names.set(slot.name, key);
  };
  for (const [path, key] of keyAt) place(path, key);
  // A workspace is linked into node_modules; the link resolves to the member's own entry.
  for (const [path, target] of links) place(path, keyAt.get(target));

  // The directories node searches from `dir` upwards, shared between the packages under one directory.
  const chains = new Map<string, readonly string[]>([['', ['']]]);
  const chainOf = (dir: string): readonly string[] => {
    const pending: string[] = [];
    let d = dir;
    let known = chains.get(d);
    while (known === undefined) {
      pending.push(d);
      d = parentDir(d);
      known = chains.get(d);
    }
    for (let i = pending.length - 1; i >= 0; i--) {
      known = [pending[i]!, ...known];
      chains.set(pending[i]!, known);
    }
    return known;
  };

  let steps = 0;
  for (const [path, entry] of Object.entries(packages)) {
    const from = keyAt.get(path);
    if (from === undefined || !isRecord(entry)) continue;
    const chain = chainOf(path);
    for (const field of insideNodeModules(path) ? DEP_FIELDS : PROJECT_DEP_FIELDS) {
      const deps = entry[field];
      if (!isRecord(deps)) continue;
      for (const dep of Object.keys(deps)) {
        for (const dir of chain) {
          if (++steps > MAX_RESOLVE_STEPS) {
            warnings.warn('dependency graph too large to resolve; the remaining dependency edges are left out');
            return;
          }
          const to = byDir.get(dir)?.get(dep);
          if (to !== undefined) {
            out.dependsOn(from, to);
            break;
          }
        }
      }
    }
  }
}

/** `npm:real-name@1.2.3` (an aliased install) → the real name and version. */
function unalias(name: string, version: string): { name: string; version: string } {
  if (!version.startsWith('npm:')) return { name, version };
  const spec = version.slice(4);
  const at = spec.lastIndexOf('@');
  return at > 0 ? { name: spec.slice(0, at), version: spec.slice(at + 1) } : { name, version };
}

interface V1Scope {
  readonly names: Map<string, string>;
  readonly parent: V1Scope | undefined;
}

/** Lockfile v1: nested `dependencies`, each entry's `requires` resolved in its own scope, then upwards. */
function readV1Lock(doc: Json, out: LockPackages, warnings: { warn(m: string): void }): void {
  const rootName = str(doc['name']);
  const rootVersion = str(doc['version']);
  if (rootName !== undefined && rootVersion !== undefined) out.add(rootName, rootVersion, { root: true });

  const top: V1Scope = { names: new Map(), parent: undefined };
  const pending: { key: string; requires: Json; scope: V1Scope }[] = [];
  const work: { deps: Json; scope: V1Scope; depth: number }[] = [];
  if (isRecord(doc['dependencies'])) work.push({ deps: doc['dependencies'], scope: top, depth: 1 });
  let tooDeep = false;
  // Iterative on purpose: a hostile lockfile can nest far deeper than the call stack.
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    for (const [alias, entry] of Object.entries(item.deps)) {
      if (!isRecord(entry)) {
        warnings.warn(`lockfile dependency "${alias.slice(0, 200)}" is not an object`);
        continue;
      }
      const rawVersion = str(entry['version']);
      if (rawVersion === undefined) {
        warnings.warn(`lockfile dependency "${alias.slice(0, 200)}" has no version`);
        continue;
      }
      const { name, version } = unalias(alias, rawVersion);
      const key = out.add(name, version, { dev: entry['dev'] === true });
      item.scope.names.set(alias, key);
      const own: V1Scope = { names: new Map(), parent: item.scope };
      if (isRecord(entry['requires'])) pending.push({ key, requires: entry['requires'], scope: own });
      if (isRecord(entry['dependencies'])) {
        if (item.depth < MAX_V1_DEPTH) work.push({ deps: entry['dependencies'], scope: own, depth: item.depth + 1 });
        else tooDeep = true;
      }
    }
  }
  if (tooDeep) warnings.warn(`lockfile nests dependencies deeper than ${MAX_V1_DEPTH} levels; the deeper ones are not read`);

  let steps = 0;
  for (const { key, requires, scope } of pending) {
    for (const dep of Object.keys(requires)) {
      for (let s: V1Scope | undefined = scope; s !== undefined; s = s.parent) {
        if (++steps > MAX_RESOLVE_STEPS) {
          warnings.warn('dependency graph too large to resolve; the remaining dependency edges are left out');
          return;
        }
        const to = s.names.get(dep);
        if (to !== undefined) {
          out.dependsOn(key, to);
          break;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// yarn.lock

export const yarnLockCataloger: Cataloger = {
  id: 'yarn-lock',
  version: 2,
  wants: (path) => path.endsWith('yarn.lock') && basename(path) === 'yarn.lock' && !insideNodeModules(path),
  async parse(file, ctx) {
    const text = await textOf(file);
    const out = new LockPackages();
    const warnings = limitedWarnings(ctx);
    if (/^__metadata:/m.test(text)) readBerryLock(text, out, warnings);
    else readClassicLock(text, out, warnings);
    warnings.done();
    return out.findings();
  },
};

/** The package name of a yarn descriptor `name@range` (`@scope/name@range`, `alias@npm:real@range`). */
function descriptorName(descriptor: string): string | undefined {
  const at = descriptor.indexOf('@', 1);
  return at > 0 ? descriptor.slice(0, at) : undefined;
}

/** Splits a classic header line (without its colon) into descriptors: `"a@^1", a@^1.2` → [a@^1, a@^1.2]. */
function classicDescriptors(header: string): string[] {
  return header
    .split(/,\s*/)
    .map((d) => d.trim().replace(/^"(.*)"$/, '$1'))
    .filter((d) => d !== '');
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/**
 * yarn v1: blocks headed by a line at column 0 (`"a@^1", a@^1.2:`), fields indented by two spaces
 * (`version "1.2.3"`), dependency lists indented by four (`name "range"`).
 */
function readClassicLock(text: string, out: LockPackages, warnings: { warn(m: string): void }): void {
  const byDescriptor = new Map<string, string>();
  const blocks: { key: string; deps: string[] }[] = [];
  let descriptors: string[] = [];
  let version: string | undefined;
  let deps: string[] = [];
  let inDeps = false;
  let sawHeader = false;

  const flush = (): void => {
    if (descriptors.length === 0) return;
    const first = descriptors[0]!;
    const alias = descriptorName(first);
    if (alias === undefined || version === undefined) {
      warnings.warn(`yarn.lock entry "${first.slice(0, 200)}" has no ${alias === undefined ? 'name' : 'version'}`);
    } else {
      // `alias@npm:real@range`: the package installed is `real`.
      const range = first.slice(alias.length + 1);
      const name = range.startsWith('npm:') ? (descriptorName(range.slice(4)) ?? alias) : alias;
      const key = out.add(name, version);
      for (const d of descriptors) byDescriptor.set(d, key);
      blocks.push({ key, deps });
    }
    descriptors = [];
    version = undefined;
    deps = [];
  };

  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith(' ')) {
      flush();
      inDeps = false;
      if (line.endsWith(':')) {
        descriptors = classicDescriptors(line.slice(0, -1));
        sawHeader = true;
      }
      continue;
    }
    if (descriptors.length === 0) continue;
    if (line.startsWith('    ')) {
      if (!inDeps) continue;
      const m = /^\s+("[^"]*"|\S+)\s+(.*)$/.exec(line);
      if (m !== null) deps.push(`${unquote(m[1]!)}@${unquote(m[2]!.trim())}`);
      continue;
    }
    const field = line.trim();
    inDeps = field === 'dependencies:' || field === 'optionalDependencies:';
    if (field.startsWith('version ')) version = unquote(field.slice('version '.length).trim());
  }
  flush();
  if (!sawHeader) warnings.warn('no yarn.lock entries found');

  for (const b of blocks) {
    for (const d of b.deps) {
      const to = byDescriptor.get(d);
      if (to !== undefined) out.dependsOn(b.key, to);
    }
  }
}

/** Local sources (the project's workspaces, `link:`, `portal:`) are the project's own code. */
const BERRY_LOCAL = /@(workspace|link|portal):/;

/** yarn berry: YAML; keys are comma-separated descriptors, values carry `resolution` and `version`. */
function readBerryLock(text: string, out: LockPackages, warnings: { warn(m: string): void }): void {
  let doc: unknown;
  try {
    doc = parseYaml(text, { schema: 'failsafe', maxAliasCount: 100 });
  } catch (err) {
    warnings.warn(`yarn.lock is not valid YAML: ${(err as Error).message.slice(0, 200)}`);
    return;
  }
  if (!isRecord(doc)) {
    warnings.warn('yarn.lock is not a YAML mapping');
    return;
  }
  const byDescriptor = new Map<string, string>();
  const blocks: { key: string; deps: Json }[] = [];
  for (const [header, entry] of Object.entries(doc)) {
    if (header === '__metadata') continue;
    if (!isRecord(entry)) {
      warnings.warn(`yarn.lock entry "${header.slice(0, 200)}" is not a mapping`);
      continue;
    }
    const resolution = str(entry['resolution']) ?? header.split(',')[0]!.trim();
    if (BERRY_LOCAL.test(resolution) || entry['linkType'] === 'soft') continue;
    const name = descriptorName(resolution);
    const version = str(entry['version']);
    if (name === undefined || version === undefined) {
      warnings.warn(`yarn.lock entry "${header.slice(0, 200)}" has no ${name === undefined ? 'name' : 'version'}`);
      continue;
    }
    const key = out.add(name, version);
    for (const d of header.split(',')) byDescriptor.set(d.trim(), key);
    const deps = { ...(isRecord(entry['dependencies']) ? entry['dependencies'] : {}), ...(isRecord(entry['optionalDependencies']) ? entry['optionalDependencies'] : {}) };
    blocks.push({ key, deps });
  }
  for (const b of blocks) {
    for (const [name, range] of Object.entries(b.deps)) {
      if (typeof range !== 'string') continue;
      // Lockfiles before __metadata version 6 write ranges without the `npm:` protocol.
      const to = byDescriptor.get(`${name}@${range}`) ?? byDescriptor.get(`${name}@npm:${range}`);
      if (to !== undefined) out.dependsOn(b.key, to);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// pnpm-lock.yaml

export const pnpmLockCataloger: Cataloger = {
  id: 'pnpm-lock',
  version: 2,
  wants: (path) => path.endsWith('pnpm-lock.yaml') && basename(path) === 'pnpm-lock.yaml' && !insideNodeModules(path),
  async parse(file, ctx) {
    let doc: unknown;
    try {
      // failsafe: every scalar stays a string, so a version like 1.10 is not read as the number 1.1.
      doc = parseYaml(await textOf(file), { schema: 'failsafe', maxAliasCount: 100 });
    } catch (err) {
      ctx.warn(`pnpm-lock.yaml is not valid YAML: ${(err as Error).message.slice(0, 200)}`);
      return [];
    }
    if (!isRecord(doc)) {
      ctx.warn('pnpm-lock.yaml is not a YAML mapping');
      return [];
    }
    const warnings = limitedWarnings(ctx);
    const out = readPnpmLock(doc, warnings);
    warnings.done();
    return out.findings();
  },
};

/** Removes pnpm's peer-dependency suffix: `1.2.0(react@18.2.0)` (v6+) or `1.2.0_react@18.2.0` (v5). */
function stripPeers(version: string): string {
  const paren = version.indexOf('(');
  const v = paren >= 0 ? version.slice(0, paren) : version;
  const underscore = v.indexOf('_');
  return underscore >= 0 ? v.slice(0, underscore) : v;
}

/** Name and version from a package key: `/name/1.0.0` (v5), `/name@1.0.0` (v6), `name@1.0.0` (v9). */
function parsePnpmKey(key: string, slashStyle: boolean): { name: string; version: string } | undefined {
  const k = key.startsWith('/') ? key.slice(1) : key;
  let split: number;
  if (slashStyle) {
    const first = k.indexOf('/');
    split = k.startsWith('@') ? k.indexOf('/', first + 1) : first;
  } else {
    split = k.indexOf('@', 1);
  }
  if (split <= 0 || split === k.length - 1) return undefined;
  const version = stripPeers(k.slice(split + 1));
  return version === '' ? undefined : { name: k.slice(0, split), version };
}

const PNPM_DEP_FIELDS = ['dependencies', 'optionalDependencies'] as const;

function readPnpmLock(doc: Json, warnings: { warn(m: string): void }): LockPackages {
  const out = new LockPackages();
  const lockVersion = Number.parseFloat(String(doc['lockfileVersion'] ?? ''));
  const slashStyle = lockVersion < 6;
  const packages = isRecord(doc['packages']) ? doc['packages'] : {};
  // v9 keeps the resolved graph (keys with peer suffixes) in `snapshots`; before, `packages` holds both.
  const v9 = lockVersion >= 9;
  const snapshots = v9 && isRecord(doc['snapshots']) ? doc['snapshots'] : packages;
  const prefix = v9 ? '' : '/';
  const sep = slashStyle ? '/' : '@';

  const keyOf = new Map<string, string>();
  for (const [snapKey, record] of Object.entries(snapshots)) {
    const snapshot = isRecord(record) ? record : undefined;
    const paren = snapKey.indexOf('(');
    const meta = snapshots === packages ? snapshot : packages[paren >= 0 ? snapKey.slice(0, paren) : snapKey];
    // Packages not from the registry (git, tarball, file:) state their name and version.
    const name = isRecord(meta) ? str(meta['name']) : undefined;
    const version = isRecord(meta) ? str(meta['version']) : undefined;
    const id = name !== undefined && version !== undefined ? { name, version } : parsePnpmKey(snapKey, slashStyle);
    if (id === undefined) {
      warnings.warn(`pnpm-lock.yaml package "${snapKey.slice(0, 200)}" has no name or version`);
      continue;
    }
    // Before v9 each package says `dev: true` (dev only), `dev: false` (prod only) or nothing (both).
    keyOf.set(snapKey, out.add(id.name, id.version, v9 ? {} : { dev: snapshot?.['dev'] === 'true' }));
  }

  /** The snapshot a dependency reference points at: `2.1.2`, `1.2.0(react@18.2.0)`, or an alias's own key. */
  const resolve = (name: string, ref: unknown): string | undefined => {
    const r = isRecord(ref) ? ref['version'] : ref;
    if (typeof r !== 'string' || r.startsWith('link:')) return undefined;
    return keyOf.get(`${prefix}${name}${sep}${r}`) ?? keyOf.get(r);
  };

  const edges = new Map<string, string[]>();
  for (const [snapKey, record] of Object.entries(snapshots)) {
    const from = keyOf.get(snapKey);
    if (from === undefined || !isRecord(record)) continue;
    for (const field of PNPM_DEP_FIELDS) {
      const deps = record[field];
      if (!isRecord(deps)) continue;
      for (const [name, ref] of Object.entries(deps)) {
        const to = resolve(name, ref);
        if (to === undefined) continue;
        out.dependsOn(from, to);
        let list = edges.get(from);
        if (list === undefined) edges.set(from, (list = []));
        list.push(to);
      }
    }
  }

  // v9 dropped the `dev` flag: a package is dev when only importers' devDependencies reach it.
  if (v9) {
    const importers = isRecord(doc['importers']) ? Object.values(doc['importers']) : [];
    const prodRoots: string[] = [];
    const devRoots: string[] = [];
    for (const importer of importers) {
      if (!isRecord(importer)) continue;
      for (const [field, roots] of [['dependencies', prodRoots], ['optionalDependencies', prodRoots], ['devDependencies', devRoots]] as const) {
        const deps = importer[field];
        if (!isRecord(deps)) continue;
        for (const [name, ref] of Object.entries(deps)) {
          const key = resolve(name, ref);
          if (key !== undefined) roots.push(key);
        }
      }
    }
    const prod = reachable(prodRoots, edges);
    for (const key of reachable(devRoots, edges)) if (!prod.has(key)) out.markDev(key);
  }
  return out;
}

