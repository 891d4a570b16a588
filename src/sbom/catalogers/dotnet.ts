/**
 * .NET (NuGet) packages, four catalogers:
 * - `dotnetDepsCataloger`: `<app>.deps.json`, the dependency manifest `dotnet build/publish` writes
 *   next to an application. `libraries` says what each `Name/Version` is: `package` entries are
 *   NuGet packages; `runtimepack` entries (self-contained apps) are the runtime's own NuGet
 *   packages, reported without the `runtimepack.` prefix; the `project` whose name is the file's
 *   (`MyApp.deps.json` → `MyApp`) is the root; other projects of the solution and reference
 *   assemblies are the app's own code and are skipped, a dependency on one standing for the
 *   packages it depends on. `targets` (one per framework or runtime identifier) give each
 *   library's dependencies; their union is used.
 * - `nugetLockCataloger`: `packages.lock.json` (`RestorePackagesWithLockFile`): per target framework
 *   (and runtime), `Direct`, `Transitive` and `CentralTransitive` packages with their `resolved`
 *   version and dependencies by name; `Project` entries are the solution's own projects.
 * - `packagesConfigCataloger`: `packages.config` of packages.config-style projects,
 *   `<package id version developmentDependency>`.
 * - `nugetCentralCataloger`: Central Package Management's `Directory.Packages.props` (and the
 *   older `Packages.props`): `<PackageVersion>` and `<GlobalPackageReference>` items with an exact
 *   version (`1.2.3`, which restores that version when it exists, or `[1.2.3]`); ranges and
 *   unresolvable `$(Property)` versions say no single version and are skipped.
 */
import type { CatalogContext, Cataloger, CatalogFile } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, limitedWarnings } from './common.js';
import { xmlTokens } from './xml.js';

/** `Newtonsoft.Json/13.0.3` → name and version. */
function splitId(id: string): { name: string; version: string } | undefined {
  const slash = id.lastIndexOf('/');
  return slash > 0 && slash < id.length - 1 ? { name: id.slice(0, slash), version: id.slice(slash + 1) } : undefined;
}

const RUNTIME_PACK = 'runtimepack.';

export const dotnetDepsCataloger: Cataloger = {
  id: 'dotnet-deps',
  version: 1,
  wants: (path) => path.endsWith('.deps.json'),
  async parse(file: CatalogFile, ctx: CatalogContext): Promise<readonly Finding[]> {
    let doc: unknown;
    try {
      doc = JSON.parse(await textOf(file)) as unknown;
    } catch (err) {
      ctx.warn(`not valid JSON: ${(err as Error).message.slice(0, 200)}`);
      return [];
    }
    if (!isRecord(doc) || !isRecord(doc['libraries'])) {
      ctx.warn('deps.json has no "libraries" object');
      return [];
    }
    const fileName = file.path.slice(file.path.lastIndexOf('/') + 1);
    const appName = fileName.slice(0, -'.deps.json'.length).toLowerCase();

    // NuGet ids are case-insensitive: index by lower-cased `name/version`.
    const libraries = new Set<string>();
    const selected = new Map<string, { name: string; version: string; root: boolean; key: string }>();
    for (const [id, lib] of Object.entries(doc['libraries'])) {
      const parsed = splitId(id);
      const type = isRecord(lib) ? lib['type'] : undefined;
      if (parsed === undefined || typeof type !== 'string') {
        ctx.warn(`library "${id.slice(0, 200)}" has no Name/Version id or no type`);
        continue;
      }
      libraries.add(id.toLowerCase());
      let { name } = parsed;
      const root = type === 'project' && name.toLowerCase() === appName;
      if (type === 'runtimepack' && name.startsWith(RUNTIME_PACK)) name = name.slice(RUNTIME_PACK.length);
      else if (type !== 'package' && !root) continue;
      selected.set(id.toLowerCase(), { name, version: parsed.version, root, key: packageKey({ type: 'nuget', name, version: parsed.version }) });
    }

    const edges = new Map<string, Set<string>>();
    const targets = isRecord(doc['targets']) ? Object.values(doc['targets']) : [];
    for (const target of targets) {
      if (!isRecord(target)) continue;
      for (const [id, entry] of Object.entries(target)) {
        if (!isRecord(entry) || !isRecord(entry['dependencies'])) continue;
        let set = edges.get(id.toLowerCase());
        if (set === undefined) edges.set(id.toLowerCase(), (set = new Set()));
        for (const [depName, depVersion] of Object.entries(entry['dependencies'])) {
          if (typeof depVersion === 'string') set.add(`${depName}/${depVersion}`.toLowerCase());
        }
      }
    }

    /** Packages `id` depends on; through a skipped project reference, the packages that one depends on. */
    const dependsOn = (id: string, self: string): string[] => {
      const out = new Set<string>();
      const visited = new Set([id]);
      const stack = [...(edges.get(id) ?? [])];
      for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
        if (visited.has(d)) continue;
        visited.add(d);
        const target = selected.get(d);
        if (target !== undefined) {
          if (target.key !== self) out.add(target.key);
        } else if (libraries.has(d)) {
          stack.push(...(edges.get(d) ?? []));
        }
      }
      return [...out];
    };

    const seen = new Set<string>();
    const findings: Finding[] = [];
    for (const [id, p] of selected) {
      if (seen.has(p.key)) continue;
      seen.add(p.key);
      const deps = dependsOn(id, p.key);
      const pkg: RawPackage = {
        type: 'nuget',
        name: p.name,
        version: p.version,
        ...(deps.length > 0 ? { dependsOn: deps } : {}),
        ...(p.root ? { root: true } : {}),
      };
      findings.push({ kind: 'package', package: pkg });
    }
    return findings;
  },
};

