/**
 * The distribution of an image. `os-release` (freedesktop.org) is the source; for images old
 * enough to lack it the distribution's own release files are read as fallbacks:
 * `etc/alpine-release`, `etc/debian_version`, and the Red Hat family's one-line files
 * (`etc/centos-release`, `etc/oracle-release`, `etc/redhat-release`, `etc/system-release`: CentOS 6,
 * RHEL 6, Amazon Linux AMI). Red Hat's content manifests (`root/buildinfo/content_manifests/*.json`,
 * in UBI and every Red Hat-built image) name the repositories the image was built from
 * (`rhel-9-for-x86_64-baseos-rpms`): the RHEL major release, when nothing better says it. Each
 * file gives its own 'distro' finding; `pickDistro` says which one stands for the image.
 */
import { textOf, type Cataloger } from '../cataloger.js';
import type { Distro, Finding } from '../model.js';

const OS_RELEASE = 'etc/os-release';
const USR_OS_RELEASE = 'usr/lib/os-release';
const ALPINE_RELEASE = 'etc/alpine-release';
const DEBIAN_VERSION = 'etc/debian_version';
const CENTOS_RELEASE = 'etc/centos-release';
const ORACLE_RELEASE = 'etc/oracle-release';
const REDHAT_RELEASE = 'etc/redhat-release';
const SYSTEM_RELEASE = 'etc/system-release';
const CONTENT_MANIFEST = /^root\/buildinfo\/content_manifests\/[^/]+\.json$/;

/**
 * Precedence, best first: etc/os-release overrides usr/lib/os-release (as the os-release spec says),
 * and either overrides the distribution-specific version files; of those, the most specific
 * first (Oracle Linux also ships a redhat-release naming RHEL); a content manifest last.
 */
const PRECEDENCE: readonly string[] = [OS_RELEASE, USR_OS_RELEASE, ALPINE_RELEASE, DEBIAN_VERSION, CENTOS_RELEASE, ORACLE_RELEASE, REDHAT_RELEASE, SYSTEM_RELEASE];
/** A distro file's rank in that order, 0 best; files of no rank after every ranked one. */
export function distroRank(path: string): number {
  const i = PRECEDENCE.indexOf(path);
  return i >= 0 ? i : CONTENT_MANIFEST.test(path) ? PRECEDENCE.length : PRECEDENCE.length + 1;
}

/** The distro of the image from the distro findings of its files, keyed by path. */
export function pickDistro(found: Iterable<readonly [path: string, distro: Distro]>): Distro | undefined {
  let best: Distro | undefined;
  let bestRank = PRECEDENCE.length + 1;
  for (const [path, distro] of found) {
    const rank = distroRank(path);
    if (rank < bestRank) {
      best = distro;
      bestRank = rank;
    }
  }
  return best;
}

/**
 * Parses os-release: `KEY=value` lines, values optionally in shell quotes with \ escapes.
 * Returns undefined when no assignment was found (not an os-release file).
 */
function parseOsRelease(text: string): Distro | undefined {
  const vars = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) continue;
    vars.set(key, unquote(line.slice(eq + 1)));
  }
  if (vars.size === 0) return undefined;
  const nonEmpty = (key: string): string | undefined => {
    const v = vars.get(key);
    return v === undefined || v === '' ? undefined : v;
  };
  const idLike = nonEmpty('ID_LIKE')?.toLowerCase().split(/\s+/).filter((x) => x !== '');
  const versionId = nonEmpty('VERSION_ID');
  const versionCodename = nonEmpty('VERSION_CODENAME');
  const prettyName = nonEmpty('PRETTY_NAME');
  return {
    // The spec's default when ID is missing.
    id: nonEmpty('ID')?.toLowerCase() ?? 'linux',
    ...(versionId === undefined ? {} : { versionId }),
    ...(versionCodename === undefined ? {} : { versionCodename }),
    ...(prettyName === undefined ? {} : { prettyName }),
    ...(idLike === undefined || idLike.length === 0 ? {} : { idLike }),
  };
}

/** A shell-style value: "double" (with \ escapes), 'single', or bare (with \ escapes). */
function unquote(value: string): string {
  const q = value[0];
  if (q === "'") {
    const end = value.indexOf("'", 1);
    return end === -1 ? value.slice(1) : value.slice(1, end);
  }
  let out = '';
  let i = q === '"' ? 1 : 0;
  for (; i < value.length; i++) {
    const c = value[i]!;
    // Inside double quotes only \\ \" \$ \` are escapes, as in the shell.
    if (c === '\\' && i + 1 < value.length && (q !== '"' || '\\"$`'.includes(value[i + 1]!))) out += value[++i]!;
    else if (q === '"' && c === '"') break;
    else if (q !== '"' && (c === ' ' || c === '\t' || c === '#')) break;
    else out += c;
  }
  return out;
}

