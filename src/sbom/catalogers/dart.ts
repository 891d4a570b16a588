/**
 * Dart and Flutter packages from `pubspec.lock`, the YAML lockfile `dart pub get` writes:
 *
 *   packages:
 *     http:
 *       dependency: "direct main"        # direct main | direct dev | direct overridden | transitive
 *       description: { name: http, sha256: "…", url: "https://pub.dev" }
 *       source: hosted                   # hosted | git | path | sdk
 *       version: "1.2.2"
 *
 * Only `source: hosted` entries are Pub packages: git and path entries are sources of their own,
 * sdk entries (flutter, flutter_test) ship with the SDK. The dependency kind is kept as the
 * property `dependency`; `direct dev` is also marked `dev`. The lockfile records no dependency
 * graph, so transitive dependencies of dev dependencies cannot be told apart. A package hosted
 * elsewhere than pub.dev (or its mirrors) carries the purl qualifier `repository_url`.
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import type { Finding, RawPackage } from '../model.js';
import { isRecord, limitedWarnings, parseYamlStrings } from './common.js';

/** pub.dev under its current and former names, and the mirror Flutter documents for China: all the same packages. */
const PUB_DEV = /^https?:\/\/(pub\.dev|pub\.dartlang\.org|pub\.flutter-io\.cn)\/?$/;

export const pubspecLockCataloger: Cataloger = {
  id: 'pubspec-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  // Packages in the pub cache carry their own development lockfile: not what the app resolved.
  wants: (path) => (path === 'pubspec.lock' || path.endsWith('/pubspec.lock')) && !path.includes('/.pub-cache/') && !path.includes('/pub-cache/hosted/'),
  async parse(file, ctx) {
    const doc = parseYamlStrings(await textOf(file));
    if (!isRecord(doc) || !isRecord(doc['packages'])) throw new Error('pubspec.lock has no "packages" map');
    const warnings = limitedWarnings(ctx);
    const findings: Finding[] = [];
    for (const [key, entry] of Object.entries(doc['packages'])) {
      if (!isRecord(entry) || typeof entry['source'] !== 'string') {
        warnings.warn(`pubspec.lock package "${key.slice(0, 200)}" has no source`);
        continue;
      }
      if (entry['source'] !== 'hosted') continue;
      const description = isRecord(entry['description']) ? entry['description'] : {};
      const name = typeof description['name'] === 'string' && description['name'] !== '' ? description['name'] : key;
      const version = typeof entry['version'] === 'string' ? entry['version'] : '';
      if (version === '') {
        warnings.warn(`pubspec.lock package "${key.slice(0, 200)}" has no version`);
        continue;
      }
      const kind = typeof entry['dependency'] === 'string' ? entry['dependency'] : undefined;
      const url = typeof description['url'] === 'string' ? description['url'] : undefined;
      const pkg: RawPackage = {
        type: 'pub',
        name,
        version,
        ...(kind !== undefined ? { properties: { dependency: kind, ...(kind === 'direct dev' ? { dev: 'true' } : {}) } } : {}),
        ...(url !== undefined && !PUB_DEV.test(url) ? { qualifiers: { repository_url: url } } : {}),
      };
      findings.push({ kind: 'package', package: pkg });
    }
    warnings.done();
    return findings;
  },
};
