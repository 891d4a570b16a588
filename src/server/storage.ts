import type { Config } from '../config/index.js';
import { openFsBlobStorage, openPostgresMetadataStore, openSqliteMetadataStore, type FsBlobStore, type FsUploadStore, type MetadataStore } from '../storage/index.js';

export interface OpenedStorage {
  readonly meta: MetadataStore;
  readonly blobs: FsBlobStore;
  readonly uploads: FsUploadStore;
}

/** Opens the metadata and blob stores the configuration names (shared by `serve` and `gc`). */
export async function openStorage(config: Config): Promise<OpenedStorage> {
  const meta =
    config.database.kind === 'postgres'
      ? await openPostgresMetadataStore({ url: config.database.url!, schema: config.database.schema, maxConnections: config.database.maxConnections })
      : await openSqliteMetadataStore(config.database.path);
  try {
    const { blobs, uploads } = await openFsBlobStorage(config.storage.path);
    return { meta, blobs, uploads };
  } catch (err) {
    await meta.close();
    throw err;
  }
}
