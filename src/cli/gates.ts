/**
 * The gates from the command line: a project's policy and trusted keys, waivers (requested by
 * anyone who may pull, decided by the security team), and promotion.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { apiCommand, client, formatOption, outputOf, outputOption } from './api-command.js';
import { CliError } from './errors.js';
import { render, stdoutOutput, type OutputFormat } from './output.js';
import type { CliIo } from './program.js';

type Api = { server?: string; insecure?: boolean };
const enc = encodeURIComponent;

function readFile(io: CliIo, path: string, what: string): string {
  try {
    return readFileSync(resolve(io.cwd, path), 'utf8');
  } catch (err) {
    throw new CliError('FAILED', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `registry.example.com/prod/app:1.0` → `prod/app:1.0`: the server is the one --server names. */
export function withoutRegistry(reference: string): string {
  const first = reference.split('/')[0] ?? '';
  const isHost = reference.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? reference.slice(first.length + 1) : reference;
}

interface Waiver {
  id: number;
  project: string;
  repository: string | null;
  digest: string | null;
  ids: string[];
  state: string;
  requestedBy: string;
  decidedBy: string | null;
  expiresAt: string;
  reason: string;
}

/** Prints a refusal's gates one per line on stderr, then fails naming what was refused. */
function failedGates(what: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof CliError && Array.isArray(err.detail?.['gates'])) {
      const gates = err.detail['gates'] as { gate: string; reason: string }[];
      for (const g of gates) process.stderr.write(`  ✗ ${g.gate}: ${g.reason}\n`);
      throw new CliError('FAILED', `${what} refused: ${gates.length} gate${gates.length === 1 ? '' : 's'} failed (above)`, { cause: err, detail: err.detail });
    }
    throw err;
  };
}

