import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

/**
 * Credentials in the Docker client's config file ($DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json): `auths` entries, and credential helpers (`credsStore`, `credHelpers`)
 * run as `docker-credential-<name>` the way docker does.
 */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
}

function readConfig(path: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch (err) {
    throw new CliError('FAILED', `${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The registry key Docker uses: host[:port], no scheme or path. */
export function registryKey(server: string): string {
  return server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

function helper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${name}`, [action], { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin?.end(input);
  });
}

export async function lookupCredentials(server: string, path = dockerConfigPath()): Promise<Credentials | undefined> {
  const key = registryKey(server);
  const config = readConfig(path);
  const helperName = config.credHelpers?.[key] ?? config.credsStore;
  if (helperName !== undefined) {
    try {
      const out = JSON.parse(await helper(helperName, 'get', key)) as { Username?: string; Secret?: string };
      if (out.Username !== undefined && out.Secret !== undefined) return { username: out.Username, password: out.Secret };
    } catch {
      // docker too falls back to the auths entry when the helper has nothing
    }
  }
  const entry = config.auths?.[key] ?? config.auths?.[`https://${key}`] ?? config.auths?.[`http://${key}`];
  if (entry === undefined) return undefined;
  if (entry.auth !== undefined) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/** Stores credentials: in the configured helper, else in `auths` (file written atomically, mode 0600). */
export async function storeCredentials(server: string, creds: Credentials, path = dockerConfigPath()): Promise<void> {
  const key = registryKey(server);
  const config = readConfig(path);
  const helperName = config.credHelpers?.[key] ?? config.credsStore;
  if (helperName !== undefined) {
    await helper(helperName, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }));
    return;
  }
  config.auths = { ...config.auths, [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  writeConfig(path, config);
}

export async function eraseCredentials(server: string, path = dockerConfigPath()): Promise<boolean> {
  const key = registryKey(server);
  const config = readConfig(path);
  const helperName = config.credHelpers?.[key] ?? config.credsStore;
  if (helperName !== undefined) await helper(helperName, 'erase', key).catch(() => undefined);
  if (config.auths?.[key] === undefined) return helperName !== undefined;
  delete config.auths[key];
  writeConfig(path, config);
  return true;
}

function writeConfig(path: string, config: DockerConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
