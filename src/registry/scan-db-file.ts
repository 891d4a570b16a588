import { statSync } from 'node:fs';
import { AdvisoryDb } from '../vuln/index.js';

export type DbLease = { readonly db: AdvisoryDb; release(): void } | { readonly db: undefined; readonly reason: string };

/**
 * The advisory DB file, opened once and re-opened when the file changes (a new build is renamed
 * into place: a new inode). A DB replaced while a job still reads it is closed when that job ends.
 */
export class AdvisoryDbFile {
  private current: { db: AdvisoryDb; stamp: string; users: number; retired: boolean } | undefined;

  constructor(private readonly path: string) {}

  acquire(): DbLease {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      this.retire();
      return { db: undefined, reason: `no advisory DB at ${this.path}` };
    }
    if (this.current?.stamp !== stamp) {
      this.retire();
      try {
        this.current = { db: AdvisoryDb.open(this.path), stamp, users: 0, retired: false };
      } catch (err) {
        return { db: undefined, reason: err instanceof Error ? err.message : String(err) };
      }
    }
    const entry = this.current;
    entry.users += 1;
    let released = false;
    return {
      db: entry.db,
      release: () => {
        if (released) return;
        released = true;
        entry.users -= 1;
        if (entry.retired && entry.users === 0) entry.db.close();
      },
    };
  }

  close(): void {
    this.retire();
  }

  private retire(): void {
    const e = this.current;
    if (e === undefined) return;
    this.current = undefined;
    e.retired = true;
    if (e.users === 0) e.db.close();
  }
}
