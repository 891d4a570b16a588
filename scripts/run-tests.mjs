#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's built-in runner and ends with one
// summary line (`N passed, N failed, N skipped`). Arguments narrow the run to paths containing them.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(2);
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// One TAP file per run: runs started side by side must not count each other's tests.
const tapFile = new URL(`../dist/test-results-${process.pid}.tap`, import.meta.url).pathname;
const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`, ...files], {
  stdio: 'inherit',
});
child.on('exit', async (code, signal) => {
  const { readFileSync, rmSync } = await import('node:fs');
  let summary = '';
  try {
    const tap = readFileSync(tapFile, 'utf8');
    rmSync(tapFile, { force: true });
    const count = (k) => Number([...tap.matchAll(new RegExp(`^# ${k} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);
    summary = `${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped, ${count('cancelled')} cancelled`;
  } catch {
    summary = 'no test summary (the runner wrote no TAP file)';
  }
  console.log(`\n${summary}`);
  process.exit(signal ? 1 : (code ?? 1));
});
