/**
 * .NET packages from `<app>.deps.json`, the dependency manifest `dotnet build/publish` writes next to
 * an application. `libraries` says what each `Name/Version` is: `package` entries are NuGet packages;
 * `runtimepack` entries (self-contained apps) are the runtime's own NuGet packages, reported without
 * the `runtimepack.` prefix; the `project` whose name is the file's (`MyApp.deps.json` → `MyApp`) is
 * the root; other projects of the solution and reference assemblies are the app's own code and are
 * skipped, a dependency on one standing for the packages it depends on. `targets` (one per framework
 * or runtime identifier) give each library's dependencies; their union is used.
 */
import type { CatalogContext, Cataloger, CatalogFile } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
