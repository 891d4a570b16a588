/**
 * PHP Composer packages, two catalogers:
 * - `composerLockCataloger`: `composer.lock`, its `packages` and `packages-dev` (the latter marked
 *   with the property `dev: "true"`).
 * - `composerInstalledCataloger`: `vendor/composer/installed.json`, what `composer install` put in
 *   vendor/ (or in the directory `config.vendor-dir` names: any `…/composer/installed.json`), in a
 *   source tree or an image: a plain array of packages (Composer 1) or
 *   `{ packages: [...], dev-package-names }` (Composer 2, which names the dev packages).
 * `vendor/name` gives the purl namespace `vendor` and name `name`; versions are kept as written
 * (`v2.0.0`, `dev-main`). `require` entries that name locked packages become dependsOn; platform
 * requirements (`php`, `ext-json`, `lib-icu`) are not packages and match none.
 */
import type { CatalogContext, Cataloger, CatalogFile } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { normalizeLicenses } from '../licenses.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, MAX_WARNINGS, type Json } from './common.js';


function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function splitName(full: string): { namespace?: string; name: string } {
  const slash = full.indexOf('/');
  return slash > 0 && slash < full.length - 1 ? { namespace: full.slice(0, slash), name: full.slice(slash + 1) } : { name: full };
}

function composerKey(full: string, version: string): string {
  return packageKey({ type: 'composer', ...splitName(full), version });
}

function licensesOf(entry: Json): string[] {
  const l = entry['license'];
  const list = Array.isArray(l) ? l : [l];
  return normalizeLicenses(list.filter((x): x is string => typeof x === 'string'));
}

/** Packages of one file: each entry once, its `require` resolved against the other entries. */
function composerFindings(entries: readonly { entry: unknown; dev: boolean }[], ctx: CatalogContext): Finding[] {
  let problems = 0;
  const warn = (m: string): void => {
    if (++problems <= MAX_WARNINGS) ctx.warn(m);
  };
  const keyOf = new Map<string, string>();
  const valid: { full: string; version: string; dev: boolean; entry: Json }[] = [];
  for (const { entry, dev } of entries) {
    if (!isRecord(entry)) {
      warn('package entry is not an object');
      continue;
    }
    const full = str(entry['name']);
    const version = str(entry['version']);
    if (full === undefined || version === undefined) {
      warn(`package ${full === undefined ? 'without a name' : `"${full.slice(0, 200)}" without a version`}`);
      continue;
    }
    const key = composerKey(full, version);
    if (keyOf.has(full.toLowerCase())) continue;
    keyOf.set(full.toLowerCase(), key);
    valid.push({ full, version, dev, entry });
  }
  if (problems > MAX_WARNINGS) ctx.warn(`${problems - MAX_WARNINGS} more problems of the same kind not shown`);
  return valid.map(({ full, version, dev, entry }) => {
    const require = isRecord(entry['require']) ? Object.keys(entry['require']) : [];
    const dependsOn = require.flatMap((r) => keyOf.get(r.toLowerCase()) ?? []);
    const licenses = licensesOf(entry);
    const pkg: RawPackage = {
      type: 'composer',
      ...splitName(full),
      version,
      ...(licenses.length > 0 ? { licenses } : {}),
      ...(dev ? { properties: { dev: 'true' } } : {}),
      ...(dependsOn.length > 0 ? { dependsOn } : {}),
    };
    return { kind: 'package', package: pkg };
  });
}

async function readJson(file: CatalogFile, ctx: CatalogContext): Promise<unknown> {
  try {
    return JSON.parse(await textOf(file)) as unknown;
  } catch (err) {
    ctx.warn(`not valid JSON: ${(err as Error).message.slice(0, 200)}`);
    return undefined;
  }
}

export const composerLockCataloger: Cataloger = {
  id: 'composer-lock',
  version: 1,
  // A composer.lock shipped inside an installed package (vendor/…) is that package's development lock.
  wants: (path) => path.endsWith('composer.lock') && (path === 'composer.lock' || path.endsWith('/composer.lock')) && !path.startsWith('vendor/') && !path.includes('/vendor/'),
  async parse(file, ctx) {
    const doc = await readJson(file, ctx);
    if (doc === undefined) return [];
    if (!isRecord(doc)) {
      ctx.warn('composer.lock is not a JSON object');
      return [];
    }
    const prod = Array.isArray(doc['packages']) ? doc['packages'] : [];
    const dev = Array.isArray(doc['packages-dev']) ? doc['packages-dev'] : [];
    if (!Array.isArray(doc['packages'])) ctx.warn('composer.lock has no "packages" list');
    return composerFindings([...prod.map((entry) => ({ entry, dev: false })), ...dev.map((entry) => ({ entry, dev: true }))], ctx);
  },
};

export const composerInstalledCataloger: Cataloger = {
  id: 'composer-installed',
  version: 2,
  // `<vendor-dir>/composer/installed.json`: vendor/ by default, whatever `config.vendor-dir` names otherwise.
  wants: (path) => path === 'composer/installed.json' || path.endsWith('/composer/installed.json'),
  async parse(file, ctx) {
    const doc = await readJson(file, ctx);
    if (doc === undefined) return [];
    // Composer 1 wrote the list itself; Composer 2 wraps it and names the dev packages.
    const list = Array.isArray(doc) ? doc : isRecord(doc) && Array.isArray(doc['packages']) ? doc['packages'] : undefined;
    if (list === undefined) {
      ctx.warn('installed.json is neither a package list nor an object with "packages"');
      return [];
    }
    const devNames = new Set(isRecord(doc) && Array.isArray(doc['dev-package-names']) ? doc['dev-package-names'].filter((n): n is string => typeof n === 'string') : []);
    return composerFindings(
      list.map((entry) => ({ entry, dev: isRecord(entry) && typeof entry['name'] === 'string' && devNames.has(entry['name']) })),
      ctx,
    );
  },
};
