/**
 * Swift Package Manager's `Package.resolved`, every format:
 * - v1: `{object: {pins: [{package, repositoryURL, state: {branch, revision, version}}]}, version: 1}`
 * - v2 and v3 (v3 adds `originHash`): `{pins: [{identity, kind, location, state}], version}`, where
 *   `kind` is `remoteSourceControl`, `localSourceControl` or `registry`.
 *
 * A source-control package is named by its repository URL without scheme, user and `.git`
 * (`https://github.com/apple/swift-nio.git` → `github.com/apple/swift-nio`), as OSV's SwiftURL
 * ecosystem keys it; the purl's namespace is all but the last segment. A registry package
 * (SE-0292, identity `scope.name`) has namespace `scope`. Local repositories are the project's
 * own and are skipped. A pin to a branch or revision has no version: the revision stands in (the
 * purl type needs one; the branch is kept as a property), and matching, which needs a version,
 * passes such a package over.
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import type { Finding, RawPackage } from '../model.js';
import { isRecord, limitedWarnings } from './common.js';

/**
 * The SwiftURL name of a repository URL: `https://github.com/apple/swift-nio.git`,
 * `git@github.com:apple/swift-nio.git` and `ssh://git@github.com/apple/swift-nio` all give
 * `github.com/apple/swift-nio`. Undefined for what is no remote URL (a local path).
 */
export function swiftUrlName(url: string): string | undefined {
  let s = url.trim();
  const scp = /^[^/@:\s]+@([^/:\s]+):(?!\/)(.+)$/.exec(s);
  if (scp !== null) s = `${scp[1]!}/${scp[2]!}`;
  else {
    const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/@]*@)?([^/]+)(\/.*)?$/i.exec(s);
    if (m === null || /^file:/i.test(s)) return undefined;
    s = `${m[1]!.toLowerCase()}${m[2] ?? ''}`;
  }
  s = s.replace(/\/+$/, '').replace(/\.git$/, '');
  return s.includes('/') ? s : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export const swiftResolvedCataloger: Cataloger = {
  id: 'swift-resolved',
  version: 1,
  // Checkouts under .build hold their own Package.resolved: their development pins, not the app's.
  wants: (path) => (path === 'Package.resolved' || path.endsWith('/Package.resolved')) && !path.includes('/.build/checkouts/') && !path.startsWith('.build/'),
  async parse(file, ctx) {
    const doc = JSON.parse(await textOf(file)) as unknown;
    const pins = isRecord(doc) ? (Array.isArray(doc['pins']) ? doc['pins'] : isRecord(doc['object']) && Array.isArray(doc['object']['pins']) ? doc['object']['pins'] : undefined) : undefined;
    if (pins === undefined) throw new Error('Package.resolved has no pins');
    const warnings = limitedWarnings(ctx);
    const found = new Map<string, RawPackage>();
    for (const pin of pins) {
      const state = isRecord(pin) && isRecord(pin['state']) ? pin['state'] : undefined;
      const kind = isRecord(pin) ? str(pin['kind']) : undefined;
      const label = isRecord(pin) ? (str(pin['identity']) ?? str(pin['package']) ?? '?') : '?';
      if (!isRecord(pin) || state === undefined) {
        warnings.warn(`Package.resolved pin "${label.slice(0, 200)}" has no state`);
        continue;
      }
      if (kind === 'localSourceControl' || kind === 'fileSystem') continue;
      const version = str(state['version']) ?? str(state['revision']);
      const full = kind === 'registry' ? str(pin['identity'])?.replace('.', '/') : swiftUrlName(str(pin['location']) ?? str(pin['repositoryURL']) ?? '');
      const slash = full?.lastIndexOf('/') ?? -1;
      if (full === undefined || slash <= 0 || version === undefined) {
        warnings.warn(`Package.resolved pin "${label.slice(0, 200)}" has no ${version === undefined ? 'version or revision' : 'remote location'}`);
        continue;
      }
      const branch = str(state['branch']);
      const properties = {
        ...(str(state['revision']) !== undefined ? { revision: state['revision'] as string } : {}),
        ...(branch !== undefined ? { branch } : {}),
        ...(kind === 'registry' ? { kind } : {}),
      };
      found.set(`${full}@${version}`, { type: 'swift', namespace: full.slice(0, slash), name: full.slice(slash + 1), version, ...(Object.keys(properties).length > 0 ? { properties } : {}) });
    }
    warnings.done();
    return [...found.values()].map((p): Finding => ({ kind: 'package', package: p }));
  },
};
