/**
 * Maven coordinates from the lockfiles of two JVM build tools:
 * - `gradleLockCataloger`: Gradle's dependency locking. Gradle 6+ writes one `gradle.lockfile` per
 *   project (and `buildscript-gradle.lockfile`, `settings-gradle.lockfile`), a line per module
 *   `group:artifact:version=configuration,configuration`, and `empty=…` for configurations that
 *   resolve nothing; Gradle 4.8–5 wrote `gradle/dependency-locks/<configuration>.lockfile` with
 *   bare `group:artifact:version` lines. A module only test configurations use is marked dev.
 * - `sbtLockCataloger`: `build.sbt.lock` of the sbt-dependency-lock plugin, JSON with
 *   `dependencies: [{org, name, version, configurations}]`; one only in `test` is marked dev.
 * Neither records the dependency graph. The configurations are kept as a property.
 */
import type { CatalogContext, Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, limitedWarnings } from './common.js';

const GRADLE_LOCKS = new Set(['gradle.lockfile', 'buildscript-gradle.lockfile', 'settings-gradle.lockfile']);

/** Maven coordinates: no `:` or white space inside a part. */
const COORDINATE = /^([^\s:=]+):([^\s:=]+):([^\s:=]+)$/;

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Test configurations: Gradle's `testCompileClasspath`, `testRuntimeClasspath`, `testFixtures…`; sbt's `test`. */
function isTestConfiguration(c: string): boolean {
  return c === 'test' || /^test[A-Z]/.test(c) || c.startsWith('integrationTest');
}

/** Packages of one lockfile, merged by coordinates (configurations united). */
class MavenLock {
  private readonly entries = new Map<string, { group: string; artifact: string; version: string; configurations: Set<string> }>();

  add(group: string, artifact: string, version: string, configurations: readonly string[]): void {
    const key = packageKey({ type: 'maven', namespace: group, name: artifact, version });
    let e = this.entries.get(key);
    if (e === undefined) this.entries.set(key, (e = { group, artifact, version, configurations: new Set() }));
    for (const c of configurations) e.configurations.add(c);
  }

  findings(): Finding[] {
    return [...this.entries.values()].map(({ group, artifact, version, configurations }): Finding => {
      const list = [...configurations].sort();
      const dev = list.length > 0 && list.every(isTestConfiguration);
      const pkg: RawPackage = {
        type: 'maven',
        namespace: group,
        name: artifact,
        version,
        ...(list.length > 0 ? { properties: { configurations: list.join(','), ...(dev ? { dev: 'true' } : {}) } } : {}),
      };
      return { kind: 'package', package: pkg };
    });
  }
}

export const gradleLockCataloger: Cataloger = {
  id: 'gradle-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => {
    if (!path.endsWith('.lockfile')) return false;
    const base = basename(path);
    return GRADLE_LOCKS.has(base) || path.endsWith(`gradle/dependency-locks/${base}`);
  },
  async parse(file, ctx: CatalogContext) {
    const text = await textOf(file);
    // Gradle 4.8–5: the configuration is the file's name.
    const legacy = file.path.endsWith(`gradle/dependency-locks/${basename(file.path)}`);
    const legacyConfiguration = basename(file.path).slice(0, -'.lockfile'.length);
    const warnings = limitedWarnings(ctx);
    const out = new MavenLock();
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      const coordinate = eq < 0 ? line : line.slice(0, eq);
      if (coordinate === 'empty') continue;
      const m = COORDINATE.exec(coordinate);
      if (m === null) {
        warnings.warn(`gradle lockfile line "${line.slice(0, 200)}" is not group:artifact:version`);
        continue;
      }
      const configurations = eq < 0 ? (legacy ? [legacyConfiguration] : []) : line.slice(eq + 1).split(',').map((c) => c.trim()).filter((c) => c !== '');
      out.add(m[1]!, m[2]!, m[3]!, configurations);
    }
    warnings.done();
    return out.findings();
  },
};

export const sbtLockCataloger: Cataloger = {
  id: 'sbt-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => path === 'build.sbt.lock' || path.endsWith('/build.sbt.lock'),
  async parse(file, ctx) {
    const doc = JSON.parse(await textOf(file)) as unknown;
    if (!isRecord(doc) || !Array.isArray(doc['dependencies'])) throw new Error('build.sbt.lock has no "dependencies" list');
    const warnings = limitedWarnings(ctx);
    const out = new MavenLock();
    for (const dep of doc['dependencies']) {
      const org = isRecord(dep) ? dep['org'] : undefined;
      const name = isRecord(dep) ? dep['name'] : undefined;
      const version = isRecord(dep) ? dep['version'] : undefined;
      if (typeof org !== 'string' || typeof name !== 'string' || typeof version !== 'string' || org === '' || name === '' || version === '' || !isRecord(dep)) {
        warnings.warn(`build.sbt.lock dependency ${JSON.stringify(dep)?.slice(0, 200) ?? String(dep)} lacks org, name or version`);
        continue;
      }
      const configurations = Array.isArray(dep['configurations']) ? dep['configurations'].filter((c): c is string => typeof c === 'string') : [];
      out.add(org, name, version, configurations);
    }
    warnings.done();
    return out.findings();
  },
};
