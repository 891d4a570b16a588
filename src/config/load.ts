import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { AppError } from '../shared/index.js';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends AppError<'CONFIG_INVALID'> {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
    this.name = 'ConfigError';
  }
}

/** Environment variables and the configuration key each one sets. */
export const ENV_KEYS: Readonly<Record<string, readonly string[]>> = {
  PORTCULLIS_ADDR: ['addr'],
  PORTCULLIS_DATA: ['data'],
  PORTCULLIS_REPLICA_ID: ['replicaId'],
  PORTCULLIS_EXTERNAL_URL: ['externalUrl'],
  PORTCULLIS_TLS_CERT: ['tls', 'cert'],
  PORTCULLIS_TLS_KEY: ['tls', 'key'],
  PORTCULLIS_LOG_LEVEL: ['log', 'level'],
  PORTCULLIS_DATABASE_URL: ['database', 'url'],
  PORTCULLIS_DATABASE_SCHEMA: ['database', 'schema'],
  PORTCULLIS_TOKEN_TTL: ['auth', 'tokenTtl'],
  PORTCULLIS_TRUST_PROXY: ['auth', 'trustProxy'],
  PORTCULLIS_MAX_BLOB_SIZE: ['registry', 'maxBlobSize'],
  PORTCULLIS_GC_GRACE: ['gc', 'grace'],
  PORTCULLIS_GC_INTERVAL: ['gc', 'interval'],
  PORTCULLIS_UPLOAD_TTL: ['gc', 'uploadTtl'],
  PORTCULLIS_SBOM: ['sbom', 'enabled'],
  PORTCULLIS_SCAN: ['scan', 'enabled'],
  PORTCULLIS_SCAN_DB: ['scan', 'db'],
  PORTCULLIS_SCAN_UPDATE_INTERVAL: ['scan', 'update', 'interval'],
  PORTCULLIS_SCAN_UPDATE_FEEDS: ['scan', 'update', 'feeds'],
  PORTCULLIS_JOB_MAX_MEMORY: ['jobs', 'maxMemory'],
  PORTCULLIS_JOB_TIMEOUT: ['jobs', 'timeout'],
  PORTCULLIS_SIGNING_SECRET: ['signing', 'secret'],
  PORTCULLIS_WEBHOOKS_ALLOW_PRIVATE: ['webhooks', 'allowPrivate'],
  PORTCULLIS_AUDIT_RETENTION: ['audit', 'retention'],
};

export interface ConfigSources {
  /** YAML text of the configuration file, and its path for messages. */
  readonly file?: { readonly path: string; readonly text: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line flags already parsed: `addr`, `data`. */
  readonly flags: { readonly addr?: string | undefined; readonly data?: string | undefined };
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
}

/**
 * Builds the configuration: defaults < file < environment < flags. Pure: the caller reads the
 * file and passes the environment. Any invalid value fails with one message naming its source
 * and key.
 */
export function loadConfig(sources: ConfigSources): Config {
  let raw: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  if (sources.file !== undefined) {
    let doc: unknown;
    try {
      doc = parseYaml(sources.file.text);
    } catch (err) {
      throw new ConfigError(`${sources.file.path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${sources.file.path}: expected a mapping of settings at the top level`);
      raw = doc as Record<string, unknown>;
    }
  }
  const fileName = sources.file?.path ?? 'defaults';

  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = sources.env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, path, coerceEnv(path, value));
    origin.set(path.join('.'), `environment variable ${name}`);
  }
  if (raw['database'] !== undefined || sources.env['PORTCULLIS_DATABASE_URL']) {
    const db = (raw['database'] ?? {}) as Record<string, unknown>;
    // A database URL alone selects PostgreSQL.
    if (db['url'] !== undefined && db['kind'] === undefined) db['kind'] = 'postgres';
  }
  for (const [flag, path] of [['addr', ['addr']], ['data', ['data']]] as const) {
    const value = sources.flags[flag];
    if (value === undefined) continue;
    setPath(raw, path, value);
    origin.set(path.join('.'), `flag --${flag}`);
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describe(parsed.error, origin, fileName));
  const c = parsed.data;
  if (c.database.kind === 'postgres' && c.database.url === undefined) {
    throw new ConfigError(`${fileName}: database.url: required when database.kind is postgres (or set PORTCULLIS_DATABASE_URL)`);
  }
  const data = isAbsolute(c.data) ? c.data : resolve(sources.cwd, c.data);
  const at = (p: string | undefined, fallback: string) => (p === undefined ? resolve(data, fallback) : isAbsolute(p) ? p : resolve(sources.cwd, p));
  return Object.freeze({
    ...c,
    data,
    database: { ...c.database, path: at(c.database.path, 'portcullis.db') },
    storage: { ...c.storage, path: at(c.storage.path, 'storage') },
    scan: { enabled: c.scan.enabled, maxDbAge: c.scan.maxDbAge, db: at(c.scan.db, 'advisory.db'), update: c.scan.update },
    signing: { ...(c.signing.secret !== undefined ? { secret: c.signing.secret } : {}), secretFile: at(c.signing.secretFile, 'signing.secret') },
    ...(c.tls !== undefined ? { tls: { cert: at(c.tls.cert, ''), key: at(c.tls.key, '') } } : {}),
  });
}

function describe(error: z.ZodError, origin: Map<string, string>, fileName: string): string {
  const issue = error.issues[0]!;
  let path = issue.path.map(String);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = (issue as { keys: string[] }).keys[0]!;
    path = [...path, key];
    message = 'unknown setting (check its spelling and nesting)';
  }
  const key = path.join('.') || '(top level)';
  let source = fileName;
  for (let i = path.length; i > 0; i--) {
    const o = origin.get(path.slice(0, i).join('.'));
    if (o !== undefined) {
      source = o;
      break;
    }
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return `${source}: ${key}: ${message}${more}`;
}

function coerceEnv(path: readonly string[], value: string): unknown {
  const key = path.join('.');
  if (key === 'auth.trustProxy' && /^\d+$/.test(value)) return Number(value);
  // Feed URLs hold no commas or blanks (those are percent-encoded): a list separated by either.
  if (key === 'scan.update.feeds') return value.split(/[\s,]+/).filter((u) => u !== '');
  if (key === 'auth.trustProxy' || key === 'sbom.enabled' || key === 'scan.enabled' || key === 'webhooks.allowPrivate') return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
  return value;
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path.at(-1)!] = value;
}
