/**
 * Debian's docker-registry (distribution 2.8) as a reference registry: started by hand on
 * 127.0.0.1 and a free port with filesystem storage in a temporary directory, stopped when the
 * test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir, which } from './env.js';

export const DOCKER_REGISTRY_BIN = '/usr/bin/docker-registry';

export interface DockerRegistry {
  readonly url: string;
  /** host:port, for skopeo references. */
  readonly host: string;
  readonly port: number;
  readonly storageDir: string;
  /** What the registry printed so far (it logs to stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      if (address === null || typeof address === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolve(address.port));
    });
  });
}

/** Stops a child: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function dockerRegistryBinary(): string | undefined {
  return which('docker-registry') ?? which(DOCKER_REGISTRY_BIN);
}

/**
 * Starts docker-registry and waits until GET /v2/ answers 200. Retries on another port if the
 * chosen one was taken in the meantime.
 */
export async function startDockerRegistry(t: TestContext, options: { readonly timeoutMs?: number } = {}): Promise<DockerRegistry> {
  const bin = dockerRegistryBinary() ?? DOCKER_REGISTRY_BIN;
  const dir = tempDir(t, 'portcullis-docker-registry-');
  const storageDir = join(dir, 'storage');
  mkdirSync(storageDir, { recursive: true });
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configPath = join(dir, `config-${attempt}.yml`);
    writeFileSync(
      configPath,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${JSON.stringify(storageDir)}`,
        '  delete:',
        '    enabled: true',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        '  secret: portcullis-integration-tests',
        '',
      ].join('\n'),
    );
    const child = spawn(bin, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (c: Buffer) => {
      out += c.toString('utf8');
      if (out.length > 1_000_000) out = out.slice(-500_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const url = `http://127.0.0.1:${port}`;
    const stop = () => stopChild(child);
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      const failed = await Promise.race([spawnError, sleep(100).then(() => undefined)]);
      if (failed !== undefined) throw new Error(`cannot run ${bin}: ${failed.message}`);
      try {
        const res = await fetch(`${url}/v2/`);
        await res.arrayBuffer();
        if (res.status === 200) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
    }
    if (ready) {
      t.after(stop);
      return { url, host: `127.0.0.1:${port}`, port, storageDir, output: () => out, stop };
    }
    await stop();
    lastError = new Error(`docker-registry did not answer on ${url}/v2/ (attempt ${attempt + 1}):\n${out}`);
    if (!/address already in use/i.test(out)) break;
  }
  throw lastError ?? new Error('docker-registry did not start');
}
