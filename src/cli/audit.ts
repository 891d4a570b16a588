/**
 * `portcullis audit list|export|verify`: the audit log of a server, and the check of its hash
 * chain, against the server or offline on an export file (the same check: ExportVerifier).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
// The registry (fastify, pg, …) is imported only by `verify --file`: the CLI does not pay for it at start-up.
import type { AuditEntryJson, ChainVerification } from '../registry/index.js';
import { ApiClient } from './client.js';
import { CliError } from './errors.js';
import { fileOutput, stdoutOutput, table, type Output, type OutputFormat } from './output.js';
import type { CliIo, CliState } from './program.js';

/** What GET /api/v1/audit answers. */
interface AuditPage {
  readonly entries: AuditEntryJson[];
  readonly next: number | null;
  readonly checkpoint: { readonly seq: number; readonly hash: string; readonly time: string } | null;
}

interface ServerOptions {
  server?: string;
  insecure?: boolean;
}

/** Entries per request when listing or exporting (the API's maximum). */
const PAGE = 1000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function serverOptions(cmd: Command): Command {
  return cmd
    .option('-s, --server <url>', 'Portcullis server (default $PORTCULLIS_SERVER); credentials from $PORTCULLIS_USERNAME/$PORTCULLIS_PASSWORD or portcullis login')
    .option('--insecure', 'use plain HTTP for a server given without a scheme');
}

const formatOption = () => new Option('-f, --format <format>', 'result format').choices(['table', 'json']).default('table');

function outputOf(io: CliIo, o: { output?: string }): Output {
  return o.output === undefined ? stdoutOutput : fileOutput(resolve(io.cwd, o.output));
}

