/**
 * Julia packages from Pkg's `Manifest.toml` (and the versioned `Manifest-v1.11.toml` of Julia
 * ≥ 1.10.8), both formats:
 * - format 2.0 (Julia ≥ 1.7): `julia_version`, `manifest_format = "2.0"`, and `[[deps.Name]]`
 *   entries with `uuid`, `version`, `git-tree-sha1` and `deps`;
 * - format 1 (older Julia): the same entries as top-level `[[Name]]` arrays.
 * `deps` is a list of names, or a table of name → uuid where a name is ambiguous. Every package
 * has a uuid, the purl's `uuid` qualifier. Standard libraries (no tree hash, no path, no
 * repository) ship with Julia: they carry the property `stdlib` and, where the entry states none,
 * the manifest's Julia version; in a format 1 manifest without it they are skipped. Packages in
 * development (`path`) and from a repository (`repo-url`) keep that as a property. Julia has no
 * OSV ecosystem: these are catalogued only.
 */
import { parse as parseToml } from 'smol-toml';
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, limitedWarnings, type Json } from './common.js';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

interface Entry {
  readonly name: string;
  readonly uuid: string;
  readonly version: string;
  readonly stdlib: boolean;
  readonly entry: Json;
}

export const juliaManifestCataloger: Cataloger = {
  id: 'julia-manifest',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => path.endsWith('.toml') && /(^|\/)(Julia)?Manifest(-v\d+\.\d+)?\.toml$/.test(path),
  async parse(file, ctx) {
    const doc = parseToml(await textOf(file), { maxDepth: 16 }) as Json;
    const v2 = isRecord(doc['deps']) && str(doc['manifest_format']) !== undefined;
    const tables = v2 ? (doc['deps'] as Json) : Object.fromEntries(Object.entries(doc).filter(([, v]) => Array.isArray(v)));
    if (!v2 && Object.keys(tables).length === 0 && str(doc['manifest_format']) === undefined) throw new Error('Manifest.toml has no package entries');
    const julia = str(doc['julia_version']);
    const warnings = limitedWarnings(ctx);
    const entries: Entry[] = [];
    for (const [name, list] of Object.entries(tables)) {
      for (const entry of Array.isArray(list) ? list : [list]) {
        const uuid = isRecord(entry) ? str(entry['uuid']) : undefined;
        if (!isRecord(entry) || uuid === undefined) {
          warnings.warn(`Manifest.toml entry "${name.slice(0, 200)}" has no uuid`);
          continue;
        }
        const stdlib = entry['git-tree-sha1'] === undefined && entry['path'] === undefined && entry['repo-url'] === undefined;
        const version = str(entry['version']) ?? (stdlib ? julia : undefined);
        if (version === undefined) {
          if (!stdlib) warnings.warn(`Manifest.toml package "${name.slice(0, 200)}" has no version`);
          continue;
        }
        entries.push({ name, uuid, version, stdlib, entry });
      }
    }
    const byName = new Map<string, Entry[]>();
    const byUuid = new Map(entries.map((e) => [e.uuid, e]));
    for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
    const keyOf = (e: Entry): string => packageKey({ type: 'julia', name: e.name, version: e.version });
    warnings.done();
    return entries.map(({ name, uuid, version, stdlib, entry }): Finding => {
      const deps = entry['deps'];
      const targets = Array.isArray(deps)
        ? deps.flatMap((d) => (typeof d === 'string' && byName.get(d)?.length === 1 ? byName.get(d)! : []))
        : isRecord(deps)
          ? Object.values(deps).flatMap((u) => (typeof u === 'string' && byUuid.has(u) ? [byUuid.get(u)!] : []))
          : [];
      const properties = {
        ...(stdlib ? { stdlib: 'true' } : {}),
        ...(str(entry['path']) !== undefined ? { path: entry['path'] as string } : {}),
        ...(str(entry['repo-url']) !== undefined ? { repository: entry['repo-url'] as string } : {}),
      };
      const dependsOn = [...new Set(targets.map(keyOf))];
      const pkg: RawPackage = {
        type: 'julia',
        name,
        version,
        qualifiers: { uuid },
        ...(Object.keys(properties).length > 0 ? { properties } : {}),
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
      };
      return { kind: 'package', package: pkg };
    });
  },
};
