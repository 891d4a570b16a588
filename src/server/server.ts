import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Config } from '../config/index.js';
import { createRegistry, type Registry } from '../registry/index.js';
import type { Logger } from '../shared/index.js';
import { openStorage } from './storage.js';

export interface StartOptions {
  readonly config: Config;
  readonly log: Logger;
  /** From $PORTCULLIS_ADMIN_PASSWORD: the first admin's password when no user exists yet. */
  readonly adminPassword?: string | undefined;
  /** Shows a generated first-admin password (once); the CLI prints it to stderr. */
  readonly announce?: (message: string) => void;
  readonly now?: () => number;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  close(): Promise<void>;
}

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Starts Portcullis: storage, registry, one HTTP(S) server for /v2, /api/v1 and the token endpoint. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, log } = options;
  const now = options.now ?? Date.now;
  const storage = await openStorage(config);
  let registry: Registry;
  try {
    registry = await createRegistry({ ...storage, config, log, now, version: packageVersion(), cacheDir: join(config.data, 'cache'), sbom: config.sbom.enabled, scan: config.scan.enabled, replicaId: config.replicaId ?? dataReplicaId(config.data) });
    const created = await registry.bootstrapAdmin(options.adminPassword);
    if (created !== undefined && options.adminPassword === undefined) {
      options.announce?.(`Created the first user "admin" with password: ${created}\nIt is shown only this once: sign in and change it (portcullis user passwd admin).`);
    }
  } catch (err) {
    await storage.meta.close();
    throw err;
  }

  const isV2 = (url: string | undefined) => url !== undefined && (url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?'));
  let server!: Server;
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // As many hops as auth.trustProxy counts (fastify's own view; the registry reads the header itself).
    trustProxy: (_address: string, hop: number) => hop < config.auth.trustProxy,
    serverFactory: (fastifyHandler) => {
      const handler = (req: IncomingMessage, res: ServerResponse) => (isV2(req.url) ? registry.distribution(req, res) : fastifyHandler(req, res));
      server = config.tls === undefined ? createHttpServer(handler) : createHttpsServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handler);
      // Large blobs take long: no whole-request deadline, but idle sockets and slow headers are cut.
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
      server.keepAliveTimeout = 65_000;
      server.setTimeout(10 * 60_000);
      return server;
    },
  });
  registry.registerManagementApi(app);

  const { host, port } = splitAddr(config.addr);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await registry.close();
    await storage.meta.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${config.tls === undefined ? 'http' : 'https'}://${shownHost}:${address.port}`;
  log.info({ url, database: config.database.kind, storage: config.storage.path }, 'portcullis listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    registry,
    close: () =>
      (closing ??= (async () => {
        const force = setTimeout(() => server.closeAllConnections(), 10_000);
        force.unref();
        server.closeIdleConnections();
        await app.close();
        clearTimeout(force);
        await registry.close();
        await storage.meta.close();
      })()),
  };
}

/**
 * The id of the replica whose data directory this is, kept in `<data>/replica-id` (made on first
 * start): stable across restarts, and distinct for every data directory, wherever it is mounted
 * and whatever the host is called. Replicas sharing one data directory need a replicaId each.
 */
export function dataReplicaId(data: string): string {
  const file = join(data, 'replica-id');
  mkdirSync(data, { recursive: true });
  try {
    writeFileSync(file, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644, flush: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const id = readFileSync(file, 'utf8').trim();
  if (id === '') throw new Error(`${file} is empty: remove it to have a new replica id made, or set replicaId`);
  return id;
}

export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const rawHost = addr.slice(0, i);
  const host = rawHost === '' ? '0.0.0.0' : rawHost.replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(addr.slice(i + 1)) };
}
