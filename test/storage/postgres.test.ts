import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { openPostgresMetadataStore, PostgresDb, StorageError } from '../../src/storage/index.js';
import { MIGRATIONS } from '../../src/storage/sql/schema.js';
import { POSTGRES_URL, uniqueSchema } from '../helpers/env.js';
import { auditStoreContract } from './audit.contract.js';
import { metadataStoreContract } from './metadata-store.contract.js';
import { webhookStoreContract } from './webhooks.contract.js';

async function dropSchema(schema: string): Promise<void> {
  const db = new PostgresDb({ url: POSTGRES_URL, schema });
  try {
    await db.dropSchema();
  } finally {
    await db.close();
  }
}

/** A fresh schema name, dropped when the test ends. */
function schemaFor(t: TestContext): string {
  const schema = uniqueSchema();
  t.after(() => dropSchema(schema));
  return schema;
}

metadataStoreContract('PostgreSQL', async () => {
  const schema = uniqueSchema();
  const store = await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
  return {
    store,
    close: async () => {
      try {
        await store.close();
      } finally {
        await dropSchema(schema);
      }
    },
  };
});

auditStoreContract('PostgreSQL', async () => {
  const schema = uniqueSchema();
  const [store, raw] = [await openPostgresMetadataStore({ url: POSTGRES_URL, schema }), new PostgresDb({ url: POSTGRES_URL, schema })];
  return { store, raw, replica: { kind: 'postgres', url: POSTGRES_URL, schema }, close: async () => (await Promise.all([store.close(), raw.close()]), await dropSchema(schema)) };
});

webhookStoreContract('PostgreSQL', async () => {
  const schema = uniqueSchema();
  const store = await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
  return { store, close: () => store.close().finally(() => dropSchema(schema)) };
});

describe('PostgreSQL metadata store: opening and migrations', () => {
  test('opening the same schema again runs migrations idempotently and keeps the data', async (t) => {
    const schema = schemaFor(t);
    const first = await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
    await first.users.create({ username: 'amy', email: null, admin: true, passwordHash: 'h', now: 1 });
    await first.close();

    const second = await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
    const third = await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
    try {
      assert.equal((await second.users.get('amy'))?.admin, true);
      assert.equal(await third.users.count(), 1);
    } finally {
      await third.close();
      await second.close();
    }

    const db = new PostgresDb({ url: POSTGRES_URL, schema });
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

  test('replicas opening a fresh schema at the same time all succeed', async (t) => {
    // migrate() takes an advisory lock so that "one migrates, the others wait"; every opener must succeed.
    for (let round = 0; round < 3; round++) {
      const schema = schemaFor(t);
      const results = await Promise.allSettled([0, 1, 2, 3].map(() => openPostgresMetadataStore({ url: POSTGRES_URL, schema })));
      const failures: string[] = [];
      for (const r of results) {
        if (r.status === 'fulfilled') await r.value.close();
        else failures.push(String((r.reason as Error).message));
      }
      assert.deepEqual(failures, [], `round ${round}: concurrent opens failed`);
    }
  });

  test('a schema migrated by a newer build is SCHEMA_TOO_NEW', async (t) => {
    const schema = schemaFor(t);
    await (await openPostgresMetadataStore({ url: POSTGRES_URL, schema })).close();
    const db = new PostgresDb({ url: POSTGRES_URL, schema });
    try {
      await db.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [MIGRATIONS.length + 1, Date.now()]);
    } finally {
      await db.close();
    }
    await assert.rejects(openPostgresMetadataStore({ url: POSTGRES_URL, schema }), (err: unknown) => {
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(err.code, 'SCHEMA_TOO_NEW');
      return true;
    });
  });

  test('an unreachable server is UNAVAILABLE, with the password redacted', async () => {
    await assert.rejects(openPostgresMetadataStore({ url: 'postgres://someone:s3cr3t-pw@127.0.0.1:1/test', schema: uniqueSchema() }), (err: unknown) => {
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(err.code, 'UNAVAILABLE');
      assert.ok(!err.message.includes('s3cr3t-pw'), err.message);
      return true;
    });
  });

  test('an invalid schema name is refused before connecting', () => {
    assert.throws(() => new PostgresDb({ url: POSTGRES_URL, schema: 'bad; DROP SCHEMA public' }));
  });
});
