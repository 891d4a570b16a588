/**
 * Alpine packages: apk-tools' installed database, `lib/apk/db/installed`. One record per package,
 * records separated by blank lines, each line `K:value` with the one-letter keys of the apk index
 * format (apk-package(5)): P name, V version, A arch, o origin, L license, m maintainer, and the
 * file lists (F, R, Z, a, M) that make up most of the file.
 */
import { textOf, type Cataloger } from '../cataloger.js';
import { isSpdxExpression, normalizeLicense, toSpdxId } from '../licenses.js';
import type { Finding, RawPackage } from '../model.js';
import { cappedWarnings } from './common.js';

const INSTALLED = 'lib/apk/db/installed';
/** The package-level keys kept; the file lists repeat their keys and are not needed here. */
const PACKAGE_KEYS = new Set(['P', 'V', 'A', 'o', 'L', 'm']);

interface ApkRecord {
  readonly line: number;
  readonly fields: Map<string, string>;
}

/** Packages of one installed database. */
function parseApkInstalled(text: string, warn: (message: string) => void): RawPackage[] {
  const out: RawPackage[] = [];
  let record: ApkRecord | undefined;
  const finish = (): void => {
    if (record !== undefined) {
      const p = toPackage(record, warn);
      if (p !== undefined) out.push(p);
    }
    record = undefined;
  };
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    const line = text.slice(pos, end).replace(/\r$/, '');
    pos = end + 1;
    lineNo++;
    if (line === '') {
      finish();
      continue;
    }
    if (line.length < 2 || line[1] !== ':') {
      warn(`line ${lineNo}: not a "K:value" line`);
      continue;
    }
    record ??= { line: lineNo, fields: new Map() };
    const key = line[0]!;
    if (PACKAGE_KEYS.has(key) && !record.fields.has(key)) record.fields.set(key, line.slice(2).trim());
  }
  finish();
  return out;
}

function toPackage({ line, fields }: ApkRecord, warn: (message: string) => void): RawPackage | undefined {
  const name = fields.get('P');
  const version = fields.get('V');
  if (name === undefined || name === '' || version === undefined || version === '') {
    warn(`record at line ${line}: no package name (P:) or version (V:)`);
    return undefined;
  }
  const arch = fields.get('A');
  const origin = fields.get('o');
  const license = fields.get('L');
  const maintainer = fields.get('m');
  const licenses = license === undefined ? [] : apkLicenses(license);
  return {
    type: 'apk',
    name,
    version,
    ...(arch === undefined || arch === '' ? {} : { arch }),
    // The origin is the source package (the APKBUILD); its subpackages share its version.
    source: { name: origin === undefined || origin === '' ? name : origin, version },
    ...(licenses.length === 0 ? {} : { licenses }),
    ...(maintainer === undefined || maintainer === '' ? {} : { properties: { maintainer } }),
  };
}

/**
 * `L:` is an SPDX expression in current Alpine (`MIT AND BSD-2-Clause`), a space-separated list of
 * names in older releases (`MIT BSD GPL2+`), or free text.
 */
function apkLicenses(value: string): string[] {
  const text = value.trim();
  if (text === '') return [];
  const whole = normalizeLicense(text);
  if (whole !== text || isSpdxExpression(text) || !/\s/.test(text)) return [whole];
  const ids = text.split(/\s+/).map((t) => toSpdxId(t));
  return ids.every((id) => id !== undefined) ? [...new Set(ids as string[])] : [text];
}

export const apkCataloger: Cataloger = {
  id: 'apk',
  version: 1,
  // Read whole into memory: far above a real database (an Alpine with 1,000 packages: 1 MB).
  maxBytes: 32 * 1024 * 1024,
  wants: (path) => path === INSTALLED,
  async parse(file, ctx): Promise<readonly Finding[]> {
    const warnings = cappedWarnings(ctx);
    return parseApkInstalled(await textOf(file), (m) => warnings.warn(`${file.path}: ${m}`)).map((p) => ({ kind: 'package', package: p }));
  },
};
