/**
 * License names → SPDX (`toSpdxId`, `normalizeLicense`, `normalizeLicenses`). The oracle is the
 * SPDX license list as spdx-license-ids ships it (index.json: current ids, deprecated.json:
 * deprecated ones) and spdx-expression-parse for expressions, not the code's own tables.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import parseSpdxExpression from 'spdx-expression-parse';
import { isSpdxExpression, normalizeLicense, normalizeLicenses, toSpdxId } from '../../src/sbom/index.js';

const require = createRequire(import.meta.url);
const CURRENT: readonly string[] = require('spdx-license-ids/index.json') as string[];
const DEPRECATED: readonly string[] = require('spdx-license-ids/deprecated.json') as string[];
const LIST = new Set([...CURRENT, ...DEPRECATED]);
const EXCEPTIONS = new Set(require('spdx-exceptions/index.json') as string[]);

/** Names as package metadata states them: PyPI classifiers, Debian copyright short names, pom files, gemspecs, rpm License: tags. */
const COMMON_NAMES = [
  'MIT', 'mit', 'MIT License', 'The MIT License', 'Expat', 'expat',
  'Apache-2.0', 'Apache 2.0', 'Apache 2', 'apache-2', 'Apache License 2.0', 'Apache License, Version 2.0', 'The Apache Software License, Version 2.0', 'Apache Software License', 'ASL 2.0',
  'BSD', 'BSD License', 'New BSD License', 'BSD-3', 'BSD-2', 'Simplified BSD License', 'BSD-3-clause', 'BSD-2-clause',
  'ISC', 'ISC License', 'MPL 2.0', 'MPL-2.0', 'Mozilla Public License 2.0 (MPL 2.0)', 'Zlib', 'zlib', 'PSF', 'Python Software Foundation License',
  'GPL-1', 'GPL-1+', 'GPL-2', 'GPL-2+', 'GPL-3', 'GPL-3+', 'LGPL-2', 'LGPL-2+', 'LGPL-2.1', 'LGPL-2.1+', 'LGPL-3', 'LGPL-3+', 'AGPL-3', 'AGPL-3+', 'GFDL-1.2', 'GFDL-1.2+', 'GFDL-1.3+',
  'GPLv2', 'GPLv2+', 'GPLv3', 'GPLv3+', 'LGPLv2+', 'LGPLv2.1+', 'LGPLv3+',
  'GNU General Public License v2 (GPLv2)', 'GNU General Public License v3 (GPLv3)', 'GNU Lesser General Public License v3 (LGPLv3)',
  'Eclipse Public License 1.0', 'Eclipse Public License 2.0', 'Ruby', 'Artistic', 'Artistic-2.0',
  'public domain', 'Public Domain',
  'GPL-2.0', 'GPL-3.0', 'LGPL-2.1', 'GPL-2.0+', 'wxWindows', 'eCos-2.0',
];

// ---------------------------------------------------------------------------------------------
// toSpdxId

test('toSpdxId: every id of the SPDX list is recognized in any case and returned as the list spells it', () => {
  for (const id of CURRENT) {
    assert.equal(toSpdxId(id), id);
    assert.equal(toSpdxId(id.toLowerCase()), id, `${id.toLowerCase()}`);
    assert.equal(toSpdxId(id.toUpperCase()), id, `${id.toUpperCase()}`);
    assert.equal(toSpdxId(`  ${id}\t`), id, 'surrounding space is ignored');
  }
});

test('toSpdxId: common spellings', () => {
  const expected: Readonly<Record<string, string>> = {
    'mit': 'MIT',
    'MIT License': 'MIT',
    'The MIT License': 'MIT',
    'Apache 2.0': 'Apache-2.0',
    'Apache License, Version 2.0': 'Apache-2.0',
    'apache-2.0': 'Apache-2.0',
    'bsd-3-clause': 'BSD-3-Clause',
    'BSD-2-clause': 'BSD-2-Clause',
    'ISC License': 'ISC',
    '0bsd': '0BSD',
    'GPLv2+': 'GPL-2.0-or-later',
    'Python Software Foundation License': 'PSF-2.0',
    'Eclipse Public License 2.0': 'EPL-2.0',
    '  MIT   License ': 'MIT',
  };
  for (const [name, id] of Object.entries(expected)) assert.equal(toSpdxId(name), id, name);
});

