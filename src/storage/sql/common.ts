/** Helpers shared by the SQL stores. */
import type { Visibility } from '../metadata-store.js';
import type { SqlDb, SqlValue } from './db.js';

export const bool = (v: unknown): boolean => v === 1 || v === true || v === '1';
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
export const forShare = (db: SqlDb, table: string): string => (db.dialect === 'postgres' ? ` FOR SHARE OF ${table}` : '');
export const forUpdate = (db: SqlDb): string => (db.dialect === 'postgres' ? ' FOR UPDATE' : '');

export function parseJsonObject(text: string | null): Record<string, string> | null {
  return text === null ? null : (JSON.parse(text) as Record<string, string>);
}

export function visibilityClause(v: Visibility, projectAlias: string): { sql: string; params: SqlValue[] } {
  if (v.kind === 'all') return { sql: '1 = 1', params: [] };
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (v.includePublic) parts.push(`${projectAlias}.is_public = 1`);
  if (v.projects.length > 0) {
    parts.push(`${projectAlias}.name IN (${placeholders(v.projects.length)})`);
    params.push(...v.projects);
  }
  return { sql: parts.length === 0 ? '1 = 0' : `(${parts.join(' OR ')})`, params };
}

export async function repoId(db: SqlDb, name: string): Promise<number | undefined> {
  return (await db.get<{ id: number }>('SELECT id FROM repositories WHERE name = ?', [name]))?.id;
}