/** etc/alpine-release: one line, the full version (3.19.1, 3.20.0_alpha20240329). */
function parseAlpineRelease(text: string): Distro | undefined {
  const version = text.split('\n', 1)[0]!.trim();
  return /^\d[\w.+-]{0,63}$/.test(version) ? { id: 'alpine', versionId: version } : undefined;
}

/**
 * etc/debian_version: the point release (12.5) or, on testing/unstable, `codename/sid`. The
 * os-release VERSION_ID of Debian is the major version alone, so that is what is kept.
 */
function parseDebianVersion(text: string): Distro | undefined {
  const line = text.split('\n', 1)[0]!.trim();
  const numeric = /^(\d+)(?:\.\d+)*$/.exec(line);
  if (numeric !== null) return { id: 'debian', versionId: numeric[1]! };
  const testing = /^([a-z]+)\/sid$/.exec(line);
  if (testing !== null) return { id: 'debian', versionCodename: testing[1]! };
  return undefined;
}

/**
 * The one line of the Red Hat family's release files, as the distributions write it; the ID and
 * VERSION_ID their os-release would have said.
 */
const RELEASE_LINES: readonly (readonly [RegExp, string])[] = [
  [/^Red Hat Enterprise Linux\b.* release (\d+(?:\.\d+)?)/, 'rhel'],
  [/^CentOS(?: Linux| Stream)? release (\d+)/, 'centos'],
  [/^Rocky Linux release (\d+\.\d+)/, 'rocky'],
  [/^AlmaLinux release (\d+\.\d+)/, 'almalinux'],
  [/^Oracle Linux Server release (\d+\.\d+)/, 'ol'],
  [/^Amazon Linux AMI release (\d{4}\.\d{2})/, 'amzn'],
  [/^Amazon Linux release (\d+)\b/, 'amzn'],
  [/^Fedora release (\d+)/, 'fedora'],
];

/** `CentOS Linux release 7.9.2009 (Core)`, `Amazon Linux release 2 (Karoo)`, …: the first line of a *-release file. */
function parseReleaseLine(text: string): Distro | undefined {
  const line = text.split('\n', 1)[0]!.trim();
  for (const [pattern, id] of RELEASE_LINES) {
    const m = pattern.exec(line);
    if (m !== null) return { id, versionId: m[1]!, prettyName: line };
  }
  return undefined;
}

/**
 * A Red Hat content manifest: `{"content_sets": ["rhel-9-for-x86_64-baseos-rpms", …], …}`. The
 * repositories' RHEL major (UBI images are built from RHEL's repositories: `ubi-8-…` names them too).
 */
function parseContentManifest(text: string): Distro | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const sets = typeof doc === 'object' && doc !== null ? (doc as { content_sets?: unknown }).content_sets : undefined;
  if (!Array.isArray(sets)) return undefined;
  const majors = new Set(sets.flatMap((x) => (typeof x === 'string' ? (/^(?:rhel|ubi)-(\d+)(?:-|$)/.exec(x)?.[1] ?? []) : [])));
  // Repositories of two majors say nothing certain.
  return majors.size === 1 ? { id: 'rhel', versionId: [...majors][0]! } : undefined;
}

const PARSERS: ReadonlyMap<string, (text: string) => Distro | undefined> = new Map([
  [OS_RELEASE, parseOsRelease],
  [USR_OS_RELEASE, parseOsRelease],
  [ALPINE_RELEASE, parseAlpineRelease],
  [DEBIAN_VERSION, parseDebianVersion],
  [CENTOS_RELEASE, parseReleaseLine],
  [ORACLE_RELEASE, parseReleaseLine],
  [REDHAT_RELEASE, parseReleaseLine],
  [SYSTEM_RELEASE, parseReleaseLine],
]);

const parserOf = (path: string): ((text: string) => Distro | undefined) | undefined => PARSERS.get(path) ?? (CONTENT_MANIFEST.test(path) ? parseContentManifest : undefined);

export const osReleaseCataloger: Cataloger = {
  id: 'os-release',
  version: 2,
  // These files are a few hundred bytes; anything big is not one of them.
  maxBytes: 64 * 1024,
  wants: (path) => parserOf(path) !== undefined,
  async parse(file, ctx): Promise<readonly Finding[]> {
    const parser = parserOf(file.path);
    if (parser === undefined) return [];
    const distro = parser(await textOf(file));
    if (distro === undefined) {
      ctx.warn(`${file.path}: no distribution found in it`);
      return [];
    }
    return [{ kind: 'distro', distro }];
  },
};
