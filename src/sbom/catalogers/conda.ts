/**
 * conda packages, two catalogers:
 * - `condaMetaCataloger`: what is installed in a conda environment, one JSON record per package in
 *   `<env>/conda-meta/<name>-<version>-<build>.json` (`name`, `version`, `build`, `channel`,
 *   `subdir`, `fn`, `license`). The purl carries the channel (its name for anaconda.org and
 *   repo.anaconda.com channels: `conda-forge`, `main`), the subdir, the build and the archive type,
 *   as the conda purl type describes.
 * - `condaEnvironmentCataloger`: `environment.yml` (`environment.yaml`), the environment's
 *   specification: conda match specs with one version (`numpy=1.26.4`, `numpy==1.26.4`,
 *   `numpy 1.26.4 py311h_0`, `conda-forge::numpy=1.26.4=py311h_0`, as `conda env export` writes
 *   them) are conda packages; entries without a version or with a range or wildcard say no
 *   version and are skipped; the `pip:` list
 *   holds PyPI requirements, of which exact pins are PyPI packages.
 * conda has no OSV ecosystem: its packages are catalogued only (PyPI ones are matched as PyPI).
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { normalizeLicenses } from '../licenses.js';
import type { Finding, RawPackage } from '../model.js';
import { isRecord, limitedWarnings, parseYamlStrings } from './common.js';
import { pinnedRequirement } from './python.js';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** A channel's name where the URL is anaconda's (`…/conda-forge/linux-64` → `conda-forge`, `…/pkgs/main/…` → `main`), else the URL without its subdir. */
export function condaChannel(channel: string, subdir: string | undefined): string {
  let c = channel.replace(/\/+$/, '');
  if (subdir !== undefined && c.endsWith(`/${subdir}`)) c = c.slice(0, -subdir.length - 1);
  const m = /^https?:\/\/(?:conda\.anaconda\.org|repo\.anaconda\.com\/pkgs)\/([^/]+)$/.exec(c);
  return m !== null ? m[1]! : c;
}

function condaPackage(name: string, version: string, q: { channel?: string | undefined; subdir?: string | undefined; build?: string | undefined; type?: string | undefined }, licenses: string[] = []): RawPackage {
  const qualifiers = Object.fromEntries(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  return {
    type: 'conda',
    name,
    version,
    ...(licenses.length > 0 ? { licenses } : {}),
    ...(Object.keys(qualifiers).length > 0 ? { qualifiers } : {}),
  };
}

export const condaMetaCataloger: Cataloger = {
  id: 'conda-meta',
  version: 1,
  wants: (path) => path.endsWith('.json') && (path.startsWith('conda-meta/') || path.includes('/conda-meta/')) && path.indexOf('/', path.lastIndexOf('conda-meta/') + 'conda-meta/'.length) < 0,
  async parse(file) {
    const doc = JSON.parse(await textOf(file)) as unknown;
    const name = isRecord(doc) ? str(doc['name']) : undefined;
    const version = isRecord(doc) ? str(doc['version']) : undefined;
    if (!isRecord(doc) || name === undefined || version === undefined) throw new Error('conda-meta record without a name and version');
    const subdir = str(doc['subdir']);
    // Older conda wrote the short name as `schannel` beside the URL.
    const channel = str(doc['schannel']) ?? str(doc['channel']);
    const fn = str(doc['fn']) ?? str(doc['url']) ?? '';
    const type = fn.endsWith('.conda') ? 'conda' : fn.endsWith('.tar.bz2') ? 'tar.bz2' : undefined;
    const license = str(doc['license']);
    const pkg = condaPackage(name, version, { build: str(doc['build']), channel: channel !== undefined ? condaChannel(channel, subdir) : undefined, subdir, type }, license !== undefined ? normalizeLicenses([license]) : []);
    return [{ kind: 'package', package: pkg }];
  },
};

/**
 * `[channel::]name[ version[ build]]`, `name=version[=build]` or `name==version`: the version only
 * when it is one (`=1.21` is conda's 1.21.*, written by `conda env export` as the exact version it
 * installed; ranges and wildcards, `>=1.0`, `1.21.*`, `1.0|1.1`, give none). Undefined when no name.
 */
function matchSpec(spec: string): { name: string; version?: string; build?: string; channel?: string } | undefined {
  const m = /^(?:([^\s:]+)::)?([A-Za-z0-9_][A-Za-z0-9_.+-]*)(.*)$/.exec(spec.trim());
  if (m === null) return undefined;
  const [, channel, name, rest] = m as unknown as [string, string | undefined, string, string];
  const pinned = /^\s*==?\s*([^\s=]+)(?:\s*=\s*(\S+))?\s*$/.exec(rest) ?? /^\s+([^\s=]+)(?:\s+(\S+))?\s*$/.exec(rest);
  const version = pinned !== null && /^[0-9A-Za-z][0-9A-Za-z._+!-]*$/.test(pinned[1]!) ? pinned[1] : undefined;
  const build = version !== undefined ? pinned?.[2] : undefined;
  return { name, ...(version !== undefined ? { version } : {}), ...(build !== undefined ? { build } : {}), ...(channel !== undefined ? { channel } : {}) };
}

export const condaEnvironmentCataloger: Cataloger = {
  id: 'conda-environment',
  version: 1,
  maxBytes: 4 * 1024 * 1024,
  wants: (path) => (path.endsWith('environment.yml') || path.endsWith('environment.yaml')) && /(^|\/)environment\.ya?ml$/.test(path),
  async parse(file, ctx) {
    const doc = parseYamlStrings(await textOf(file));
    if (!isRecord(doc) || !Array.isArray(doc['dependencies'])) throw new Error('environment.yml has no dependencies list');
    const warnings = limitedWarnings(ctx);
    const found = new Map<string, RawPackage>();
    for (const dep of doc['dependencies']) {
      if (isRecord(dep) && Array.isArray(dep['pip'])) {
        for (const req of dep['pip']) {
          const pin = typeof req === 'string' ? pinnedRequirement(req) : undefined;
          if (pin !== undefined) found.set(`pypi:${pin.name}@${pin.version}`, { type: 'pypi', name: pin.name, version: pin.version });
        }
        continue;
      }
      const spec = typeof dep === 'string' ? matchSpec(dep) : undefined;
      if (spec === undefined) {
        warnings.warn(`environment.yml dependency ${JSON.stringify(dep)?.slice(0, 200) ?? String(dep)} is not a conda match spec`);
        continue;
      }
      if (spec.version === undefined) continue;
      found.set(`conda:${spec.channel ?? ''}:${spec.name}@${spec.version}`, condaPackage(spec.name, spec.version, { channel: spec.channel, build: spec.build }));
    }
    warnings.done();
    return [...found.values()].map((p): Finding => ({ kind: 'package', package: p }));
  },
};
