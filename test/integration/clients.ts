/**
 * Running the real clients (skopeo, podman, umoci, tar) from the integration tests. Always
 * asynchronous: the registry under test runs in this process, and a synchronous child would
 * block the event loop it needs to answer.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from '../helpers/env.js';

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, for messages and pattern checks. */
  readonly output: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ code, signal, stdout, stderr, output: `${stdout}${stderr}` });
    });
  });
}

/** Runs a command that must succeed; the error carries the command line and its output. */
export async function runOk(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code ?? r.signal}:\n${r.output}`);
  return r;
}

/**
 * An environment in which the containers tools see no stored credentials (an empty auth file
 * of their own, no docker config): a test's credentials are exactly those on its command lines.
 */
export function isolatedEnv(t: TestContext): NodeJS.ProcessEnv {
  const dir = tempDir(t, 'portcullis-auth-');
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, '{"auths":{}}');
  return { ...process.env, REGISTRY_AUTH_FILE: authFile, DOCKER_CONFIG: dir, XDG_RUNTIME_DIR: dir };
}

/** skopeo with an isolated environment. */
export function skopeoRunner(t: TestContext): { ok: (...args: string[]) => Promise<RunResult>; run: (...args: string[]) => Promise<RunResult> } {
  const env = isolatedEnv(t);
  return {
    ok: (...args) => runOk('skopeo', args, { env }),
    run: (...args) => run('skopeo', args, { env }),
  };
}

/** Basic credentials for a client's --creds option. */
export function creds(username: string, password: string): string {
  return `${username}:${password}`;
}
