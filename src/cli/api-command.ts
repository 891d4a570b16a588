/** What every command that calls the management API shares: its options, its client, where its result goes. */
import { Option, type Command } from 'commander';
import { ApiClient } from './client.js';
import { CliError } from './errors.js';
import { fileOutput, secretFileOutput, stdoutOutput, type Output } from './output.js';
import type { CliIo } from './program.js';
import { promptSecret, readStdin } from './prompt.js';

export const formatOption = () => new Option('-f, --format <format>', 'result format').choices(['table', 'json']).default('table');
export const outputOption = () => new Option('-o, --output <file>', 'write the result to FILE instead of stdout');

export function outputOf(o: { output?: string }): Output {
  return o.output === undefined ? stdoutOutput : fileOutput(o.output);
}

/** For results that may hold a secret: a -o file is private. */
export function secretOutputOf(o: { output?: string }): Output {
  return o.output === undefined ? stdoutOutput : secretFileOutput(o.output);
}

/** Adds the options every API command shares. */
export function apiCommand(cmd: Command): Command {
  return cmd
    .option('-s, --server <url>', 'Portcullis server (default $PORTCULLIS_SERVER); credentials from $PORTCULLIS_USERNAME/$PORTCULLIS_PASSWORD or portcullis login')
    .option('--insecure', 'use plain HTTP for a server given without a scheme');
}

export async function client(io: CliIo, o: { server?: string; insecure?: boolean }): Promise<ApiClient> {
  return ApiClient.create({ server: o.server, insecure: o.insecure }, io.env);
}

/** A password for a new account: --password-stdin, else a prompt on a terminal, else generated (and printed). */
export async function newPassword(io: CliIo, fromStdin: boolean | undefined): Promise<{ password: string; generated: boolean }> {
  if (fromStdin) return { password: await readStdin(), generated: false };
  if (io.stdinIsTty) {
    const a = await promptSecret('New password: ');
    const b = await promptSecret('Repeat it: ');
    if (a !== b) throw new CliError('FAILED', 'the passwords differ');
    return { password: a, generated: false };
  }
  const { generatePassword } = await import('../registry/index.js');
  return { password: generatePassword(), generated: true };
}
