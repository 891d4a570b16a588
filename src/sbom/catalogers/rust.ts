/**
 * Rust crates, two catalogers:
 * - `cargoLockCataloger`: Cargo.lock, every format (v1 with `name version (source)` dependency
 *   strings, an old `[root]` table and `[metadata]` checksums; v2–v4 with `name` or `name version`
 *   only where the name is ambiguous). Packages without `source` are the workspace's own crates
 *   (members and path dependencies) and are marked root; dependencies are resolved to packages.
 * - `rustAuditableCataloger`: executables built with cargo-auditable, which embeds the dependency
 *   tree as zlib-compressed JSON in a `.dep-v0` section (ELF, PE; `__DATA,.dep-v0` in Mach-O):
 *   `{"packages":[{"name","version","source","kind","dependencies":[indices],"root"}]}`. The
 *   decompressed size is capped at 8 MiB, as the format's documentation advises.
 */
import { inflateSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isExecutableMagic, MAX_EXECUTABLE_BYTES, openExecutable, wantsExecutable } from './go-exe.js';

const MAX_AUDIT_JSON = 8 * 1024 * 1024;
/** Compressed audit data is a few KiB; a section larger than the JSON cap can only be hostile. */
const MAX_AUDIT_SECTION = MAX_AUDIT_JSON;

const MAX_SOURCES = 16;

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function cargoKey(name: string, version: string): string {
  return packageKey({ type: 'cargo', name, version });
}

// ---- Cargo.lock ----

interface LockPackage {
  readonly name: string;
  readonly version: string;
  readonly source: string | undefined;
  readonly checksum: string | undefined;
  readonly dependencies: readonly string[];
}

export const cargoLockCataloger: Cataloger = {
  id: 'cargo-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => path === 'Cargo.lock' || path.endsWith('/Cargo.lock'),
  async parse(file, ctx) {
    // Lockfile tables nest three levels; the bound only stops hostile inline nesting early.
    const doc = parseToml(await textOf(file), { maxDepth: 16 });
    const checksums = v1Checksums(doc['metadata']);
    const entries: LockPackage[] = [];
    let malformed = 0;
    const tables = [...(isTable(doc['root']) ? [doc['root']] : []), ...(Array.isArray(doc['package']) ? doc['package'] : [])];
    for (const t of tables) {
      const name = isTable(t) ? str(t['name']) : undefined;
      const version = isTable(t) ? str(t['version']) : undefined;
      if (!isTable(t) || name === undefined || version === undefined) {
        malformed++;
        continue;
      }
      const source = str(t['source']);
      const deps = Array.isArray(t['dependencies']) ? t['dependencies'].filter((d): d is string => typeof d === 'string') : [];
      entries.push({ name, version, source, checksum: str(t['checksum']) ?? checksums.get(`${name} ${version} (${source ?? ''})`), dependencies: deps });
    }
    if (malformed > 0) ctx.warn(`${malformed} [[package]] entries without a name and version`);

    const byName = new Map<string, LockPackage>();
    const byVersion = new Map<string, LockPackage[]>();
    for (const e of entries) {
      if (!byName.has(e.name)) byName.set(e.name, e);
      const same = byVersion.get(`${e.name} ${e.version}`) ?? [];
      // Real lockfiles hold a name and version at most once per source: a long list is hostile.
      if (same.length < MAX_SOURCES) same.push(e);
      byVersion.set(`${e.name} ${e.version}`, same);
    }
    // "name", "name version" or "name version (source)": as specific as the lockfile needed to be.
    const resolve = (spec: string): LockPackage | undefined => {
      const [name = '', version, source] = spec.split(' ');
      if (version === undefined) return byName.get(name);
      return byVersion.get(`${name} ${version}`)?.find((c) => source === undefined || `(${c.source ?? ''})` === source);
    };

    const out = new Map<string, RawPackage>();
    for (const e of entries) {
      const key = cargoKey(e.name, e.version);
      if (out.has(key)) continue;
      const dependsOn = [...new Set(e.dependencies.map(resolve).flatMap((d) => (d !== undefined ? [cargoKey(d.name, d.version)] : [])))];
      const properties = { ...(e.source !== undefined ? { source: e.source } : {}), ...(e.checksum !== undefined ? { checksum: e.checksum } : {}) };
      out.set(key, {
        type: 'cargo',
        name: e.name,
        version: e.version,
        ...(e.source === undefined ? { root: true } : {}),
        ...(Object.keys(properties).length > 0 ? { properties } : {}),
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
      });
    }
    return [...out.values()].map((p): Finding => ({ kind: 'package', package: p }));
  },
};

