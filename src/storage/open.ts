import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FsBlobStore, FsUploadStore } from './fs/blob-store.js';
import { StorageError } from './errors.js';
import { PostgresDb, type PostgresOptions } from './postgres/database.js';
import { SqliteDb } from './sqlite/database.js';
import { SqlMetadataStore, migrate } from './sql/metadata-store.js';

export async function openSqliteMetadataStore(path: string): Promise<SqlMetadataStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new SqliteDb(path);
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return new SqlMetadataStore(db);
}

export async function openPostgresMetadataStore(options: PostgresOptions): Promise<SqlMetadataStore> {
  const db = new PostgresDb(options);
  try {
    await db.ensureSchema();
    await migrate(db);
  } catch (err) {
    await db.close();
    if (err instanceof StorageError) throw err;
    throw new StorageError('UNAVAILABLE', `cannot open PostgreSQL metadata store (${redactUrl(options.url)}): ${(err as Error).message}`, { cause: err });
  }
  return new SqlMetadataStore(db);
}

export async function openFsBlobStorage(root: string): Promise<{ blobs: FsBlobStore; uploads: FsUploadStore }> {
  const blobs = new FsBlobStore(root);
  await blobs.init();
  const uploads = new FsUploadStore(blobs);
  await uploads.init();
  return { blobs, uploads };
}

/** A connection URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}
