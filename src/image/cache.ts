/**
 * A cache of per-layer results: a layer is content-addressed, so what was learned from it once
 * holds for every image that shares it. Entries are JSON files named by a hash of their key,
 * written to a temporary name and renamed, so a reader sees a whole entry or none; an unreadable
 * entry is a miss, never an error.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface LayerCache {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

/** `$XDG_CACHE_HOME/portcullis` or `~/.cache/portcullis`: the default place (callers pass the env). */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  return join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'portcullis');
}

export class FsLayerCache implements LayerCache {
  constructor(readonly dir: string) {}

  private pathOf(key: string): string {
    const h = createHash('sha256').update(key).digest('hex');
    return join(this.dir, 'layers', h.slice(0, 2), `${h}.json`);
  }

  async get(key: string): Promise<unknown> {
    try {
      const text = await fsp.readFile(this.pathOf(key), 'utf8');
      const entry = JSON.parse(text) as { key?: unknown; value?: unknown };
      return entry.key === key ? entry.value : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, value: unknown): Promise<void> {
    const path = this.pathOf(key);
    const dir = join(path, '..');
    await fsp.mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomUUID()}`);
    try {
      await fsp.writeFile(tmp, JSON.stringify({ key, value }), { mode: 0o644 });
      await fsp.rename(tmp, path);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }
}

/** No cache: `--no-cache`. */
export const NO_CACHE: LayerCache = {
  get: () => Promise.resolve(undefined),
  put: () => Promise.resolve(),
};
