import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TCP port free at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Started {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns a server and waits until `ready` answers (any HTTP status). */
export async function startProcess(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, ready: string): Promise<Started> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(ready);
      await res.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${cmd} did not start: ${stderr}`);
      await sleep(100);
    }
  }
  return {
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(t);
    },
  };
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses: utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux that Node runs on. */
const CLOCK_TICKS = 100;

/** The peak RSS of a process while `work` runs (sampled every `ms`), and the CPU time it used. */
export async function peakRss<T>(pid: number, work: () => Promise<T>, ms = 20): Promise<{ result: T; peak: number; cpuMs: number }> {
  let peak = rssOf(pid);
  const cpuBefore = cpuMsOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // process gone
    }
  }, ms);
  try {
    const result = await work();
    peak = Math.max(peak, rssOf(pid));
    return { result, peak, cpuMs: cpuMsOf(pid) - cpuBefore };
  } finally {
    clearInterval(timer);
  }
}

export function which(cmd: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const p = `${dir}/${cmd}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}
