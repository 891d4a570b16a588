/**
 * The rpm cataloger against databases written by real tools: rpmbuild builds small packages, rpm
 * installs them into an SQLite rpmdb, Berkeley DB's db5.3_load writes the same header blobs into
 * a hash `Packages` file that rpm's own bdb_ro backend then reads back, and `rpm -qa` is the
 * ground truth. Debian's rpm cannot write ndb, so that file is built here following rpm's
 * lib/backend/ndb/rpmpkg.c, from the same rpm-written headers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { fileFromBytes, normalizeLicense, type Finding, type RawPackage } from '../../../src/sbom/index.js';
import { rpmCataloger } from '../../../src/sbom/catalogers/rpm.js';
import { readRpmHeader } from '../../../src/sbom/catalogers/rpm-header.js';
import { requireTools } from '../../helpers/env.js';

const TOOLS = ['rpm', 'rpmbuild', 'db5.3_load'];
const KEY = new URL('../../../../test/fixtures/sbom/os/rpm-pubkey.asc', import.meta.url);

const SPECS: Readonly<Record<string, string>> = {
  // An epoch, a vendor, noarch, an SPDX license expression.
  hello: `Name: hello-epoch
Version: 1.2.3
Release: 4.el9
Epoch: 2
Summary: A tiny test package
License: GPL-2.0-or-later AND MIT
Vendor: Portcullis Test
BuildArch: noarch
%description
Tiny.
%files
`,
  // A binary package whose source package has another name; old Fedora license names; the build arch.
  multi: `Name: multi
Version: 1.0
Release: 3.fc40
Summary: Main package
License: GPLv2+ and LGPLv2+
%description
Main.
%package -n libmulti1
Summary: Library subpackage
%description -n libmulti1
Lib.
%files
%files -n libmulti1
`,
  // Dashes in the source name; a tilde version; 400 files make a ~60 KB header (long overflow chains).
  big: `Name: python-big-files
Version: 0.9.1~rc1
Release: 0.1
Epoch: 0
Summary: Many files
License: MIT
BuildArch: noarch
%description
Many files.
%package -n python3-big-files
Summary: Many files, python 3
%description -n python3-big-files
Many files.
%install
mkdir -p %{buildroot}/usr/share/bigfiles
for i in $(seq 1 400); do echo $i > %{buildroot}/usr/share/bigfiles/file-with-a-long-name-$i.txt; done
%files -n python3-big-files
/usr/share/bigfiles
`,
};

const QUERY = '%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\t%{VENDOR}\\n';

interface Fixture {
  readonly dir: string;
  readonly sqlite: Buffer;
  /** The header blobs rpm stored, by header number. */
  readonly blobs: readonly { readonly hnum: number; readonly blob: Buffer }[];
  /** `rpm -qa` rows of the real packages (gpg-pubkey entries left out), sorted. */
  readonly expected: readonly string[];
}

let fixture: Fixture | undefined;
const root = mkdtempSync(join(tmpdir(), 'portcullis-rpm-'));
after(() => rmSync(root, { recursive: true, force: true }));