// ---- packages.lock.json ----

const LOCK_TYPES = new Set(['Direct', 'Transitive', 'CentralTransitive']);

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function nugetKey(name: string, version: string): string {
  return packageKey({ type: 'nuget', name, version });
}

export const nugetLockCataloger: Cataloger = {
  id: 'nuget-lock',
  version: 1,
  wants: (path) => basename(path) === 'packages.lock.json',
  async parse(file, ctx) {
    const doc = JSON.parse(await textOf(file)) as unknown;
    if (!isRecord(doc) || !isRecord(doc['dependencies'])) throw new Error('packages.lock.json has no "dependencies" object');
    const warnings = limitedWarnings(ctx);
    const found = new Map<string, { name: string; version: string; direct: boolean; deps: Set<string> }>();
    for (const [target, packages] of Object.entries(doc['dependencies'])) {
      if (!isRecord(packages)) {
        warnings.warn(`packages.lock.json target "${target.slice(0, 200)}" is not an object`);
        continue;
      }
      // NuGet ids are case-insensitive; a dependency names a package of the same target.
      const resolvedIn = new Map<string, string>();
      for (const [name, entry] of Object.entries(packages)) {
        if (isRecord(entry) && typeof entry['resolved'] === 'string') resolvedIn.set(name.toLowerCase(), nugetKey(name, entry['resolved']));
      }
      for (const [name, entry] of Object.entries(packages)) {
        const type = isRecord(entry) ? entry['type'] : undefined;
        if (type === 'Project') continue;
        const version = isRecord(entry) ? entry['resolved'] : undefined;
        if (!isRecord(entry) || typeof type !== 'string' || !LOCK_TYPES.has(type) || typeof version !== 'string' || version === '') {
          warnings.warn(`packages.lock.json package "${name.slice(0, 200)}" has no known type and resolved version`);
          continue;
        }
        const key = nugetKey(name, version);
        let p = found.get(key);
        if (p === undefined) found.set(key, (p = { name, version, direct: false, deps: new Set() }));
        if (type === 'Direct') p.direct = true;
        for (const dep of isRecord(entry['dependencies']) ? Object.keys(entry['dependencies']) : []) {
          const d = resolvedIn.get(dep.toLowerCase());
          if (d !== undefined && d !== key) p.deps.add(d);
        }
      }
    }
    warnings.done();
    return [...found.values()].map(({ name, version, direct, deps }): Finding => ({
      kind: 'package',
      package: { type: 'nuget', name, version, ...(direct ? { properties: { direct: 'true' } } : {}), ...(deps.size > 0 ? { dependsOn: [...deps] } : {}) },
    }));
  },
};

// ---- packages.config ----

