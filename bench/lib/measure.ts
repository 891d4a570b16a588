/**
 * Running a command to completion for a benchmark: wall time, exit code and peak RSS, and the
 * median of repeated runs.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peakRss } from './proc.js';

export interface Run {
  readonly ok: boolean;
  readonly seconds: number;
  /** Peak RSS in bytes; NaN when unknown. */
  readonly rss: number;
  readonly code: number;
  readonly stderr: string;
}

/**
 * Runs a command to completion, stdout to `stdoutFile` (or /dev/null): wall time from spawn to
 * exit, peak RSS from GNU time's getrusage (or sampled from /proc when GNU time is missing).
 */
export async function measure(cmd: string, args: readonly string[], stdoutFile?: string): Promise<Run> {
  const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  // One file per run: runs side by side must not read each other's.
  const rssFile = join(tmpdir(), `bench-rss-${process.pid}-${randomUUID()}`);
  const out = openSync(stdoutFile ?? '/dev/null', 'w');
  const started = process.hrtime.bigint();
  try {
    const child = gnuTime !== undefined ? spawn(gnuTime, ['-f', '%M', '-o', rssFile, cmd, ...args], { stdio: ['ignore', out, 'pipe'] }) : spawn(cmd, args, { stdio: ['ignore', out, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-200_000);
    });
    const exit = new Promise<number>((res, rej) => {
      child.once('error', rej);
      child.once('close', (code, signal) => res(code ?? (signal !== null ? 128 : 1)));
    });
    let code: number;
    let rss = NaN;
    if (gnuTime !== undefined) {
      code = await exit;
      const kb = Number(/(\d+)\s*$/.exec(readFileSync(rssFile, 'utf8'))?.[1]);
      if (Number.isFinite(kb)) rss = kb * 1024;
    } else {
      const sampled = await peakRss(child.pid!, () => exit, 10).catch(async () => ({ result: await exit, peak: NaN }));
      code = sampled.result;
      rss = sampled.peak;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { ok: code === 0, seconds, rss, code, stderr };
  } finally {
    closeSync(out);
    rmSync(rssFile, { force: true });
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export interface Series {
  readonly runs: Run[];
  /** Median seconds of the successful runs. */
  readonly seconds: number;
  readonly rss: number;
  readonly error?: string;
}

export function series(runs: Run[], what: string): Series {
  const good = runs.filter((r) => r.ok);
  const bad = runs.find((r) => !r.ok);
  return {
    runs,
    seconds: median(good.map((r) => r.seconds)),
    rss: good.length > 0 ? Math.max(...good.map((r) => r.rss)) : NaN,
    ...(bad !== undefined ? { error: `${what} exited with ${bad.code}: ${lastLines(bad.stderr, 12)}` } : {}),
  };
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

