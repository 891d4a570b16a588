/**
 * Ruby gems, two catalogers:
 * - `gemspecCataloger`: installed gems, from `specifications/*.gemspec` and
 *   `specifications/default/*.gemspec` under any gem directory. These are the Ruby files RubyGems
 *   writes on install (`s.name = "rake".freeze`, `s.version = "13.0.6"`, `s.licenses = [...]`); they
 *   are read line by line with patterns for those assignments and never evaluated.
 * - `gemfileLockCataloger`: `Gemfile.lock` (and Bundler's alternative name `gems.locked`): the specs
 *   of its GEM, GIT, PATH and PLUGIN SOURCE sections, with each spec's indented dependencies resolved
 *   by name to the locked spec. A lockfile does not record groups, so nothing is marked dev.
 * A platform gem's platform (`x86_64-linux`) is kept as the property `platform`, not in the version;
 * a lockfile locking several builds of one version (`ruby`, `x86_64-linux`, …) lists them all there.
 */
import type { CatalogContext, Cataloger, CatalogFile } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { normalizeLicenses } from '../licenses.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';

/** A Ruby string literal as RubyGems writes them: "…" with escapes, '…', or %q<…> / %q{…} / %q(…) / %q[…]. */
const STRING = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|%q<([^>]*)>|%q\{([^}]*)\}|%q\(([^)]*)\)|%q\[([^\]]*)\]/g;

/** `s.name = …`, `spec.licenses = […]`: the attribute and the rest of the line. */
const ASSIGNMENT = /^\s*[a-z_]\w*\.(name|version|platform|licenses?)\s*=\s*(.*)$/;