export function registerGateCommands(program: Command, io: CliIo): void {
  const project = program.commands.find((c) => c.name() === 'project');
  if (project === undefined) throw new Error('the project command is registered first');

  apiCommand(project.command('policy').argument('<project>').description("show or replace a project's policy (YAML or JSON; see docs/promotion.md)"))
    .option('--file <file>', 'replace the policy with this document')
    .option('--show', 'print the policy (the default without --file)')
    .addOption(new Option('-f, --format <format>', 'how to print it').choices(['yaml', 'json']).default('yaml'))
    .addOption(outputOption())
    .action(async (p: string, o: Api & { file?: string; show?: boolean; format: 'yaml' | 'json'; output?: string }) => {
      const c = await client(io, o);
      let answer: { policy: unknown; updatedAt: string | null; updatedBy: string | null };
      if (o.file !== undefined) {
        const { parse } = await import('yaml');
        let document: unknown;
        try {
          document = parse(readFile(io, o.file, 'policy file')) ?? {};
        } catch (err) {
          if (err instanceof CliError) throw err;
          throw new CliError('FAILED', `${o.file} is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
        }
        answer = await c.request('PUT', `/api/v1/projects/${enc(p)}/policy`, document);
        process.stderr.write(`policy of ${p} replaced\n`);
        if (o.show !== true) return;
      } else {
        answer = await c.request('GET', `/api/v1/projects/${enc(p)}/policy`);
      }
      const { stringify } = await import('yaml');
      outputOf(o).result(o.format === 'json' ? JSON.stringify(answer.policy, null, 2) : stringify(answer.policy).trimEnd());
    });

  const trusted = project.command('trusted-key').description('public keys a project trusts for signatures (CI’s Cosign key)');
  apiCommand(trusted.command('add').argument('<project>').argument('<name>').description('trust a public key (its policy names it trusted:NAME)'))
    .requiredOption('--key <file>', 'the public key (PEM, as cosign generate-key-pair writes cosign.pub)')
    .action(async (p: string, name: string, o: Api & { key: string }) => {
      await (await client(io, o)).request('POST', `/api/v1/projects/${enc(p)}/trusted-keys`, { name, publicKey: readFile(io, o.key, 'key') });
      stdoutOutput.result(`${p} trusts key ${name} (name it trusted:${name} in the policy)`);
    });
  apiCommand(trusted.command('list').argument('<project>').description('list the keys a project trusts'))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (p: string, o: Api & { format: OutputFormat; output?: string }) => {
      const keys = await (await client(io, o)).request<{ name: string; createdAt: string; createdBy: string | null }[]>('GET', `/api/v1/projects/${enc(p)}/trusted-keys`);
      outputOf(o).result(render(o.format, keys, ['NAME', 'ADDED', 'BY'], (k: (typeof keys)[number]) => [k.name, k.createdAt, k.createdBy ?? '']));
    });
  apiCommand(trusted.command('remove').argument('<project>').argument('<name>').description('stop trusting a key')).action(async (p: string, name: string, o: Api) => {
    await (await client(io, o)).request('DELETE', `/api/v1/projects/${enc(p)}/trusted-keys/${enc(name)}`);
    stdoutOutput.result(`${p} no longer trusts key ${name}`);
  });

  const signingKey = project.command('signing-key').description("the project's own signing key: it signs what is promoted into the project (the private half never leaves the server)");
  apiCommand(signingKey.command('create').argument('<project>').description('make the project a new signing key (replacing the one it has: signatures made with the old key no longer verify with the new one)'))
    .addOption(outputOption())
    .action(async (p: string, o: Api & { output?: string }) => {
      const k = await (await client(io, o)).request<{ publicKey: string }>('POST', `/api/v1/projects/${enc(p)}/signing-key`, {});
      process.stderr.write(`project ${p} has a new signing key; its public key:\n`);
      outputOf(o).result(k.publicKey.trimEnd());
    });
  apiCommand(signingKey.command('show').argument('<project>').description('print the public key (PEM) that verifies the project’s signatures (portcullis verify --key, cosign verify --key)'))
    .addOption(outputOption())
    .action(async (p: string, o: Api & { output?: string }) => {
      const k = await (await client(io, o)).request<{ publicKey: string }>('GET', `/api/v1/projects/${enc(p)}/signing-key`);
      outputOf(o).result(k.publicKey.trimEnd());
    });
  apiCommand(signingKey.command('delete').argument('<project>').description('delete the project’s signing key')).action(async (p: string, o: Api) => {
    await (await client(io, o)).request('DELETE', `/api/v1/projects/${enc(p)}/signing-key`);
    stdoutOutput.result(`deleted the signing key of ${p}`);
  });

  const waiver = program.command('waiver').description("ask the security team to accept findings, and decide (the security team's approval)");
  apiCommand(waiver.command('request').description('ask for findings to be accepted in an image, a repository or a project, until a date'))
    .requiredOption('--project <project>')
    .option('--repository <repository>', 'a repository of the project (else the whole project)')
    .option('--digest <digest>', 'one image of the repository (else all of it)')
    .requiredOption('--id <id...>', 'a finding to accept: CVE-…, GHSA-…, a secret rule, a check id (repeatable)')
    .requiredOption('--reason <text>', 'why the findings may be accepted')
    .option('--expires <when>', 'a duration (30d) or a time (RFC 3339); 90 days at most', '30d')
    .addOption(formatOption())
    .action(async (o: Api & { project: string; repository?: string; digest?: string; id: string[]; reason: string; expires: string; format: OutputFormat }) => {
      const w = await (await client(io, o)).request<Waiver>('POST', '/api/v1/waivers', {
        project: o.project,
        ...(o.repository !== undefined ? { repository: o.repository } : {}),
        ...(o.digest !== undefined ? { digest: o.digest } : {}),
        ids: o.id,
        reason: o.reason,
        expires: o.expires,
      });
      stdoutOutput.result(o.format === 'json' ? JSON.stringify(w, null, 2) : `waiver ${w.id} requested (${w.ids.join(', ')}); a member of the security team approves it: portcullis waiver approve ${w.id}`);
    });
  for (const verb of ['approve', 'reject'] as const) {
    apiCommand(waiver.command(verb).argument('<id>').description(`${verb} a pending waiver (the security team; never your own)`))
      .option('--comment <text>')
      .action(async (id: string, o: Api & { comment?: string }) => {
        const w = await (await client(io, o)).request<Waiver>('POST', `/api/v1/waivers/${enc(id)}/${verb}`, o.comment !== undefined ? { comment: o.comment } : {});
        stdoutOutput.result(`waiver ${w.id} ${w.state}`);
      });
  }
  apiCommand(waiver.command('list').description("list a project's waivers (all of them: administrators and the security team)"))
    .option('--project <project>')
    .addOption(new Option('--state <state>').choices(['pending', 'approved', 'rejected']))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (o: Api & { project?: string; state?: string; format: OutputFormat; output?: string }) => {
      const q = new URLSearchParams({ ...(o.project !== undefined ? { project: o.project } : {}), ...(o.state !== undefined ? { state: o.state } : {}) });
      const list = await (await client(io, o)).request<Waiver[]>('GET', `/api/v1/waivers${q.size > 0 ? `?${q.toString()}` : ''}`);
      outputOf(o).result(
        render(o.format, list, ['ID', 'STATE', 'SCOPE', 'IDS', 'REQUESTED BY', 'DECIDED BY', 'EXPIRES'], (w: Waiver) => [
          w.id,
          w.state,
          w.digest !== null ? `${w.repository}@${w.digest.slice(0, 19)}` : (w.repository ?? w.project),
          w.ids.join(' '),
          w.requestedBy,
          w.decidedBy ?? '',
          w.expiresAt,
        ]),
      );
    });

  apiCommand(program.command('promote').argument('<source>', 'PROJECT/REPOSITORY:TAG or @DIGEST (a registry host before it is ignored)').argument('<target>', 'PROJECT/REPOSITORY:TAG').description("copy an image into another project through its promotion gates (server-side: no blob moves; signed by the target project's key)"))
    .addOption(formatOption())
    .action(async (source: string, target: string, o: Api & { format: OutputFormat }) => {
      const c = await client(io, o);
      const p = await c.request<{ source: string; target: string; signature: string | null; gates: { gate: string; reason: string }[] }>('POST', '/api/v1/promotions', { source: withoutRegistry(source), target: withoutRegistry(target) }).catch(failedGates(`promotion of ${source} to ${target}`));
      if (o.format === 'json') stdoutOutput.result(JSON.stringify(p, null, 2));
      else stdoutOutput.result(`promoted ${p.source} to ${p.target}${p.signature !== null ? `, signed (${p.signature})` : ' (not signed: the target project has no signing key)'}`);
    });
}