/** `--since`: an RFC 3339 time, or a duration back from now (`24h`, `7d`, `30m`). */
export function sinceOption(value: string, now: number): string {
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (d !== null) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[d[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return new Date(now - Math.round(Number(d[1]) * unit)).toISOString();
  }
  if (!RFC3339.test(value.trim())) throw new CliError('USAGE', `--since must be an RFC 3339 time (2024-05-01T00:00:00Z) or a duration back from now (24h, 7d), not "${value}"`);
  return value.trim();
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  return q.toString();
}

/** Pages of GET /api/v1/audit, oldest first, until `max` entries or the end. */
async function* pages(client: ApiClient, filter: Record<string, string | number | undefined>, max = Infinity): AsyncGenerator<AuditPage> {
  let after = filter['after'];
  let left = max;
  while (left > 0) {
    const page = await client.request<AuditPage>('GET', `/api/v1/audit?${query({ ...filter, after, limit: Math.min(PAGE, left) })}`);
    yield page;
    left -= page.entries.length;
    if (page.next === null) return;
    after = page.next;
  }
}

function verificationText(r: ChainVerification, source: string): string {
  const lines = [`intact: ${r.entries} entries${r.last !== undefined ? ` (to entry ${r.last.seq})` : ''} in ${source}`];
  if (r.checkpoint !== undefined) lines.push(`starts after the retention checkpoint at entry ${r.checkpoint.seq} (${r.checkpoint.hash})`);
  if (r.last !== undefined) lines.push(`last hash: ${r.last.hash} (keep it elsewhere: a later truncation of the log shows against it)`);
  return lines.join('\n');
}

/** Reads an export line by line into the verifier: flat memory for a file of any size. */
async function verifyFile(io: CliIo, file: string): Promise<ChainVerification> {
  const path = resolve(io.cwd, file);
  const { ExportVerifier } = await import('../registry/index.js');
  const verifier = new ExportVerifier();
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) verifier.add(line);
  } catch (err) {
    throw new CliError('FAILED', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return verifier.result();
}

/** Writes chunks to FILE as they come, made visible whole (renamed into place) only when all are written. */
async function writeStreamed(path: string, chunks: AsyncIterable<string>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    for await (const chunk of chunks) writeSync(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if (err instanceof CliError) throw err;
    throw new CliError('FAILED', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function registerAudit(program: Command, io: CliIo, state: CliState): void {
  const audit = program.command('audit').description('the audit log: who did what, when, from where, with what outcome (a hash chain)');
  const client = (o: ServerOptions) => ApiClient.create({ server: o.server, insecure: o.insecure }, io.env);

  serverOptions(audit.command('list').description('list entries, oldest first (administrators; project administrators with --project)'))
    .option('--project <name>', "only this project's entries")
    .option('--actor <name>', "only this user's or robot's entries")
    .option('--action <action>', 'only this action (artifact.push, login, promotion, …)')
    .option('--since <time>', 'only entries since an RFC 3339 time or a duration back from now (24h, 7d)')
    .option('--after <seq>', 'only entries after this sequence number')
    .option('--limit <n>', 'at most this many entries')
    .addOption(formatOption())
    .option('-o, --output <file>', 'write the result to FILE instead of stdout')
    .action(async (o: ServerOptions & { project?: string; actor?: string; action?: string; since?: string; after?: string; limit?: string; format: OutputFormat; output?: string }) => {
      for (const [flag, v] of [['--after', o.after], ['--limit', o.limit]] as const) {
        if (v !== undefined && !/^\d{1,15}$/.test(v)) throw new CliError('USAGE', `${flag} must be a non-negative integer, not "${v}"`);
      }
      const filter = { project: o.project, actor: o.actor, action: o.action, since: o.since === undefined ? undefined : sinceOption(o.since, Date.now()), after: o.after };
      const entries: AuditEntryJson[] = [];
      for await (const page of pages(await client(o), filter, o.limit === undefined ? Infinity : Number(o.limit))) entries.push(...page.entries);
      const text =
        o.format === 'json'
          ? JSON.stringify(entries, null, 2)
          : table(
              ['SEQ', 'TIME', 'ACTOR', 'CLIENT', 'ACTION', 'RESOURCE', 'OUTCOME'],
              entries.map((e) => [e.seq, e.time, e.actor, e.client, e.action, e.resource, e.outcome]),
            );
      outputOf(io, o).result(text);
    });

  serverOptions(audit.command('export').description('write the whole log as JSON lines (administrators): a checkpoint line when retention cut it, then one entry per line'))
    .option('-o, --output <file>', 'write to FILE (whole, when complete) instead of stdout')
    .action(async (o: ServerOptions & { output?: string }) => {
      const c = await client(o);
      let count = 0;
      async function* lines(): AsyncGenerator<string> {
        let first = true;
        for await (const page of pages(c, {})) {
          if (first && page.checkpoint !== null) yield `${JSON.stringify({ checkpoint: page.checkpoint })}\n`;
          first = false;
          count += page.entries.length;
          if (page.entries.length > 0) yield `${page.entries.map((e) => JSON.stringify(e)).join('\n')}\n`;
        }
      }
      if (o.output === undefined) {
        for await (const chunk of lines()) process.stdout.write(chunk);
      } else {
        await writeStreamed(resolve(io.cwd, o.output), lines());
      }
      process.stderr.write(`exported ${count} entries\n`);
    });

  serverOptions(audit.command('verify').description('check the hash chain (administrators), on the server or offline in an export file; exit 1 naming the first broken entry'))
    .option('--file <file>', 'check an export file (portcullis audit export) instead of asking a server')
    .addOption(formatOption())
    .option('-o, --output <file>', 'write the result to FILE instead of stdout')
    .action(async (o: ServerOptions & { file?: string; format: OutputFormat; output?: string }) => {
      const result = o.file !== undefined ? await verifyFile(io, o.file) : await (await client(o)).request<ChainVerification>('GET', '/api/v1/audit/verify');
      const source = o.file !== undefined ? o.file : 'the server’s log';
      const broken = result.firstBroken;
      const failure = broken === undefined ? undefined : `the audit chain is broken at entry ${broken.seq} (${broken.reason}): ${broken.message}`;
      if (o.format === 'json') {
        outputOf(io, o).result(JSON.stringify(result, null, 2));
        if (failure !== undefined) {
          process.stderr.write(`portcullis: ${failure}\n`);
          state.exitCode = 1;
        }
        return;
      }
      if (failure !== undefined) throw new CliError('FAILED', failure);
      outputOf(io, o).result(verificationText(result, source));
    });
}
