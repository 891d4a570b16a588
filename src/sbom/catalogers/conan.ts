/**
 * C and C++ packages from Conan's `conan.lock`, both formats:
 * - Conan 1 (lockfile versions 0.2–0.4): `graph_lock.nodes`, a map of node ids to
 *   `{ref | pref, requires: [ids], build_requires: [ids], context}`; node "0" is the consumer
 *   (a conanfile `path`, no `ref`). Dependencies follow the node ids.
 * - Conan 2 (lockfile version 0.5): flat lists of references, `requires`, `build_requires`,
 *   `python_requires` and `config_requires`, without a graph.
 *
 * A reference is `name/version[@user[/channel]][#recipe_revision[%timestamp]][:package_id[#prev]]`.
 * Packages with a user and channel come from a private remote or a local cache, not ConanCenter:
 * the purl puts the user in the namespace and the channel in a qualifier (as the purl type says),
 * and the lookup name `user/name` then meets no ConanCenter advisory. The recipe revision is kept
 * as the property `revision`; build requirements (tools such as cmake) carry `kind: build`, python
 * and config requirements `kind: python` and `kind: config`.
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, limitedWarnings } from './common.js';

interface ConanRef {
  readonly name: string;
  readonly version: string;
  readonly user?: string;
  readonly channel?: string;
  readonly revision?: string;
}

/** Conan's own limits: names of 2–101 characters from this set; versions likewise, plus `+`. */
const REF = /^([a-z0-9_][a-z0-9_+.-]{1,100})\/([a-zA-Z0-9_][a-zA-Z0-9_+.-]{0,100})(?:@([a-zA-Z0-9_][a-zA-Z0-9_+.-]{0,100})(?:\/([a-zA-Z0-9_][a-zA-Z0-9_+.-]{0,100}))?)?(?:#([0-9a-f]+)(?:%[0-9.]+)?)?(?::[0-9a-f]+(?:#[0-9a-f]+)?)?$/i;

/** Parses a Conan reference; undefined for anything else (a conanfile path, garbage). */
export function parseConanRef(text: string): ConanRef | undefined {
  const m = REF.exec(text.trim());
  if (m === null) return undefined;
  const [, name, version, user, channel, revision] = m;
  // Conan 1 writes `_` for an absent user or channel.
  const real = (s: string | undefined): string | undefined => (s === undefined || s === '_' ? undefined : s);
  return { name: name!, version: version!, ...optional('user', real(user)), ...optional('channel', real(channel)), ...optional('revision', revision) };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function conanPackage(ref: ConanRef, kind: string | undefined, dependsOn: readonly string[] = []): RawPackage {
  const properties = { ...optional('revision', ref.revision), ...optional('kind', kind) };
  return {
    type: 'conan',
    ...optional('namespace', ref.user),
    name: ref.name,
    version: ref.version,
    // The purl type requires a channel qualifier with a namespace; `_` is Conan's own "none".
    ...(ref.user !== undefined ? { qualifiers: { channel: ref.channel ?? '_' } } : {}),
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
    ...(dependsOn.length > 0 ? { dependsOn } : {}),
  };
}

function conanKey(ref: ConanRef): string {
  return packageKey({ type: 'conan', ...optional('namespace', ref.user), name: ref.name, version: ref.version });
}

const V2_LISTS = [
  ['requires', undefined],
  ['build_requires', 'build'],
  ['python_requires', 'python'],
  ['config_requires', 'config'],
] as const;

export const conanLockCataloger: Cataloger = {
  id: 'conan-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => path === 'conan.lock' || path.endsWith('/conan.lock'),
  async parse(file, ctx) {
    const doc = JSON.parse(await textOf(file)) as unknown;
    if (!isRecord(doc)) throw new Error('conan.lock is not a JSON object');
    const warnings = limitedWarnings(ctx);
    const graph = isRecord(doc['graph_lock']) ? doc['graph_lock'] : undefined;
    let findings: Finding[];
    if (graph !== undefined && isRecord(graph['nodes'])) findings = readGraphLock(graph['nodes'], warnings);
    else if (V2_LISTS.some(([field]) => Array.isArray(doc[field]))) findings = readRequiresLock(doc, warnings);
    else throw new Error('conan.lock has neither graph_lock.nodes (Conan 1) nor requires lists (Conan 2)');
    warnings.done();
    return findings;
  },
};

function ids(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Conan 1: the node graph. A node only build requirements reach (or in the build context) is a build tool. */
function readGraphLock(nodes: Record<string, unknown>, warnings: { warn(m: string): void }): Finding[] {
  const refs = new Map<string, ConanRef>();
  const required = new Set<string>();
  const buildRequired = new Set<string>();
  for (const [id, node] of Object.entries(nodes)) {
    if (!isRecord(node)) {
      warnings.warn(`conan.lock node ${id.slice(0, 50)} is not an object`);
      continue;
    }
    for (const r of ids(node['requires'])) required.add(r);
    for (const r of ids(node['build_requires'])) buildRequired.add(r);
    const text = typeof node['ref'] === 'string' ? node['ref'] : typeof node['pref'] === 'string' ? node['pref'] : undefined;
    // The consumer (node "0") is a conanfile path, not a reference.
    if (text === undefined) continue;
    const ref = parseConanRef(text);
    if (ref === undefined) warnings.warn(`conan.lock node ${id.slice(0, 50)}: "${text.slice(0, 200)}" is not a Conan reference`);
    else refs.set(id, ref);
  }
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const [id, ref] of refs) {
    const key = conanKey(ref);
    if (seen.has(key)) continue;
    seen.add(key);
    const node = nodes[id] as Record<string, unknown>;
    const deps = [...ids(node['requires']), ...ids(node['build_requires'])].flatMap((d) => {
      const target = refs.get(d);
      return target !== undefined && conanKey(target) !== key ? [conanKey(target)] : [];
    });
    const build = node['context'] === 'build' || (buildRequired.has(id) && !required.has(id));
    findings.push({ kind: 'package', package: conanPackage(ref, build ? 'build' : undefined, [...new Set(deps)]) });
  }
  return findings;
}

/** Conan 2: lists of references, the host requirements first. */
function readRequiresLock(doc: Record<string, unknown>, warnings: { warn(m: string): void }): Finding[] {
  const found = new Map<string, RawPackage>();
  for (const [field, kind] of V2_LISTS) {
    const list = doc[field];
    if (list !== undefined && !Array.isArray(list)) warnings.warn(`conan.lock "${field}" is not a list`);
    for (const item of Array.isArray(list) ? list : []) {
      const ref = typeof item === 'string' ? parseConanRef(item) : undefined;
      if (ref === undefined) {
        warnings.warn(`conan.lock ${field}: ${JSON.stringify(item)?.slice(0, 200) ?? String(item)} is not a Conan reference`);
        continue;
      }
      const key = conanKey(ref);
      if (!found.has(key)) found.set(key, conanPackage(ref, kind));
    }
  }
  return [...found.values()].map((p): Finding => ({ kind: 'package', package: p }));
}