function unescapeRuby(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** The string literals of a line, in order. */
function strings(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(STRING)) {
    const quoted = m[1] ?? m[2];
    out.push(quoted !== undefined ? unescapeRuby(quoted) : (m[3] ?? m[4] ?? m[5] ?? m[6] ?? ''));
  }
  return out;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function gemPackage(name: string, version: string, platform: string | undefined, extra: Pick<RawPackage, 'licenses' | 'dependsOn'> = {}): RawPackage {
  return {
    type: 'gem',
    name,
    version,
    ...(extra.licenses !== undefined && extra.licenses.length > 0 ? { licenses: extra.licenses } : {}),
    ...(platform !== undefined && platform !== 'ruby' ? { properties: { platform } } : {}),
    ...(extra.dependsOn !== undefined && extra.dependsOn.length > 0 ? { dependsOn: extra.dependsOn } : {}),
  };
}

/** True for `…specifications/<file>.gemspec` and `…specifications/default/<file>.gemspec`. */
function isInstalledGemspec(path: string): boolean {
  if (!path.endsWith('.gemspec')) return false;
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  return dir === 'specifications/' || dir.endsWith('/specifications/') || dir === 'specifications/default/' || dir.endsWith('/specifications/default/');
}

export const gemspecCataloger: Cataloger = {
  id: 'gemspec',
  version: 1,
  wants: (path) => isInstalledGemspec(path),
  async parse(file: CatalogFile, ctx: CatalogContext): Promise<readonly Finding[]> {
    const text = await textOf(file);
    let name: string | undefined;
    let version: string | undefined;
    let platform: string | undefined;
    const licenses: string[] = [];
    for (const line of text.split('\n')) {
      const m = ASSIGNMENT.exec(line);
      if (m === null) continue;
      const values = strings(m[2]!);
      switch (m[1]) {
        case 'name':
          name ??= values[0];
          break;
        case 'version':
          version ??= values[0];
          break;
        case 'platform':
          platform ??= values[0];
          break;
        default:
          licenses.push(...values);
      }
    }
    if (name === undefined || version === undefined || name === '' || version === '') {
      ctx.warn(`gemspec without ${name === undefined || name === '' ? 'name' : 'version'}`);
      return [];
    }
    return [{ kind: 'package', package: gemPackage(name, version, platform, { licenses: normalizeLicenses(licenses) }) }];
  },
};

// ---------------------------------------------------------------------------------------------
// Gemfile.lock

const LOCKS = new Set(['Gemfile.lock', 'gems.locked']);
const MAX_VERSIONS_PER_NAME = 16;
const SOURCES = new Set(['GEM', 'GIT', 'PATH', 'PLUGIN SOURCE']);
/** `    name (version[-platform])`: a spec, four spaces in. */
const SPEC = /^ {4}([^\s(]+) \(([^)\s]+)\)\s*$/;
/** `      name` or `      name (constraints)`: a dependency of the spec above, six spaces in. */
const SPEC_DEP = /^ {6}([^\s(]+)(?: \(.*\))?\s*$/;

/**
 * Gem versions have no `-`: in a lockfile it separates the platform (`1.15.4-x86_64-linux`,
 * `1.15.4-arm64-darwin`).
 */
function splitPlatform(v: string): { version: string; platform?: string } {
  const dash = v.indexOf('-');
  return dash > 0 ? { version: v.slice(0, dash), platform: v.slice(dash + 1) } : { version: v };
}

export const gemfileLockCataloger: Cataloger = {
  id: 'gemfile-lock',
  version: 1,
  // A Gemfile.lock inside an installed gem (`gems/<name>-<version>/Gemfile.lock`) is that gem's development lock.
  wants: (path) => (path.endsWith('.lock') || path.endsWith('.locked')) && LOCKS.has(basename(path)) && !/(^|\/)gems\/[^/]+\/[^/]+$/.test(path),
  async parse(file, ctx) {
    const text = await textOf(file);
    const specs = new Map<string, { name: string; version: string; platforms: Set<string>; deps: Set<string> }>();
    let section = '';
    let inSpecs = false;
    let current: { deps: Set<string> } | undefined;
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') continue;
      if (!line.startsWith(' ')) {
        section = line.trim();
        inSpecs = false;
        current = undefined;
        continue;
      }
      if (!SOURCES.has(section)) continue;
      if (line.startsWith('  ') && !line.startsWith('   ')) {
        inSpecs = line.trim() === 'specs:';
        current = undefined;
        continue;
      }
      if (!inSpecs) continue;
      const spec = SPEC.exec(line);
      if (spec !== null) {
        const name = spec[1]!;
        const { version, platform } = splitPlatform(spec[2]!);
        const key = packageKey({ type: 'gem', name, version });
        let entry = specs.get(key);
        if (entry === undefined) specs.set(key, (entry = { name, version, platforms: new Set(), deps: new Set() }));
        entry.platforms.add(platform ?? 'ruby');
        current = entry;
        continue;
      }
      const dep = SPEC_DEP.exec(line);
      if (dep !== null && current !== undefined) current.deps.add(dep[1]!);
    }
    if (specs.size === 0) {
      if (!/^(GEM|GIT|PATH|PLUGIN SOURCE)\r?$/m.test(text)) ctx.warn('no GEM, GIT or PATH section: not a Gemfile.lock');
      return [];
    }
    // Bundler locks one version per gem; a few more are tolerated, not a hostile file's thousands (edges would multiply).
    const keysByName = new Map<string, string[]>();
    for (const [key, s] of specs) {
      let keys = keysByName.get(s.name);
      if (keys === undefined) keysByName.set(s.name, (keys = []));
      if (keys.length < MAX_VERSIONS_PER_NAME) keys.push(key);
    }
    return [...specs.values()].map((s) => {
      const dependsOn = [...s.deps].flatMap((d) => keysByName.get(d) ?? []);
      // Several platform builds of one version are one package; `ruby` is the generic (source) build.
      const platform = [...s.platforms].sort().join(',');
      return { kind: 'package', package: gemPackage(s.name, s.version, platform, { dependsOn }) };
    });
  },
};
