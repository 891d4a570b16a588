import pg from 'pg';
import type { SqlDb, SqlValue } from '../sql/db.js';

const RETRYABLE = new Set(['40001', '40P01']);

/** Parse BIGINT (int8) as a JS number: our BIGINTs are millisecond times and sizes, far below 2^53. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PostgresOptions {
  readonly url: string;
  /** Schema holding Portcullis' tables; created when absent. */
  readonly schema: string;
  readonly maxConnections?: number;
}

/** node-postgres behind the SqlDb port, on a pool whose connections all use `schema`. */
export class PostgresDb implements SqlDb {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  readonly schema: string;

  constructor(options: PostgresOptions) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`invalid PostgreSQL schema name "${options.schema}"`);
    this.schema = options.schema;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      options: `-c search_path=${options.schema}`,
      types,
    });
    // An idle client's error (server restart) must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  async ensureSchema(): Promise<void> {
    const client = new pg.Client({ connectionString: (this.pool.options as { connectionString: string }).connectionString });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    } catch (err) {
      // Another replica created it at the same moment: IF NOT EXISTS is not atomic in PostgreSQL.
      const code = (err as { code?: string }).code;
      if (code !== '23505' && code !== '42P06') throw err;
    } finally {
      await client.end();
    }
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.pool.query(renumber(sql), params as unknown[])).rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.pool.query(renumber(sql), params as unknown[])).rowCount ?? 0;
  }

  async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const tx = new PostgresTx(client);
      try {
        await client.query('BEGIN');
        const out = await fn(tx);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (attempt < 5 && RETRYABLE.has((err as { code?: string }).code ?? '')) continue;
        throw err;
      } finally {
        tx.closed = true;
        client.release();
      }
    }
  }

  /** Runs DDL (several statements) outside any transaction. */
  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class PostgresTx implements SqlDb {
  readonly dialect = 'postgres' as const;
  closed = false;
  constructor(private readonly client: pg.PoolClient) {}

  private check(): void {
    if (this.closed) throw new Error('transaction already ended');
  }
  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.check();
    return (await this.client.query(renumber(sql), params as unknown[])).rows as T[];
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    this.check();
    return (await this.client.query(renumber(sql), params as unknown[])).rowCount ?? 0;
  }
  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
}

const cache = new Map<string, string>();

/** `?` → `$1, $2, …`. Our SQL has no `?` inside string literals. */
function renumber(sql: string): string {
  let out = cache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    cache.set(sql, out);
  }
  return out;
}