function rpmQuery(dbpath: string, ...defines: string[]): string[] {
  return execFileSync('rpm', ['--dbpath', dbpath, ...defines.flatMap((d) => ['--define', d]), '-qa', '--qf', QUERY], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .filter((l) => l !== '');
}

/** Builds the packages and the SQLite rpmdb once for all tests. */
function build(): Fixture {
  if (fixture !== undefined) return fixture;
  const top = join(root, 'top');
  for (const [name, spec] of Object.entries(SPECS)) {
    writeFileSync(join(root, `${name}.spec`), spec);
    execFileSync('rpmbuild', ['--quiet', '--define', `_topdir ${top}`, '--define', 'debug_package %{nil}', '--define', '_build_id_links none', '-bb', join(root, `${name}.spec`)], { stdio: 'ignore' });
  }
  const rpms = readdirSync(join(top, 'RPMS'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.rpm'))
    .map((f) => join(top, 'RPMS', f));
  assert.equal(rpms.length, 4, rpms.join(' '));
  const db = join(root, 'sqlite');
  mkdirSync(db);
  execFileSync('rpm', ['--dbpath', db, '--define', '_db_backend sqlite', '--justdb', '--nodeps', '--noscripts', '-i', ...rpms], { stdio: 'ignore' });
  // Imported signing keys are gpg-pubkey pseudo-packages in the rpmdb.
  execFileSync('rpm', ['--dbpath', db, '--import', KEY.pathname], { stdio: 'ignore' });
  const rows = rpmQuery(db);
  assert.ok(rows.some((r) => r.startsWith('gpg-pubkey\t')), 'the key import made no gpg-pubkey entry');
  const handle = new Database(join(db, 'rpmdb.sqlite'), { readonly: true });
  const blobs = handle.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all() as { hnum: number; blob: Buffer }[];
  handle.close();
  fixture = {
    dir: root,
    sqlite: readFileSync(join(db, 'rpmdb.sqlite')),
    blobs,
    expected: rows.filter((r) => !r.startsWith('gpg-pubkey\t')).sort(),
  };
  return fixture;
}

/** A cataloged package in the columns of QUERY. */
function row(p: RawPackage): string {
  const dash = p.version.lastIndexOf('-');
  const license = p.licenses?.[0] ?? '(none)';
  return [p.name, p.epoch ?? '(none)', p.version.slice(0, dash), p.version.slice(dash + 1), p.arch ?? '(none)', '', license, p.properties?.['vendor'] ?? '(none)'].join('\t');
}

/** rpm's row with SOURCERPM blanked and the license normalized, to compare with `row`. */
function expectedRow(r: string): string {
  const cols = r.split('\t');
  return [...cols.slice(0, 5), '', normalizeLicense(cols[6]!), cols[7]].join('\t');
}

/** The source package an rpm row names, split from SOURCERPM here independently of the cataloger. */
function expectedSource(r: string): { name: string; version: string } {
  const m = /^(.+)-([^-]+)-([^-]+)\.src\.rpm$/.exec(r.split('\t')[5]!);
  assert.ok(m !== null, r);
  return { name: m[1]!, version: `${m[2]!}-${m[3]!}` };
}

async function catalog(path: string, bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  assert.ok(rpmCataloger.wants(path, bytes.byteLength, 0o644), path);
  const warnings: string[] = [];
  const findings: readonly Finding[] = await rpmCataloger.parse(fileFromBytes(path, bytes), { warn: (m) => warnings.push(m) });
  return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
}

function assertMatchesRpm(packages: readonly RawPackage[], expected: readonly string[]): void {
  assert.deepEqual(packages.map(row).sort(), expected.map(expectedRow).sort());
  for (const r of expected) {
    const name = r.split('\t')[0]!;
    const p = packages.find((x) => x.name === name);
    assert.deepEqual(p?.source, expectedSource(r), name);
    assert.equal(p?.type, 'rpm');
  }
}

test('rpmdb.sqlite (WAL mode, as rpm leaves it) matches rpm -qa', async (t) => {
  if (!requireTools(t, ...TOOLS)) return;
  const f = build();
  assert.equal(f.sqlite[18], 2, 'rpm no longer writes WAL mode: the read path for it is untested');
  const { packages, warnings } = await catalog('var/lib/rpm/rpmdb.sqlite', f.sqlite);
  assert.deepEqual(warnings, []);
  assertMatchesRpm(packages, f.expected);
  // Spot checks of what the columns above do not show.
  assert.deepEqual(packages.find((p) => p.name === 'hello-epoch'), {
    type: 'rpm',
    name: 'hello-epoch',
    version: '1.2.3-4.el9',
    epoch: 2,
    arch: 'noarch',
    source: { name: 'hello-epoch', version: '1.2.3-4.el9' },
    licenses: ['GPL-2.0-or-later AND MIT'],
    properties: { vendor: 'Portcullis Test' },
  });
  assert.deepEqual(packages.find((p) => p.name === 'libmulti1')?.licenses, ['GPL-2.0-or-later AND LGPL-2.0-or-later']);
  assert.deepEqual(packages.find((p) => p.name === 'python3-big-files')?.source, { name: 'python-big-files', version: '0.9.1~rc1-0.1' });
  // The cataloger's input buffer is left as it was (the WAL flag is patched on a copy).
  assert.equal(f.sqlite[18], 2);
});

/** A BDB hash dump (db_dump's bytevalue format) of the blobs, with rpm's record 0 (the last header number). */
function bdbDump(blobs: Fixture['blobs'], pageSize: number, bigEndian: boolean): string {
  const key = (n: number): string => {
    const b = Buffer.alloc(4);
    if (bigEndian) b.writeUInt32BE(n);
    else b.writeUInt32LE(n);
    return b.toString('hex');
  };
  const lines = ['VERSION=3', 'format=bytevalue', 'type=hash', `db_pagesize=${pageSize}`, `db_lorder=${bigEndian ? 4321 : 1234}`, 'HEADER=END'];
  lines.push(` ${key(0)}`, ` ${key(Math.max(...blobs.map((b) => b.hnum)))}`);
  for (const { hnum, blob } of blobs) lines.push(` ${key(hnum)}`, ` ${blob.toString('hex')}`);
  lines.push('DATA=END', '');
  return lines.join('\n');
}

function bdbPackages(t: TestContext, f: Fixture, pageSize: number, bigEndian: boolean): { dir: string; bytes: Buffer } {
  const dir = join(f.dir, `bdb-${pageSize}-${bigEndian ? 'be' : 'le'}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dump'), bdbDump(f.blobs, pageSize, bigEndian));
  execFileSync('db5.3_load', ['-f', join(dir, 'dump'), join(dir, 'Packages')], { stdio: 'ignore' });
  return { dir, bytes: readFileSync(join(dir, 'Packages')) };
}

test('Berkeley DB Packages in both byte orders and several page sizes match rpm -qa (bdb_ro)', async (t) => {
  if (!requireTools(t, ...TOOLS)) return;
  const f = build();
  // 512: every header spans overflow pages; 65536: the small headers sit on the hash page itself.
  for (const pageSize of [512, 4096, 65536]) {
    for (const bigEndian of [false, true]) {
      const { dir, bytes } = bdbPackages(t, f, pageSize, bigEndian);
      const label = `${pageSize} ${bigEndian ? 'big' : 'little'}-endian`;
      // rpm itself reads this file as it reads the SQLite database.
      assert.deepEqual(rpmQuery(dir, '_db_backend bdb_ro').filter((r) => !r.startsWith('gpg-pubkey\t')).sort(), f.expected, label);
      const { packages, warnings } = await catalog('usr/lib/sysimage/rpm/Packages', bytes);
      assert.deepEqual(warnings, [], label);
      assertMatchesRpm(packages, f.expected);
    }
  }
});

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const x of bytes) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * An ndb Packages.db as rpmpkg.c writes it: header, slot pages (one slot left free, as a removed
 * package leaves it), then each blob in 16-byte blocks with its head and tail.
 */
function ndbFile(blobs: Fixture['blobs'], slotPages = 2): Buffer {
  const PAGE = 4096;
  const out: Buffer[] = [];
  const slots = Buffer.alloc(slotPages * PAGE);
  slots.write('RpmP', 0, 'latin1');
  slots.writeUInt32LE(0, 4);
  slots.writeUInt32LE(17, 8);
  slots.writeUInt32LE(slotPages, 12);
  slots.writeUInt32LE(Math.max(...blobs.map((b) => b.hnum)) + 1, 16);
  for (let o = 32; o < slots.length; o += 16) slots.write('Slot', o, 'latin1');
  out.push(slots);
  let block = (slotPages * PAGE) / 16;
  let slot = 32 + 16;
  // Written last blob first, so slot order and file order differ as they do after updates.
  for (const { hnum, blob } of [...blobs].reverse()) {
    const count = Math.ceil((16 + blob.length + 12) / 16);
    slots.writeUInt32LE(hnum, slot + 4);
    slots.writeUInt32LE(block, slot + 8);
    slots.writeUInt32LE(count, slot + 12);
    slot += 16;
    const region = Buffer.alloc(count * 16);
    region.write('BlbS', 0, 'latin1');
    region.writeUInt32LE(hnum, 4);
    region.writeUInt32LE(1700000000, 8);
    region.writeUInt32LE(blob.length, 12);
    blob.copy(region, 16);
    const tail = region.length - 12;
    region.writeUInt32LE(adler32(region.subarray(0, tail)), tail);
    region.writeUInt32LE(blob.length, tail + 4);
    region.write('BlbE', tail + 8, 'latin1');
    out.push(region);
    block += count;
  }
  return Buffer.concat(out);
}

test('ndb Packages.db (rpmpkg.c layout, rpm-written headers) matches rpm -qa', async (t) => {
  if (!requireTools(t, ...TOOLS)) return;
  const f = build();
  const { packages, warnings } = await catalog('var/lib/rpm/Packages.db', ndbFile(f.blobs));
  assert.deepEqual(warnings, []);
  assertMatchesRpm(packages, f.expected);
});

test('wants the three database files in the three rpm directories only', () => {
  for (const dir of ['var/lib/rpm', 'usr/lib/sysimage/rpm', 'usr/share/rpm']) {
    for (const file of ['Packages', 'Packages.db', 'rpmdb.sqlite']) assert.ok(rpmCataloger.wants(`${dir}/${file}`, 1, 0o644), `${dir}/${file}`);
  }
  for (const p of ['var/lib/rpm/Name', 'var/lib/rpm/Index.db', 'var/lib/rpm/rpmdb.sqlite-wal', 'var/lib/rpm/__db.001', 'x/var/lib/rpm/Packages']) {
    assert.ok(!rpmCataloger.wants(p, 1, 0o644), p);
  }
});

/** Deterministic pseudo-random bytes. */
function junk(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

test('an SQLite file whose Packages is an endless view is refused, not read forever', async () => {
  const db = new Database(':memory:');
  db.exec("CREATE VIEW Packages AS WITH RECURSIVE c(hnum, blob) AS (SELECT 1, x'00' UNION ALL SELECT hnum + 1, blob FROM c) SELECT hnum, blob FROM c");
  const bytes = db.serialize();
  db.close();
  const { packages, warnings } = await catalog('var/lib/rpm/rpmdb.sqlite', bytes);
  assert.deepEqual(packages, []);
  assert.match(warnings.join('\n'), /no Packages table/);
});

test('corrupt headers in the SQLite database are warnings; the other packages stay', async (t) => {
  if (!requireTools(t, ...TOOLS)) return;
  const f = build();
  const path = join(f.dir, 'corrupt.sqlite');
  writeFileSync(path, f.sqlite);
  const db = new Database(path);
  const [first, second, third] = f.blobs;
  assert.ok(first !== undefined && second !== undefined && third !== undefined);
  // A huge index count; an entry offset past the data; a header cut short.
  const huge = Buffer.from(first.blob);
  huge.writeUInt32BE(0x7fffffff, 0);
  const offset = Buffer.from(second.blob);
  for (let i = 0; i < offset.readUInt32BE(0); i++) offset.writeInt32BE(0x7ffffff0, 8 + i * 16 + 8);
  db.prepare('UPDATE Packages SET blob = ? WHERE hnum = ?').run(huge, first.hnum);
  db.prepare('UPDATE Packages SET blob = ? WHERE hnum = ?').run(offset, second.hnum);
  db.prepare('UPDATE Packages SET blob = ? WHERE hnum = ?').run(third.blob.subarray(0, 100), third.hnum);
  db.close();
  const { packages, warnings } = await catalog('var/lib/rpm/rpmdb.sqlite', readFileSync(path));
  assert.equal(warnings.length, 3, warnings.join('\n'));
  const broken = new Set([first, second, third].map((b) => readRpmHeader(b.blob).name));
  assertMatchesRpm(
    packages,
    f.expected.filter((r) => !broken.has(r.split('\t')[0])),
  );
});

test('truncated and garbage databases of every format warn and never throw', async (t) => {
  if (!requireTools(t, ...TOOLS)) return;
  const f = build();
  const bdb = bdbPackages(t, f, 512, false).bytes;
  const ndb = ndbFile(f.blobs);
  for (const [name, bytes] of [
    ['sqlite', f.sqlite],
    ['bdb', bdb],
    ['ndb', ndb],
  ] as const) {
    for (const fraction of [0, 0.01, 0.3, 0.5, 0.9]) {
      const cut = bytes.subarray(0, Math.floor(bytes.length * fraction));
      const { packages, warnings } = await catalog('var/lib/rpm/Packages', cut);
      assert.ok(warnings.length >= 1 && warnings.length <= 21, `${name} cut at ${fraction}: ${warnings.length} warnings`);
      for (const p of packages) assert.ok(f.expected.some((r) => r.startsWith(`${p.name}\t`)), `${name}: ${p.name}`);
    }
    // The magic kept, the rest garbage.
    const garbled = Buffer.concat([bytes.subarray(0, 64), junk(bytes.length - 64, 7)]);
    // Random pages may all look unused to the BDB reader: no warning is promised, only no throw and no flood.
    const { warnings } = await catalog('var/lib/rpm/Packages', garbled);
    assert.ok(warnings.length <= 21, `${name} garbled: ${warnings.length} warnings`);
  }
  const { packages, warnings } = await catalog('var/lib/rpm/Packages', junk(100_000, 3));
  assert.deepEqual(packages, []);
  assert.equal(warnings.length, 1);
});

/** A little-endian BDB hash file by hand: meta page, one hash page, and the given overflow pages. */
function handmadeBdb(overflow: readonly { readonly next: number; readonly data: Buffer }[], total: number): Buffer {
  const PAGE = 512;
  const file = Buffer.alloc(PAGE * (2 + overflow.length));
  file.writeUInt32LE(0x061561, 12);
  file.writeUInt32LE(9, 16);
  file.writeUInt32LE(PAGE, 20);
  file[25] = 8; // P_HASHMETA
  file.writeUInt32LE(1 + overflow.length, 32);
  // Page 1: one pair, key 4 bytes on the page, value off-page starting at page 2.
  const hash = PAGE;
  file.writeUInt32LE(1, hash + 8);
  file.writeUInt16LE(2, hash + 20);
  file[hash + 25] = 13; // P_HASH
  const keyOff = PAGE - 5;
  const valueOff = keyOff - 12;
  file.writeUInt16LE(keyOff, hash + 26);
  file.writeUInt16LE(valueOff, hash + 28);
  file[hash + keyOff] = 1; // H_KEYDATA
  file.writeUInt32LE(1, hash + keyOff + 1);
  file[hash + valueOff] = 3; // H_OFFPAGE
  file.writeUInt32LE(2, hash + valueOff + 4);
  file.writeUInt32LE(total, hash + valueOff + 8);
  overflow.forEach(({ next, data }, i) => {
    const base = PAGE * (2 + i);
    file.writeUInt32LE(2 + i, base + 8);
    file.writeUInt32LE(next, base + 16);
    file.writeUInt16LE(data.length, base + 22);
    file[base + 25] = 7; // P_OVERFLOW
    data.copy(file, base + 26);
  });
  return file;
}

test('a Berkeley DB overflow chain that loops or leaves the file is a warning, not a hang', async (t) => {
  if (!requireTools(t, ...TOOLS)) return;
  const blob = [...build().blobs].sort((a, b) => a.blob.length - b.blob.length)[0]!.blob;
  const chunks: Buffer[] = [];
  for (let o = 0; o < blob.length; o += 480) chunks.push(blob.subarray(o, o + 480));
  const chain = (last: number): { next: number; data: Buffer }[] => chunks.map((data, i) => ({ next: i === chunks.length - 1 ? last : 3 + i, data }));
  // The handmade file is sound: it yields the package.
  assert.equal((await catalog('var/lib/rpm/Packages', handmadeBdb(chain(0), blob.length))).packages.length, 1);
  // The last page points back to the first, and the value claims more bytes than the chain holds.
  const looped = await catalog('var/lib/rpm/Packages', handmadeBdb(chain(2), blob.length + 480));
  assert.deepEqual(looped.packages, []);
  assert.match(looped.warnings.join('\n'), /loops at page 2/);
  const away = await catalog('var/lib/rpm/Packages', handmadeBdb(chain(999), blob.length + 480));
  assert.match(away.warnings.join('\n'), /outside the file/);
});

test('header parsing: dribble entries replace region entries; bad entries are errors', async (t) => {
  if (!requireTools(t, ...TOOLS)) return;
  const blob = build().blobs.find((b) => readRpmHeader(b.blob).name === 'hello-epoch')!.blob;
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  // Append a dribble entry for NAME (1000) pointing at a new string after the data.
  const name = Buffer.from('renamed\0');
  const grown = Buffer.alloc(8 + (il + 1) * 16 + dl + name.length);
  grown.writeUInt32BE(il + 1, 0);
  grown.writeUInt32BE(dl + name.length, 4);
  blob.copy(grown, 8, 8, 8 + il * 16);
  const entry = 8 + il * 16;
  grown.writeInt32BE(1000, entry);
  grown.writeUInt32BE(6, entry + 4);
  grown.writeInt32BE(dl, entry + 8);
  grown.writeUInt32BE(1, entry + 12);
  blob.copy(grown, entry + 16, 8 + il * 16);
  name.copy(grown, entry + 16 + dl);
  assert.equal(readRpmHeader(grown).name, 'renamed');
  // A string without its terminating NUL at the very end of the data.
  const unterminated = Buffer.from(grown.subarray(0, grown.length - 1));
  unterminated.writeUInt32BE(dl + name.length - 1, 4);
  assert.throws(() => readRpmHeader(unterminated), /runs past the data/);
  assert.throws(() => readRpmHeader(blob.subarray(0, 7)), /too short/);
  const hugeData = Buffer.from(blob);
  hugeData.writeUInt32BE(0xffffffff, 4);
  assert.throws(() => readRpmHeader(hugeData), /data bytes/);
});
