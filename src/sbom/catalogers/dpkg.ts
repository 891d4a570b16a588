/**
 * Debian packages: dpkg's status database (`var/lib/dpkg/status`), the one-file-per-package
 * `var/lib/dpkg/status.d/` of distroless images, and the licenses in `usr/share/doc/<pkg>/copyright`.
 */
import { textOf, type CatalogContext, type Cataloger, type CatalogFile } from '../cataloger.js';
import { normalizeLicenses, toSpdxId } from '../licenses.js';
import type { Finding, RawPackage } from '../model.js';
import { parseDeb822 } from './deb822.js';
import { cappedWarnings } from './common.js';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = 'var/lib/dpkg/status.d/';

/** Packages of one status file. */
function parseDpkgStatus(text: string, warn: (message: string) => void): RawPackage[] {
  const out: RawPackage[] = [];
  for (const { fields, line } of parseDeb822(text, warn)) {
    const name = fields.get('package');
    const version = fields.get('version');
    // status.d files carry no Status: everything there is installed. In the status file only
    // packages whose state is "installed" are (not config-files, half-installed, unpacked, ...).
    const status = fields.get('status');
    if (status !== undefined && status.split(/\s+/)[2] !== 'installed') continue;
    if (name === undefined || name === '' || version === undefined || version === '') {
      warn(`paragraph at line ${line}: no Package or Version`);
      continue;
    }
    const epoch = /^(\d+):/.exec(version);
    const arch = fields.get('architecture');
    const maintainer = fields.get('maintainer');
    out.push({
      type: 'deb',
      name,
      version,
      ...(epoch === null ? {} : { epoch: Number(epoch[1]) }),
      ...(arch === undefined || arch === '' ? {} : { arch }),
      source: sourceOf(fields.get('source'), name, version),
      ...(maintainer === undefined || maintainer === '' ? {} : { properties: { maintainer } }),
    });
  }
  return out;
}

/** `Source: name` or `Source: name (version)`; without it the package is its own source. */
function sourceOf(field: string | undefined, name: string, version: string): { name: string; version: string } {
  const m = field === undefined ? null : /^(\S+)(?:\s+\(([^)\s]+)\))?$/.exec(field);
  if (m === null) return { name, version };
  return { name: m[1]!, version: m[2] ?? version };
}

/**
 * Package databases are read whole into memory: bounded well above any real one (Ubuntu with
 * 5,000 packages writes 4 MB) and far below what a hostile image could offer. A status.d file
 * holds one package (a few kilobytes).
 */
const MAX_STATUS_BYTES = 32 * 1024 * 1024;
const MAX_STATUS_D_BYTES = 1024 * 1024;

async function parseStatusFile(file: CatalogFile, ctx: CatalogContext): Promise<readonly Finding[]> {
  const warnings = cappedWarnings(ctx);
  return parseDpkgStatus(await textOf(file), (m) => warnings.warn(`${file.path}: ${m}`)).map((p) => ({ kind: 'package', package: p }));
}

export const dpkgCataloger: Cataloger = {
  id: 'dpkg',
  version: 1,
  maxBytes: MAX_STATUS_BYTES,
  wants: (path) => path === STATUS,
  parse: parseStatusFile,
};

/** The status.d directory of distroless images: one file per package. */
export const dpkgStatusDCataloger: Cataloger = {
  id: 'dpkg-status.d',
  version: 1,
  maxBytes: MAX_STATUS_D_BYTES,
  wants(path) {
    if (!path.startsWith(STATUS_D)) return false;
    // One file per package (name, or name + arch); `.md5sums` files beside them are file lists.
    return path.length > STATUS_D.length && path.indexOf('/', STATUS_D.length) === -1 && !path.endsWith('.md5sums');
  },
  parse: parseStatusFile,
};

const DOC = 'usr/share/doc/';
const COPYRIGHT = '/copyright';
/** Enough for all but a few copyright files (boost's is 2 MB); the head holds the main licenses. */
const COPYRIGHT_HEAD_BYTES = 1024 * 1024;

/**
 * Licenses named by a copyright file. Machine-readable (DEP-5) files: the first line of every
 * `License:` field. Other files: only references to `/usr/share/common-licenses/<name>`, the one
 * license statement that free-form files make in a fixed form; a GNU license counts as
 * "or later" when the grant before the reference says "any later version".
 */
function copyrightLicenses(text: string): string[] {
  if (/^Format:/m.test(text.slice(0, 4096))) {
    const names: string[] = [];
    for (const m of text.matchAll(/^License:[ \t]*(\S.*)$/gm)) names.push(m[1]!.trim());
    return normalizeLicenses(names);
  }
  const found: string[] = [];
  let previous = 0;
  for (const m of text.matchAll(/\/usr\/share\/common-licenses\/([A-Za-z0-9][A-Za-z0-9.+-]*[A-Za-z0-9+])/g)) {
    const grant = text.slice(Math.max(previous, m.index - 1500), m.index);
    previous = m.index + m[0].length;
    const name = m[1]!;
    const gnu = /^(A?GPL|LGPL|GFDL)-\d(\.\d)?$/.test(name);
    const id = gnu && /any\s+later\s+version/i.test(grant) ? toSpdxId(`${name}+`) : toSpdxId(name);
    // Unversioned names (GPL, LGPL) say which family but not which license: nothing to claim.
    if (id !== undefined) found.push(id);
  }
  return [...new Set(found)];
}

export const dpkgCopyrightCataloger: Cataloger = {
  id: 'dpkg-copyright',
  version: 1,
  headBytes: COPYRIGHT_HEAD_BYTES,
  wants(path) {
    // usr/share/doc/<pkg>/copyright, exactly one directory level.
    return path.startsWith(DOC) && path.endsWith(COPYRIGHT) && path.indexOf('/', DOC.length) === path.length - COPYRIGHT.length && path.length > DOC.length + COPYRIGHT.length;
  },
  async parse(file): Promise<readonly Finding[]> {
    let text = await textOf(file);
    // A head cut mid-line: drop the partial last line.
    if (file.size > COPYRIGHT_HEAD_BYTES) text = text.slice(0, text.lastIndexOf('\n') + 1);
    const licenses = copyrightLicenses(text);
    if (licenses.length === 0) return [];
    const name = file.path.slice(DOC.length, file.path.length - COPYRIGHT.length);
    return [{ kind: 'license', type: 'deb', name, licenses }];
  },
};