/** v1 lockfiles keep checksums apart: `"checksum name version (source)" = "hex"`. */
function v1Checksums(metadata: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!isTable(metadata)) return out;
  for (const [k, v] of Object.entries(metadata)) {
    if (k.startsWith('checksum ') && typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) out.set(k.slice('checksum '.length), v);
  }
  return out;
}

// ---- cargo-auditable ----

export const rustAuditableCataloger: Cataloger = {
  id: 'rust-auditable',
  version: 1,
  maxBytes: MAX_EXECUTABLE_BYTES,
  wants: wantsExecutable,
  sniff: isExecutableMagic,
  async parse(file, ctx) {
    const exe = await openExecutable(file);
    const section = exe?.sections.find((s) => s.name === '.dep-v0' && (exe.format !== 'macho' || s.segment === '__DATA'));
    if (section === undefined) return [];
    if (section.size > MAX_AUDIT_SECTION) throw new Error(`.dep-v0 section of ${section.size} bytes is over the limit`);
    const compressed = await file.read(section.offset, section.size);
    if (compressed.length < section.size) throw new Error('.dep-v0 section is cut short');
    let json: Buffer;
    try {
      json = inflateSync(compressed, { maxOutputLength: MAX_AUDIT_JSON });
    } catch (err) {
      if (err instanceof RangeError) throw new Error(`cargo-auditable data inflates past ${MAX_AUDIT_JSON} bytes`);
      throw new Error(`cargo-auditable data is not zlib data: ${err instanceof Error ? err.message : String(err)}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(json.toString('utf8'));
    } catch {
      throw new Error('cargo-auditable data is not JSON');
    }
    if (!isTable(data) || !Array.isArray(data['packages'])) throw new Error('cargo-auditable data has no packages list');
    return auditablePackages(data['packages'], ctx.warn).map((p): Finding => ({ kind: 'package', package: p }));
  },
};

function auditablePackages(list: readonly unknown[], warn: (message: string) => void): RawPackage[] {
  // Keys by index first: dependencies are indices into the whole list.
  const keys = list.map((p) => (isTable(p) && str(p['name']) !== undefined && str(p['version']) !== undefined ? cargoKey(p['name'] as string, p['version'] as string) : undefined));
  const malformed = keys.filter((k) => k === undefined).length;
  if (malformed > 0) warn(`${malformed} cargo-auditable packages without a name and version`);
  const out = new Map<string, RawPackage>();
  list.forEach((p, i) => {
    const key = keys[i];
    if (key === undefined || out.has(key) || !isTable(p)) return;
    const deps = Array.isArray(p['dependencies']) ? p['dependencies'] : [];
    const dependsOn = [...new Set(deps.flatMap((d) => (Number.isInteger(d) && d !== i && keys[d as number] !== undefined ? [keys[d as number]!] : [])))];
    const source = auditableSource(p['source']);
    const properties = { ...(source !== undefined ? { source } : {}), ...(p['kind'] === 'build' ? { kind: 'build' } : {}) };
    out.set(key, {
      type: 'cargo',
      name: p['name'] as string,
      version: p['version'] as string,
      ...(p['root'] === true ? { root: true } : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
      ...(dependsOn.length > 0 ? { dependsOn } : {}),
    });
  });
  return [...out.values()];
}

/** "crates.io", "git", "local", "registry", or another source as `{"Other": "..."}` or a plain string. */
function auditableSource(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  return isTable(v) ? str(v['Other']) : undefined;
}