test('toSpdxId: Debian copyright short names', () => {
  const expected: Readonly<Record<string, string>> = {
    'GPL-1+': 'GPL-1.0-or-later',
    'GPL-2': 'GPL-2.0-only',
    'GPL-2+': 'GPL-2.0-or-later',
    'GPL-3': 'GPL-3.0-only',
    'GPL-3+': 'GPL-3.0-or-later',
    'LGPL-2': 'LGPL-2.0-only',
    'LGPL-2+': 'LGPL-2.0-or-later',
    'LGPL-2.1+': 'LGPL-2.1-or-later',
    'LGPL-3+': 'LGPL-3.0-or-later',
    'AGPL-3': 'AGPL-3.0-only',
    'AGPL-3+': 'AGPL-3.0-or-later',
    'GFDL-1.2+': 'GFDL-1.2-or-later',
    'GFDL-1.3+': 'GFDL-1.3-or-later',
    'gpl-2+': 'GPL-2.0-or-later',
    'Expat': 'MIT',
    'Artistic': 'Artistic-1.0-Perl',
    'Artistic-2.0': 'Artistic-2.0',
    'Apache-2.0': 'Apache-2.0',
    'BSD-3-clause': 'BSD-3-Clause',
    'Zlib': 'Zlib',
    'MPL-2.0': 'MPL-2.0',
  };
  for (const [name, id] of Object.entries(expected)) {
    assert.equal(toSpdxId(name), id, name);
    assert.ok(CURRENT.includes(id), `${id} is a current SPDX id`);
  }
});

test('toSpdxId: unknown names are undefined', () => {
  for (const name of ['Some Custom License', 'GPL', 'LGPL', 'Proprietary', 'see LICENSE file', 'GPL-9', 'GPL-2.5+', '', '   ', 'MIT or Apache 2.0']) assert.equal(toSpdxId(name), undefined, JSON.stringify(name));
});

test('toSpdxId: deprecated ids are recognized in any case and returned as ids of the list', () => {
  for (const id of DEPRECATED) {
    const got = toSpdxId(id.toLowerCase());
    assert.ok(got !== undefined && LIST.has(got), `${id} → ${got}`);
  }
});

test('toSpdxId: a deprecated GNU id gives the same id as its Debian short name (GPL-2.0 ≡ GPL-2 ≡ GPL-2.0-only)', () => {
  // The list replaced GPL-2.0 by GPL-2.0-only (and so on); the normalizer should not keep two ids
  // for one license, or normalizeLicenses cannot de-duplicate `GPL-2` and `GPL-2.0`.
  const replaced = DEPRECATED.filter((d) => CURRENT.includes(`${d}-only`));
  assert.ok(replaced.includes('GPL-2.0') && replaced.includes('LGPL-2.1'), 'the list has GPL-2.0-only for GPL-2.0');
  const problems: string[] = [];
  for (const d of replaced) {
    const got = toSpdxId(d);
    if (got !== `${d}-only`) problems.push(`${d} → ${got} (want ${d}-only)`);
  }
  assert.deepEqual(problems, []);
  assert.equal(toSpdxId('GPL-2.0'), toSpdxId('GPL-2'));
  assert.deepEqual(normalizeLicenses(['GPL-2', 'GPL-2.0']), ['GPL-2.0-only']);
});

test('toSpdxId: every id it returns is on the SPDX license list', () => {
  const offList: string[] = [];
  for (const name of [...COMMON_NAMES, ...CURRENT, ...DEPRECATED]) {
    const id = toSpdxId(name);
    if (id !== undefined && !LIST.has(id)) offList.push(`${JSON.stringify(name)} → ${id}`);
  }
  assert.deepEqual(offList, []);
});

// ---------------------------------------------------------------------------------------------
// normalizeLicense / normalizeLicenses

test('normalizeLicense: ids and expressions', () => {
  assert.equal(normalizeLicense('mit'), 'MIT');
  assert.equal(normalizeLicense(' Apache-2.0 '), 'Apache-2.0');
  assert.equal(normalizeLicense('MIT OR Apache-2.0'), 'MIT OR Apache-2.0');
  assert.equal(normalizeLicense('(MIT OR Apache-2.0) AND BSD-3-Clause'), '(MIT OR Apache-2.0) AND BSD-3-Clause');
  assert.equal(normalizeLicense('GPL-2.0-or-later WITH Classpath-exception-2.0'), 'GPL-2.0-or-later WITH Classpath-exception-2.0');
  assert.equal(normalizeLicense('LicenseRef-Proprietary'), 'LicenseRef-Proprietary');
});

test('normalizeLicense: prose "or"/"and" between known names becomes an expression', () => {
  const expected: Readonly<Record<string, string>> = {
    'MIT or Apache 2.0': 'MIT OR Apache-2.0',
    'mit OR apache-2.0': 'MIT OR Apache-2.0',
    '(MIT or Apache 2.0)': 'MIT OR Apache-2.0',
    'MIT and Apache 2.0': 'MIT AND Apache-2.0',
    'Expat or GPL-2+': 'MIT OR GPL-2.0-or-later',
    'GPL-1+ or Artistic': 'GPL-1.0-or-later OR Artistic-1.0-Perl',
    'GPL-2+ or Artistic-2.0 or MIT': 'GPL-2.0-or-later OR Artistic-2.0 OR MIT',
  };
  for (const [prose, expression] of Object.entries(expected)) {
    assert.equal(normalizeLicense(prose), expression, prose);
    assert.ok(isSpdxExpression(expression));
  }
});