export const packagesConfigCataloger: Cataloger = {
  id: 'nuget-packages-config',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => basename(path) === 'packages.config',
  async parse(file, ctx) {
    const warnings = limitedWarnings(ctx);
    const found = new Map<string, RawPackage>();
    let root = false;
    for (const t of xmlTokens(await textOf(file))) {
      if (t.kind !== 'open') continue;
      if (t.name === 'packages') root = true;
      if (t.name !== 'package') continue;
      const id = t.attrs.get('id')?.trim() ?? '';
      const version = t.attrs.get('version')?.trim() ?? '';
      if (id === '' || version === '') {
        warnings.warn(`packages.config <package> without ${id === '' ? 'an id' : `a version (${id.slice(0, 200)})`}`);
        continue;
      }
      const framework = t.attrs.get('targetFramework');
      const dev = t.attrs.get('developmentDependency')?.toLowerCase() === 'true';
      const properties = { ...(framework !== undefined && framework !== '' ? { framework } : {}), ...(dev ? { dev: 'true' } : {}) };
      found.set(nugetKey(id, version).toLowerCase(), { type: 'nuget', name: id, version, ...(Object.keys(properties).length > 0 ? { properties } : {}) });
    }
    if (!root) throw new Error('packages.config has no <packages> element');
    warnings.done();
    return [...found.values()].map((p): Finding => ({ kind: 'package', package: p }));
  },
};

// ---- Directory.Packages.props ----

const CENTRAL_FILES = new Set(['directory.packages.props', 'packages.props']);
const CENTRAL_ITEMS = new Set(['PackageVersion', 'GlobalPackageReference']);

/** A version NuGet resolves to exactly one: `1.2.3` (the lowest it accepts, restored when it exists) or `[1.2.3]`. */
function exactVersion(v: string): string | undefined {
  const m = /^\s*(?:\[\s*([^,\s\]]+)\s*\]|([0-9][^,\s()[\]]*))\s*$/.exec(v);
  return m === null ? undefined : (m[1] ?? m[2]);
}

export const nugetCentralCataloger: Cataloger = {
  id: 'nuget-central',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => CENTRAL_FILES.has(basename(path).toLowerCase()),
  async parse(file, ctx) {
    const warnings = limitedWarnings(ctx);
    // Properties defined in the file (`<NewtonsoftVersion>13.0.3</NewtonsoftVersion>` in a PropertyGroup), for `$(…)` versions.
    const properties = new Map<string, string>();
    const items: { name: string; version: string; global: boolean }[] = [];
    const stack: string[] = [];
    let item: { name: string; version: string | undefined; global: boolean } | undefined;
    const finishItem = (): void => {
      if (item !== undefined) items.push({ ...item, version: item.version ?? '' });
      item = undefined;
    };
    let project = false;
    for (const t of xmlTokens(await textOf(file))) {
      if (t.kind === 'open') {
        if (t.name === 'Project') project = true;
        if (CENTRAL_ITEMS.has(t.name)) {
          const name = (t.attrs.get('Include') ?? t.attrs.get('Update') ?? '').trim();
          item = { name, version: t.attrs.get('Version'), global: t.name === 'GlobalPackageReference' };
          if (t.selfClosing) finishItem();
        }
        if (!t.selfClosing) stack.push(t.name);
      } else if (t.kind === 'close') {
        if (CENTRAL_ITEMS.has(t.name)) finishItem();
        stack.pop();
      } else if (item !== undefined && stack[stack.length - 1] === 'Version') {
        item.version = t.text.trim();
      } else if (stack[stack.length - 2] === 'PropertyGroup') {
        properties.set(stack[stack.length - 1]!.toLowerCase(), t.text.trim());
      }
    }
    if (!project) throw new Error(`${basename(file.path)} has no <Project> element`);
    const found = new Map<string, RawPackage>();
    for (const it of items) {
      const expanded = it.version.replace(/\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, p: string) => properties.get(p.toLowerCase()) ?? all);
      const version = expanded.includes('$(') ? undefined : exactVersion(expanded);
      if (it.name === '') {
        warnings.warn(`${basename(file.path)}: a package version item without Include`);
        continue;
      }
      if (version === undefined) continue;
      found.set(nugetKey(it.name, version).toLowerCase(), { type: 'nuget', name: it.name, version, ...(it.global ? { properties: { global: 'true' } } : {}) });
    }
    warnings.done();
    return [...found.values()].map((p): Finding => ({ kind: 'package', package: p }));
  },
};
