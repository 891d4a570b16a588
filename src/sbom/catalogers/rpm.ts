/**
 * RPM packages from the rpm database, in each of its formats, told apart by content:
 * SQLite `rpmdb.sqlite` (rpm ≥ 4.16: Fedora, RHEL 9), Berkeley DB `Packages` (RHEL 7/8,
 * Amazon Linux 2) and ndb `Packages.db` (SUSE). All three store the same header blobs.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { bytesOf, type Cataloger } from '../cataloger.js';
import { normalizeLicenses } from '../licenses.js';
import type { Finding, RawPackage } from '../model.js';
import { cappedWarnings } from './common.js';
import { bdbHashPairs } from './rpm-bdb.js';
import { readRpmHeader } from './rpm-header.js';
import { ndbBlobs } from './rpm-ndb.js';

const DIRS = ['var/lib/rpm/', 'usr/lib/sysimage/rpm/', 'usr/share/rpm/'];
const FILES = ['Packages', 'Packages.db', 'rpmdb.sqlite'];
const PATHS = new Set(DIRS.flatMap((d) => FILES.map((f) => d + f)));

const SQLITE_MAGIC = 'SQLite format 3\0';

/** A package from one header blob; undefined for gpg-pubkey entries (imported keys, not packages). */
function rpmPackageFromHeader(blob: Uint8Array): RawPackage | undefined {
  const h = readRpmHeader(blob);
  if (h.name === 'gpg-pubkey') return undefined;
  if (h.name === undefined || h.name === '' || h.version === undefined || h.version === '') throw new Error('header has no NAME or VERSION');
  // Version as rpm prints it without the epoch (VERSION-RELEASE); the epoch is a field of its own.
  const version = h.release === undefined || h.release === '' ? h.version : `${h.version}-${h.release}`;
  const source = h.sourceRpm === undefined ? undefined : parseSourceRpm(h.sourceRpm);
  const licenses = h.license === undefined ? [] : normalizeLicenses([h.license]);
  const properties: Record<string, string> = {};
  if (h.vendor !== undefined && h.vendor !== '') properties['vendor'] = h.vendor;
  if (h.modularityLabel !== undefined && h.modularityLabel !== '') properties['modularitylabel'] = h.modularityLabel;
  return {
    type: 'rpm',
    name: h.name,
    version,
    ...(h.epoch === undefined ? {} : { epoch: h.epoch }),
    ...(h.arch === undefined || h.arch === '' ? {} : { arch: h.arch }),
    ...(source === undefined ? {} : { source }),
    ...(licenses.length === 0 ? {} : { licenses }),
    ...(Object.keys(properties).length === 0 ? {} : { properties }),
  };
}

/** `bash-5.1.8-6.el9.src.rpm` → bash, 5.1.8-6.el9 (name, version and release split from the right). */
function parseSourceRpm(file: string): { name: string; version: string } | undefined {
  const base = file.replace(/\.(?:no)?src\.rpm$/, '');
  const releaseDash = base.lastIndexOf('-');
  const versionDash = releaseDash <= 0 ? -1 : base.lastIndexOf('-', releaseDash - 1);
  if (versionDash <= 0 || releaseDash === base.length - 1 || versionDash === releaseDash - 1) return undefined;
  return { name: base.slice(0, versionDash), version: base.slice(versionDash + 1) };
}

/** The header blobs of a database of any of the three formats. */
function* headerBlobs(bytes: Uint8Array, warn: (message: string) => void): Generator<Uint8Array> {
  if (bytes.byteLength >= 16 && Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('latin1') === SQLITE_MAGIC) {
    yield* sqliteBlobs(bytes);
    return;
  }
  if (bytes.byteLength >= 4 && Buffer.from(bytes.buffer, bytes.byteOffset, 4).toString('latin1') === 'RpmP') {
    yield* ndbBlobs(bytes, warn);
    return;
  }
  for (const { key, value } of bdbHashPairs(bytes, warn)) {
    // Record 0 of rpm's BDB Packages holds the last header number, not a header.
    if (key.byteLength === 4 && key.every((b) => b === 0)) continue;
    yield value;
  }
}

// better-sqlite3 (a native addon) is loaded on the first rpmdb.sqlite only.
const requireLazy = createRequire(import.meta.url);
let DatabaseCtor: typeof BetterSqlite3 | undefined;

function* sqliteBlobs(bytes: Uint8Array): Generator<Uint8Array> {
  const Database = (DatabaseCtor ??= requireLazy('better-sqlite3') as typeof BetterSqlite3);
  const copy = Buffer.from(bytes);
  // rpm keeps the database in WAL mode, which SQLite cannot open from memory; the file format is
  // otherwise the same, so mark the copy as a rollback-journal database (header bytes 18-19).
  if (copy[18] === 2 && copy[19] === 2) copy[18] = copy[19] = 1;
  const db = new Database(copy, { readonly: true });
  try {
    // Only a real table: a view (say, an endless recursive one) would make the read below never end.
    const table = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'Packages' COLLATE NOCASE").get() as { sql?: unknown } | undefined;
    if (typeof table?.sql !== 'string' || /^\s*create\s+virtual\b/i.test(table.sql)) throw new Error('no Packages table');
    for (const row of db.prepare('SELECT blob FROM Packages').iterate() as IterableIterator<{ blob: unknown }>) {
      if (row.blob instanceof Uint8Array) yield row.blob;
    }
  } finally {
    db.close();
  }
}

export const rpmCataloger: Cataloger = {
  id: 'rpm',
  version: 1,
  // Whole databases are read into memory; a few hundred packages take tens of MB.
  maxBytes: 256 * 1024 * 1024,
  wants: (path) => PATHS.has(path),
  async parse(file, ctx): Promise<readonly Finding[]> {
    const warnings = cappedWarnings(ctx);
    const warn = (m: string): void => warnings.warn(`${file.path}: ${m}`);
    const out: Finding[] = [];
    let n = 0;
    try {
      for (const blob of headerBlobs(await bytesOf(file), warn)) {
        n++;
        try {
          const p = rpmPackageFromHeader(blob);
          if (p !== undefined) out.push({ kind: 'package', package: p });
        } catch (e) {
          warn(`header ${n}: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      // SQLite refusing the file, or finding it corrupt part way: keep what was read.
      warn(`database unreadable after ${n} headers: ${(e as Error).message}`);
    }
    return out;
  },
};