test('normalizeLicense: operators of an expression come out in upper case (SPDX Annex D.2 forbids mixed case; writers match upper case)', () => {
  // spdx-expression-parse accepts `or`, `Or`, `with` ... so these are "expressions" already, and are kept as given today.
  const expected: Readonly<Record<string, string>> = {
    'MIT or Apache-2.0': 'MIT OR Apache-2.0',
    'MIT Or Apache-2.0': 'MIT OR Apache-2.0',
    'MIT and BSD-2-Clause': 'MIT AND BSD-2-Clause',
    'GPL-2.0-only with Classpath-exception-2.0': 'GPL-2.0-only WITH Classpath-exception-2.0',
    '(MIT or Apache-2.0) and BSD-2-Clause': '(MIT OR Apache-2.0) AND BSD-2-Clause',
  };
  const problems: string[] = [];
  for (const [input, output] of Object.entries(expected)) {
    const got = normalizeLicense(input);
    if (got !== output) problems.push(`${JSON.stringify(input)} → ${JSON.stringify(got)} (want ${JSON.stringify(output)})`);
  }
  assert.deepEqual(problems, []);
});

test('normalizeLicense: unknown names are kept as given', () => {
  for (const name of ['Some Custom License', 'GPL', 'MIT or Some Custom License', 'GNU Library or Lesser General Public License (LGPL)', 'Copyright (c) ACME, all rights reserved', 'GPL-2+ with OpenSSL exception']) {
    assert.equal(normalizeLicense(name), name, name);
    assert.equal(normalizeLicense(`  ${name} `), name, 'trimmed');
  }
});

test('normalizeLicense: every result is a list id, a valid expression of list ids, or the statement unchanged', () => {
  const statements = [...COMMON_NAMES, 'MIT or Apache 2.0', 'GPL-2+ or Artistic', 'Some Custom License', 'MIT OR Apache-2.0', 'GPL-2.0-or-later WITH Classpath-exception-2.0', 'BSD or GPLv2+'];
  const problems: string[] = [];
  for (const s of statements) {
    const out = normalizeLicense(s);
    if (out === s.trim() && !LIST.has(out) && !isSpdxExpression(out)) continue; // kept as given
    if (LIST.has(out)) continue;
    let tree: parseSpdxExpression.Info;
    try {
      tree = parseSpdxExpression(out);
    } catch {
      problems.push(`${JSON.stringify(s)} → ${JSON.stringify(out)}: neither an id nor an expression`);
      continue;
    }
    const walk = (n: parseSpdxExpression.Info): void => {
      if ('license' in n) {
        if (!LIST.has(n.license)) problems.push(`${JSON.stringify(s)} → ${out}: ${n.license} is not on the SPDX list`);
        if (n.exception !== undefined && !EXCEPTIONS.has(n.exception)) problems.push(`${JSON.stringify(s)} → ${out}: ${n.exception} is not an SPDX exception`);
      } else {
        walk(n.left);
        walk(n.right);
      }
    };
    walk(tree);
  }
  assert.deepEqual(problems, []);
});

test('normalizeLicenses: normalizes, de-duplicates, drops empty statements, keeps order', () => {
  assert.deepEqual(normalizeLicenses(['mit', 'MIT License', 'Expat', ' ', '', 'Apache 2.0', 'MIT', 'Some Custom License', 'apache-2.0']), ['MIT', 'Apache-2.0', 'Some Custom License']);
  assert.deepEqual(normalizeLicenses(['GPL-2+', 'LGPL-2.1+', 'GPL-2.0-or-later']), ['GPL-2.0-or-later', 'LGPL-2.1-or-later']);
  assert.deepEqual(normalizeLicenses([]), []);
  assert.deepEqual(normalizeLicenses(new Set(['BSD-3-clause'])), ['BSD-3-Clause']);
});

test('isSpdxExpression: accepts list ids and expressions, rejects prose', () => {
  for (const e of ['MIT', 'MIT OR Apache-2.0', '(MIT OR Apache-2.0) AND BSD-2-Clause', 'GPL-2.0-or-later WITH Classpath-exception-2.0', 'LicenseRef-foo', 'GPL-2.0+']) assert.ok(isSpdxExpression(e), e);
  for (const e of ['Some Custom License', 'MIT or Apache 2.0', 'MIT AND', '', 'NotALicense-1.0']) assert.ok(!isSpdxExpression(e), e);
});
