import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { SqlDb, SqlValue } from '../sql/db.js';

type Bindable = Exclude<SqlValue, boolean>;

/**
 * better-sqlite3 behind the async SqlDb port. The driver is synchronous, so a statement outside
 * a transaction runs to completion when called; a transaction holds an async lock so that other
 * callers' statements wait instead of landing inside it.
 */
export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private lock: Promise<void> = Promise.resolve();
  private locked = false;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 10000');
    // The scan index's rows (a term and an image, thousands per image) land all over their
    // B-trees: SQLite's 2 MB default page cache re-reads them from the OS for every image written
    // (bench:scan's re-evaluation, 300 images after a DB update that changes every advisory: 21 s
    // with 2 MB, 14 s with 64 MB).
    this.db.pragma('cache_size = -65536');
  }

  private prepare(sql: string): Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  // Each method checks `locked` and, when free, runs in the same synchronous step: an `await`
  // between the check and the statement would let a transaction begin in between.

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    while (this.locked) await this.lock;
    return this.allNow<T>(sql, params);
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    while (this.locked) await this.lock;
    return this.getNow<T>(sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.locked) await this.lock;
    return this.runNow(sql, params);
  }

  allNow<T>(sql: string, params: readonly SqlValue[]): T[] {
    const st = this.prepare(sql);
    return (st.reader ? st.all(...bind(params)) : (st.run(...bind(params)), [])) as T[];
  }

  getNow<T>(sql: string, params: readonly SqlValue[]): T | undefined {
    return this.prepare(sql).get(...bind(params)) as T | undefined;
  }

  runNow(sql: string, params: readonly SqlValue[]): number {
    return this.prepare(sql).run(...bind(params)).changes;
  }

  /** Runs DDL (several statements). */
  exec(sql: string): void {
    this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    while (this.locked) await this.lock;
    let release!: () => void;
    this.locked = true;
    this.lock = new Promise<void>((r) => (release = r));
    const tx = new SqliteTx(this);
    try {
      this.runNow('BEGIN IMMEDIATE', []);
      try {
        const out = await fn(tx);
        this.runNow('COMMIT', []);
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.runNow('ROLLBACK', []);
        throw err;
      }
    } finally {
      tx.closed = true;
      this.locked = false;
      release();
    }
  }

  async close(): Promise<void> {
    while (this.locked) await this.lock;
    this.db.close();
  }
}

/** The view of the database inside a transaction: statements bypass the lock the transaction holds. */
class SqliteTx implements SqlDb {
  readonly dialect = 'sqlite' as const;
  closed = false;
  constructor(private readonly owner: SqliteDb) {}

  private check(): void {
    if (this.closed) throw new Error('transaction already ended');
  }
  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.check();
    return this.owner.allNow<T>(sql, params);
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    this.check();
    return this.owner.getNow<T>(sql, params);
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    this.check();
    return this.owner.runNow(sql, params);
  }
  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
}

function bind(params: readonly SqlValue[]): Bindable[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}
