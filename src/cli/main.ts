#!/usr/bin/env node
import module from 'node:module';

// Node 22.1+ keeps compiled code between runs (a CLI in CI starts often); Node 20 has no such cache.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { runCli } = await import('./program.js');

// `portcullis sbom ... | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const code = await runCli(process.argv.slice(2), { env: process.env, cwd: process.cwd(), stdinIsTty: process.stdin.isTTY === true });
process.exitCode = code;
