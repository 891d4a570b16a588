/**
 * The serving process's guard against unhandled promise rejections, in a real child process:
 * without the guard such a rejection ends Node (exit code 1); with it the process logs the
 * rejection and goes on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const GUARD = new URL('../../src/server/process-guard.js', import.meta.url).href;

function run(guarded: boolean): { status: number | null; stdout: string; stderr: string } {
  const script = `
    const { guardRejections } = await import(${JSON.stringify(GUARD)});
    const log = { error: (obj, msg) => console.log('logged:', msg, obj.err.message), warn() {}, info() {}, debug() {}, child() { return log; } };
    if (${guarded}) guardRejections(log);
    Promise.reject(new Error('a fault in one request'));
    setTimeout(() => console.log('still serving'), 50);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('without the guard an unhandled rejection ends the process', () => {
  const r = run(false);
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stdout, /still serving/);
});

test('with the guard the rejection is logged and the process keeps running', () => {
  const r = run(true);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /logged: unhandled promise rejection.* a fault in one request/);
  assert.match(r.stdout, /still serving/);
});
