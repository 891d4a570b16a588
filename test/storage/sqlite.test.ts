import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openSqliteMetadataStore, SqliteDb, StorageError } from '../../src/storage/index.js';
import { MIGRATIONS } from '../../src/storage/sql/schema.js';
import { tempDir } from '../helpers/env.js';
import { auditStoreContract } from './audit.contract.js';
import { metadataStoreContract } from './metadata-store.contract.js';
import { webhookStoreContract } from './webhooks.contract.js';

metadataStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sqlite-'));
  const store = await openSqliteMetadataStore(join(dir, 'meta', 'portcullis.db'));
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

auditStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sqlite-'));
  const path = join(dir, 'portcullis.db');
  const [store, raw] = [await openSqliteMetadataStore(path), new SqliteDb(path)];
  return { store, raw, replica: { kind: 'sqlite', path }, close: async () => (await Promise.all([store.close(), raw.close()]), rmSync(dir, { recursive: true, force: true })) };
});

webhookStoreContract('SQLite', async () => {
  const store = await openSqliteMetadataStore(':memory:');
  return { store, close: () => store.close() };
});

describe('SQLite metadata store: opening and migrations', () => {
  test('opening the same database again runs migrations idempotently and keeps the data', async (t) => {
    const path = join(tempDir(t), 'nested', 'dir', 'portcullis.db');
    const first = await openSqliteMetadataStore(path);
    await first.users.create({ username: 'amy', email: null, admin: true, passwordHash: 'h', now: 1 });
    await first.close();

    const second = await openSqliteMetadataStore(path);
    // A third handle while the second is still open: migrating again must be a no-op.
    const third = await openSqliteMetadataStore(path);
    try {
      assert.equal((await second.users.get('amy'))?.admin, true);
      assert.equal(await third.users.count(), 1);
    } finally {
      await third.close();
      await second.close();
    }

    const db = new SqliteDb(path);
    try {
      const versions = await db.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        versions.map((v) => v.version),
        MIGRATIONS.map((_, i) => i + 1),
      );
    } finally {
      await db.close();
    }
  });

  test('a database migrated by a newer build is SCHEMA_TOO_NEW', async (t) => {
    const path = join(tempDir(t), 'portcullis.db');
    await (await openSqliteMetadataStore(path)).close();
    const db = new SqliteDb(path);
    await db.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [MIGRATIONS.length + 1, Date.now()]);
    await db.close();
    await assert.rejects(openSqliteMetadataStore(path), (err: unknown) => {
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(err.code, 'SCHEMA_TOO_NEW');
      return true;
    });
  });

  test('an in-memory database works', async () => {
    const store = await openSqliteMetadataStore(':memory:');
    try {
      await store.settings.put('k', 'v');
      assert.equal(await store.settings.get('k'), 'v');
    } finally {
      await store.close();
    }
  });
});
