import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { Command, CommanderError } from 'commander';
// The server, the registry and the configuration loader are imported where they are used: a
// command like `portcullis sbom` should not pay for fastify, pg and zod at start-up.
import type { Config } from '../config/index.js';
import type { GcReport } from '../registry/index.js';
import { httpExchange, isAppError, networkReason, replyHeader, replyOk, type HttpReply } from '../shared/index.js';
import { client, formatOption, outputOf, outputOption } from './api-command.js';
import { serverUrl } from './client.js';
import { eraseCredentials, registryKey, storeCredentials } from './docker-config.js';
import { CliError } from './errors.js';
import { humanBytes, stdoutOutput, type OutputFormat } from './output.js';
import { promptSecret, readStdin } from './prompt.js';
import { registerAccountCommands } from './accounts.js';
import { registerAdmission } from './admission.js';
import { registerAudit } from './audit.js';
import { registerSearch } from './search.js';
import { registerGateCommands } from './gates.js';
import { registerSbom } from './sbom.js';
import { registerDb } from './db.js';
import { registerScan } from './scan.js';
import { registerSign } from './sign.js';
import { packageVersion } from './version.js';

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdinIsTty: boolean;
}

/** What a command reports back besides its output: the exit code for findings (`scan --exit-code`). */
export interface CliState {
  exitCode: number;
}

