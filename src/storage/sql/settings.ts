/** Settings (key → value) and projects' server-side signing keys. */
import type { SettingsStore, SigningKeyRecord, SigningKeyStore } from '../metadata-store.js';
import type { SqlDb } from './db.js';

// ---------------------------------------------------------------- settings

export class SqlSettings implements SettingsStore {
  constructor(private readonly db: SqlDb) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))?.value;
  }

  async putIfAbsent(key: string, value: string): Promise<string> {
    await this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.get(key))!;
  }

  async put(key: string, value: string): Promise<void> {
    await this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }
}

// ---------------------------------------------------------------- project signing keys

export class SqlSigningKeys implements SigningKeyStore {
  constructor(private readonly db: SqlDb) {}

  async get(project: string): Promise<SigningKeyRecord | undefined> {
    const row = await this.db.get<{ encrypted_key: string; public_key: string; created_at: number }>(
      'SELECT k.encrypted_key, k.public_key, k.created_at FROM project_signing_keys k JOIN projects p ON p.id = k.project_id WHERE p.name = ?',
      [project],
    );
    return row === undefined ? undefined : { project, encryptedKey: row.encrypted_key, publicKey: row.public_key, createdAt: Number(row.created_at) };
  }

  async put(key: SigningKeyRecord): Promise<boolean> {
    const changed = await this.db.run(
      `INSERT INTO project_signing_keys (project_id, encrypted_key, public_key, created_at) SELECT id, ?, ?, ? FROM projects WHERE name = ?
       ON CONFLICT (project_id) DO UPDATE SET encrypted_key = excluded.encrypted_key, public_key = excluded.public_key, created_at = excluded.created_at`,
      [key.encryptedKey, key.publicKey, key.createdAt, key.project],
    );
    return changed > 0;
  }

  async delete(project: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM project_signing_keys WHERE project_id = (SELECT id FROM projects WHERE name = ?)', [project])) > 0;
  }
}
