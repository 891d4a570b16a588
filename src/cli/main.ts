#!/usr/bin/env node
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), { env: process.env, cwd: process.cwd(), stdinIsTty: process.stdin.isTTY === true });
process.exitCode = code;
