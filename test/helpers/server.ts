import type { TestContext } from 'node:test';
import { loadConfig, type ConfigInput } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { silentLogger, type Logger } from '../../src/shared/index.js';
import { PostgresDb } from '../../src/storage/index.js';
import { POSTGRES_URL, tempDir, uniqueSchema } from './env.js';

export const ADMIN_PASSWORD = 'admin-password-1';

export interface TestServer {
  readonly url: string;
  /** host:port, for clients that take a registry host (skopeo, podman). */
  readonly host: string;
  readonly dataDir: string;
  readonly server: RunningServer;
  /** `Authorization` header value for the admin. */
  readonly adminAuth: string;
  /** fetch against the server with the admin's Basic credentials. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  readonly database?: 'sqlite' | 'postgres';
  /** Extra configuration (as in the YAML file). */
  readonly config?: Omit<ConfigInput, 'addr' | 'data' | 'database'>;
  readonly now?: () => number;
  readonly log?: Logger;
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * A real Portcullis on 127.0.0.1 and a free port, with its own data directory (and, for
 * PostgreSQL, its own schema), stopped and removed when the test ends.
 */
export async function startTestServer(t: TestContext, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = tempDir(t, 'portcullis-server-');
  const schema = uniqueSchema();
  const database = options.database === 'postgres' ? { kind: 'postgres' as const, url: POSTGRES_URL, schema } : { kind: 'sqlite' as const };
  // No network in tests: the advisory DB is updated (from the test's own feeds) only when a test asks.
  const scan = { enabled: false, ...options.config?.scan, update: { interval: 0, ...options.config?.scan?.update } };
  const config = loadConfig({
    // The SBOM and scan workers add referrers to pushed images in the background: off unless a test asks.
    file: { path: 'test-config.yml', text: JSON.stringify({ sbom: { enabled: false }, ...options.config, scan, addr: '127.0.0.1:0', data: dataDir, database }) },
    env: {},
    flags: {},
    cwd: dataDir,
  });
  const server = await startServer({ config, log: options.log ?? silentLogger, adminPassword: ADMIN_PASSWORD, ...(options.now ? { now: options.now } : {}) });
  const adminAuth = basicAuth('admin', ADMIN_PASSWORD);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    if (options.database === 'postgres') {
      const db = new PostgresDb({ url: POSTGRES_URL, schema });
      await db.dropSchema();
      await db.close();
    }
  };
  t.after(close);
  return {
    url: server.url,
    host: new URL(server.url).host,
    dataDir,
    server,
    adminAuth,
    admin: (path, init = {}) => fetch(`${server.url}${path}`, { ...init, headers: { Authorization: adminAuth, ...(init.headers as Record<string, string> | undefined) } }),
    close,
  };
}

/** Creates a project through the API as admin. */
export async function createProject(s: TestServer, name: string, isPublic = false): Promise<void> {
  const res = await s.admin('/api/v1/projects', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, public: isPublic }) });
  if (res.status !== 201) throw new Error(`creating project ${name}: ${res.status} ${await res.text()}`);
}

/** Creates a user through the API as admin. */
export async function createUser(s: TestServer, username: string, password: string, admin = false): Promise<void> {
  const res = await s.admin('/api/v1/users', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password, admin }) });
  if (res.status !== 201) throw new Error(`creating user ${username}: ${res.status} ${await res.text()}`);
}

export async function addMember(s: TestServer, project: string, username: string, role: string): Promise<void> {
  const res = await s.admin(`/api/v1/projects/${project}/members/${username}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ role }) });
  if (res.status !== 200) throw new Error(`adding member: ${res.status} ${await res.text()}`);
}

/** Creates a robot through the API as admin; resolves to its name and secret. */
export async function createRobot(s: TestServer, name: string, permissions: { project: string; actions: string[] }[]): Promise<{ name: string; secret: string }> {
  const res = await s.admin('/api/v1/robots', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, permissions }) });
  if (res.status !== 201) throw new Error(`creating robot: ${res.status} ${await res.text()}`);
  return (await res.json()) as { name: string; secret: string };
}