async function readConfig(io: CliIo, options: { config?: string; addr?: string; data?: string }): Promise<Config> {
  const { loadConfig } = await import('../config/index.js');
  const path = options.config ?? io.env['PORTCULLIS_CONFIG'];
  let file: { path: string; text: string } | undefined;
  if (path !== undefined) {
    try {
      file = { path, text: readFileSync(path, 'utf8') };
    } catch (err) {
      throw new CliError('FAILED', `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return loadConfig({ ...(file !== undefined ? { file } : {}), env: io.env, flags: { addr: options.addr, data: options.data }, cwd: io.cwd });
}

function gcSummary(r: GcReport): string {
  const verb = r.dryRun ? 'would free' : 'freed';
  const lines = [`${verb} ${humanBytes(r.bytesFreed)}: ${r.blobsDeleted} blobs, ${r.manifestsDeleted} manifests, ${r.uploadsDeleted} abandoned uploads${r.stagingFilesDeleted > 0 ? `, ${r.stagingFilesDeleted} leftover staging files` : ''}`];
  for (const m of r.manifests) lines.push(`manifest ${m.repository}@${m.digest}`);
  for (const b of r.blobs) lines.push(`blob ${b.digest} ${humanBytes(b.size)}`);
  return lines.join('\n');
}

export function buildProgram(io: CliIo, state: CliState = { exitCode: 0 }): Command {
  const program = new Command('portcullis')
    .description('Portcullis: the one gate every container image passes through')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('serve')
    .description('run the registry, its API and the token service (SQLite and files under --data by default)')
    .option('-c, --config <file>', 'YAML configuration file (default $PORTCULLIS_CONFIG)')
    .option('--addr <host:port>', 'listen address (default 0.0.0.0:5000)')
    .option('--data <dir>', 'data directory (default ./data or $PORTCULLIS_DATA)')
    .action(async (o: { config?: string; addr?: string; data?: string }) => {
      const config = await readConfig(io, o);
      const { guardRejections, startServer } = await import('../server/index.js');
      const { pino } = await import('pino');
      const log = pino({ level: config.log.level, base: { service: 'portcullis' } }, pino.destination(2));
      guardRejections(log);
      const server = await startServer({
        config,
        log,
        adminPassword: io.env['PORTCULLIS_ADMIN_PASSWORD'] || undefined,
        announce: (m) => process.stderr.write(`\n${m}\n\n`),
      });
      process.stderr.write(`Portcullis ${packageVersion()} serving on ${server.url} (data: ${config.data})\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stderr.write('shutting down\n');
      await server.close();
    });

  program
    .command('gc')
    .description('delete blobs no manifest references (and with --delete-untagged, unreachable manifests) while the registry runs')
    .option('--dry-run', 'report what would be deleted, delete nothing')
    .option('--delete-untagged', 'also delete manifests no tag, index or live subject reaches')
    .option('-c, --config <file>', 'configuration of a local registry (its data is collected directly)')
    .option('--data <dir>', 'data directory of a local registry')
    .option('-s, --server <url>', 'collect on a running server through its API instead (needs an admin login)')
    .option('--insecure', 'use plain HTTP for a server given without a scheme')
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (o: { dryRun?: boolean; deleteUntagged?: boolean; config?: string; data?: string; server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const options = { dryRun: o.dryRun === true, deleteUntagged: o.deleteUntagged === true };
      let report: GcReport;
      if (o.server !== undefined || (o.config === undefined && o.data === undefined && io.env['PORTCULLIS_SERVER'] !== undefined)) {
        report = await (await client(io, o)).request<GcReport>('POST', '/api/v1/system/gc', options);
      } else {
        const config = await readConfig(io, o);
        // Opening a store creates it: a gc run in the wrong directory would leave an empty registry behind.
        const missing = missingRegistryData(config);
        if (missing !== undefined) throw new CliError('FAILED', `no registry data at ${shownPath(io, missing)}: give --data DIR (or --config FILE) of a registry, or --server URL to collect on a running one`);
        const { openStorage } = await import('../server/index.js');
        const { collectGarbage } = await import('../registry/index.js');
        const storage = await openStorage(config);
        try {
          const { pino } = await import('pino');
          const log = pino({ level: config.log.level }, pino.destination(2));
          report = await collectGarbage({ ...storage, now: Date.now, log }, { ...options, graceMs: config.gc.grace, uploadTtlMs: config.gc.uploadTtl });
        } finally {
          await storage.meta.close();
        }
      }
      outputOf(o).result(o.format === 'json' ? JSON.stringify(report, null, 2) : gcSummary(report));
    });

  program
    .command('login')
    .argument('<server>', 'registry host[:port] or URL')
    .description('check credentials against a registry and store them in the Docker config file')
    .option('-u, --username <name>', 'user or robot account name')
    .option('-p, --password <password>', 'password (prefer --password-stdin: arguments show in ps)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure', 'use plain HTTP')
    .action(async (server: string, o: { username?: string; password?: string; passwordStdin?: boolean; insecure?: boolean }) => {
      const username = o.username ?? io.env['PORTCULLIS_USERNAME'];
      if (username === undefined) throw new CliError('USAGE', 'give --username (or set PORTCULLIS_USERNAME)');
      let password = o.password ?? (o.passwordStdin ? await readStdin() : io.env['PORTCULLIS_PASSWORD']);
      if (password === undefined) {
        if (!io.stdinIsTty) throw new CliError('USAGE', 'no password: use --password-stdin or run on a terminal');
        password = await promptSecret('Password: ');
      }
      const base = serverUrl(server, o.insecure);
      await checkLogin(base, username, password);
      await storeCredentials(base, { username, password });
      stdoutOutput.result(`Login Succeeded (${registryKey(base)})`);
    });

  program
    .command('logout')
    .argument('<server>', 'registry host[:port] or URL')
    .description('remove stored credentials for a registry')
    .action(async (server: string) => {
      const removed = await eraseCredentials(server);
      stdoutOutput.result(removed ? `Removed login credentials for ${registryKey(server)}` : `Not logged in to ${registryKey(server)}`);
    });

  registerAccountCommands(program, io);
  registerGateCommands(program, io);

  registerSbom(program, io);
  registerScan(program, io, state);
  registerDb(program, io, state);
  registerSign(program, io, state);
  registerAudit(program, io, state);
  registerSearch(program, io, state);
  registerAdmission(program, io, state);
  addHelpCommands(program);
  return program;
}

/**
 * `help A B C` at every level that has subcommands: commander's own help command looks at one word
 * only, so `portcullis help db build` showed the help of `db`.
 */
function addHelpCommands(cmd: Command): void {
  const subcommands = [...cmd.commands];
  if (subcommands.length === 0) return;
  cmd.helpCommand(false);
  cmd
    .command('help')
    .argument('[command...]', 'the command (and subcommands) to explain')
    .description('display help for command')
    .action((words: string[]) => showHelp(cmd, words));
  for (const sub of subcommands) addHelpCommands(sub);
}

function showHelp(from: Command, words: readonly string[]): never {
  let target: Command = from;
  for (const word of words) {
    const next = target.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (next === undefined) target.error(`error: unknown command '${word}'${target.parent !== null ? ` for '${commandPath(target)}'` : ''}`, { code: 'commander.unknownCommand', exitCode: 2 });
    target = next;
  }
  return target.help();
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The first store a local gc needs that is not there (undefined when all are): opening them would create them empty. */
function missingRegistryData(config: Config): string | undefined {
  const stores = [{ path: config.storage.path, present: isDirectory(config.storage.path) }];
  if (config.database.kind === 'sqlite') stores.push({ path: config.database.path, present: existsSync(config.database.path) });
  const missing = stores.filter((s) => !s.present);
  if (missing.length === 0) return undefined;
  // Nothing of a registry in the data directory (or no such directory): name the directory.
  return missing.length === stores.length && stores.every((s) => isInside(s.path, config.data)) ? config.data : missing[0]!.path;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A path as the user would type it: relative to the working directory when inside it. */
function shownPath(io: CliIo, path: string): string {
  return !isInside(path, io.cwd) ? path : path === io.cwd ? '.' : `./${relative(io.cwd, path)}`;
}

/** Checks credentials the way docker login does: GET /v2/, follow a Bearer challenge to the token service. */
async function checkLogin(base: string, username: string, password: string): Promise<void> {
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const ask = async (url: string | URL, headers: Record<string, string> = {}): Promise<HttpReply> => {
    try {
      const res = await httpExchange(url, { headers });
      await res.body.dump();
      return res;
    } catch (err) {
      throw new CliError('FAILED', `cannot reach ${new URL(url).origin}: ${networkReason(err)}`);
    }
  };
  const res = await ask(`${base}/v2/`);
  if (res.statusCode === 200) return;
  const challenge = replyHeader(res, 'www-authenticate') ?? '';
  if (res.statusCode === 401 && /^bearer /i.test(challenge)) {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (params['realm'] === undefined) throw new CliError('FAILED', `${base} sent a Bearer challenge without a realm`);
    const url = new URL(params['realm']);
    if (params['service'] !== undefined) url.searchParams.set('service', params['service']);
    url.searchParams.set('account', username);
    const t = await ask(url, { Authorization: basic });
    if (replyOk(t)) return;
    throw new CliError('FAILED', t.statusCode === 401 ? 'login failed: wrong username or password' : `login failed: the token service answered ${t.statusCode}`);
  }
  if (res.statusCode === 401) {
    const again = await ask(`${base}/v2/`, { Authorization: basic });
    if (replyOk(again)) return;
    throw new CliError('FAILED', 'login failed: wrong username or password');
  }
  throw new CliError('FAILED', `${base}/v2/ answered ${res.statusCode}: is it a registry?`);
}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const state: CliState = { exitCode: 0 };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // Help asked for exits 0; help shown because a subcommand is missing (`portcullis db`) is a usage error.
      if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      return err.exitCode;
    }
    if (isAppError(err) && err.code === 'CONFIG_INVALID') {
      process.stderr.write(`portcullis: invalid configuration: ${err.message}\n`);
      return 2;
    }
    if (isAppError(err)) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`portcullis: the listen address is in use (${e.message}); pick another with --addr\n`);
      return 1;
    }
    process.stderr.write(`portcullis: ${e.message ?? String(err)}\n`);
    return 1;
  }
}
