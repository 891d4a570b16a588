/**
 * The advisory DB as it travels: one gzip stream of the SQLite file, named by the stream's digest.
 * `db push` and `db pull` move it through a registry; the registry's replicas receive the DB one
 * of them built through the blob store. A DB received replaces the current one only once it is
 * whole, matches its digest and opens as a DB this build reads (an old DB stays in place otherwise).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { AdvisoryDb, type DbInfo } from './db.js';
import { VulnError } from './errors.js';

export interface PackedDb {
  /** `sha256:…` of the gzip stream. */
  readonly digest: string;
  readonly size: number;
}

/** Writes the DB at `path` gzip-compressed to `out`; resolves to the digest and size of what was written. */
export async function packAdvisoryDb(path: string, out: string): Promise<PackedDb> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    createReadStream(path),
    createGzip({ level: 6 }),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) {
        hash.update(c);
        size += c.length;
        yield c;
      }
    },
    createWriteStream(out),
  );
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export interface InstallOptions {
  /** The digest the gzip stream must have (`sha256:…` or `sha512:…`); without it the caller has verified the stream. */
  readonly digest?: string;
  /** The build the DB must be (its `builtAt`), as the record that named it says. */
  readonly builtAt?: string;
}

/**
 * Unpacks a gzip stream of a DB beside `path`, checks its digest, opens it (DB_INVALID or
 * DB_SCHEMA when this build cannot read it), then renames it over `path`; resolves to what it
 * holds. On any failure `path` is left as it was.
 */
export async function installAdvisoryDb(gz: AsyncIterable<Uint8Array>, path: string, o: InstallOptions = {}): Promise<DbInfo> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const algorithm = o.digest === undefined ? undefined : /^(sha256|sha512):[a-f0-9]+$/.exec(o.digest)?.[1];
  if (o.digest !== undefined && algorithm === undefined) throw new VulnError('DB_INVALID', `"${o.digest.slice(0, 80)}" is not a digest the DB can be checked against`);
  const hash = algorithm === undefined ? undefined : createHash(algorithm);
  try {
    await pipeline(
      gz,
      async function* (chunks: AsyncIterable<Uint8Array>) {
        for await (const c of chunks) {
          hash?.update(c);
          yield c;
        }
      },
      createGunzip(),
      createWriteStream(tmp, { flags: 'wx', mode: 0o644 }),
    );
    if (hash !== undefined) {
      const got = `${algorithm}:${hash.digest('hex')}`;
      if (got !== o.digest) throw new VulnError('DB_INVALID', `the DB received is not ${o.digest} (it hashes to ${got}): the current one is kept`);
    }
    const db = AdvisoryDb.open(tmp);
    const info = db.info;
    db.close();
    if (o.builtAt !== undefined && info.builtAt !== o.builtAt) throw new VulnError('DB_INVALID', `the DB received was built at ${info.builtAt}, not ${o.builtAt} as its record says: the current one is kept`);
    await rename(tmp, path);
    return info;
  } finally {
    await rm(tmp, { force: true });
  }
}
