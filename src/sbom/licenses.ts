/**
 * License names as packages state them, mapped to SPDX license ids (or expressions) where the name
 * is known. Ids come from the SPDX license list (spdx-license-ids); expressions are checked with
 * spdx-expression-parse. A name that maps to nothing is kept as given, so nothing is lost.
 */
import { createRequire } from 'node:module';
import parseExpression from 'spdx-expression-parse';

const require = createRequire(import.meta.url);
const IDS: readonly string[] = require('spdx-license-ids/index.json') as string[];
const DEPRECATED: readonly string[] = require('spdx-license-ids/deprecated.json') as string[];

const BY_LOWER = new Map<string, string>();
for (const id of IDS) BY_LOWER.set(id.toLowerCase(), id);
// Deprecated ids map to their successor where the list has one (GPL-2.0 → GPL-2.0-only), so one
// license never gets two ids; other deprecated ids stay as they are.
for (const id of DEPRECATED) {
  const lower = id.toLowerCase();
  if (BY_LOWER.has(lower)) continue;
  const plus = lower.endsWith('+');
  const successor = BY_LOWER.get(plus ? `${lower.slice(0, -1)}-or-later` : `${lower}-only`);
  BY_LOWER.set(lower, successor ?? id);
}

/** Common spellings in package metadata (PyPI classifiers, Debian copyright short names, pom files, gemspecs). */
const ALIASES: Readonly<Record<string, string>> = {
  'mit license': 'MIT',
  'the mit license': 'MIT',
  expat: 'MIT',
  'apache 2': 'Apache-2.0',
  'apache 2.0': 'Apache-2.0',
  'apache-2': 'Apache-2.0',
  'apache license 2.0': 'Apache-2.0',
  'apache license, version 2.0': 'Apache-2.0',
  'apache software license': 'Apache-2.0',
  'the apache software license, version 2.0': 'Apache-2.0',
  'the apache license, version 2.0': 'Apache-2.0',
  'asl 2.0': 'Apache-2.0',
  'bsd': 'BSD-3-Clause',
  'bsd license': 'BSD-3-Clause',
  'new bsd license': 'BSD-3-Clause',
  'bsd-3': 'BSD-3-Clause',
  'bsd-2': 'BSD-2-Clause',
  'simplified bsd license': 'BSD-2-Clause',
  'isc license': 'ISC',
  'mozilla public license 2.0 (mpl 2.0)': 'MPL-2.0',
  'mpl 2.0': 'MPL-2.0',
  'python software foundation license': 'PSF-2.0',
  psf: 'PSF-2.0',
  zlib: 'Zlib',
  'gplv2': 'GPL-2.0-only',
  'gplv2+': 'GPL-2.0-or-later',
  'gplv3': 'GPL-3.0-only',
  'gplv3+': 'GPL-3.0-or-later',
  'lgplv2+': 'LGPL-2.0-or-later',
  'lgplv2.1+': 'LGPL-2.1-or-later',
  'lgplv3+': 'LGPL-3.0-or-later',
  'gnu general public license v2 (gplv2)': 'GPL-2.0-only',
  'gnu general public license v3 (gplv3)': 'GPL-3.0-only',
  'gnu lesser general public license v3 (lgplv3)': 'LGPL-3.0-only',
  'eclipse public license 1.0': 'EPL-1.0',
  'eclipse public license 2.0': 'EPL-2.0',
  ruby: 'Ruby',
};

/** Debian copyright short names (GPL-2, GPL-2+, LGPL-2.1+, Artistic, ...) → SPDX. */
const DEBIAN_GNU = /^(A?GPL|LGPL|GFDL)-(\d(?:\.\d)?)(\+)?$/i;

/** The SPDX id for one license name, or undefined when it is not a known license. */
export function toSpdxId(name: string): string | undefined {
  const trimmed = name.trim().replace(/\s+/g, ' ');
  if (trimmed === '') return undefined;
  const lower = trimmed.toLowerCase();
  const direct = BY_LOWER.get(lower) ?? ALIASES[lower];
  if (direct !== undefined) return direct;
  const gnu = DEBIAN_GNU.exec(trimmed);
  if (gnu !== null) {
    const family = gnu[1]!.toUpperCase();
    const version = gnu[2]!.includes('.') ? gnu[2]! : `${gnu[2]!}.0`;
    const id = `${family}-${version}-${gnu[3] === '+' ? 'or-later' : 'only'}`;
    return BY_LOWER.get(id.toLowerCase());
  }
  if (lower === 'artistic') return 'Artistic-1.0-Perl';
  return undefined;
}

/** Whether `text` is a valid SPDX license expression (MIT OR Apache-2.0, GPL-2.0-or-later WITH ...). */
export function isSpdxExpression(text: string): boolean {
  try {
    parseExpression(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * One license statement → SPDX form: an id, an expression kept as is, or the text unchanged when
 * neither applies. `A or B` / `A and B` in prose become OR / AND when each side is known.
 */
export function normalizeLicense(statement: string): string {
  let out = NORMALIZED.get(statement);
  if (out === undefined) {
    out = normalizeUncached(statement);
    if (NORMALIZED.size >= NORMALIZED_LIMIT) NORMALIZED.clear();
    NORMALIZED.set(statement, out);
  }
  return out;
}

/** Statements repeat (thousands of packages, a few dozen licenses): each is parsed once. */
const NORMALIZED = new Map<string, string>();
const NORMALIZED_LIMIT = 10_000;

function normalizeUncached(statement: string): string {
  const text = statement.trim();
  const id = toSpdxId(text);
  if (id !== undefined) return id;
  // The parser accepts operators in any case; SPDX (Annex D.2) and every writer want upper case.
  if (isSpdxExpression(text)) return text.replace(/\s(and|or|with)\s/gi, (m) => m.toUpperCase());
  const parts = text.split(/\s+(or|and)\s+/i);
  if (parts.length > 1) {
    const out: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 1) {
        out.push(parts[i]!.toUpperCase());
        continue;
      }
      const part = toSpdxId(parts[i]!.replace(/^\(|\)$/g, ''));
      if (part === undefined) return text;
      out.push(part);
    }
    const expression = out.join(' ');
    if (isSpdxExpression(expression)) return expression;
  }
  return text;
}

/** Normalizes and de-duplicates a list of license statements, keeping their order. */
export function normalizeLicenses(statements: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const s of statements) {
    if (s.trim() === '') continue;
    seen.add(normalizeLicense(s));
  }
  return [...seen];
}
