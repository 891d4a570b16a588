/**
 * `portcullis search cve ID` and `portcullis search package NAME[@VERSION]|PURL`: which images of a
 * Portcullis server hold a vulnerability or a package (GET /api/v1/vulnerabilities/{id}/artifacts,
 * GET /api/v1/packages), among the projects the caller may pull from. Results to stdout or `-o
 * FILE` as a table or JSON; `--exit-code N` when any image is found (for a CI job that watches a CVE).
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ApiClient } from './client.js';
import { CliError } from './errors.js';
import { fileOutput, stdoutOutput, table, type OutputFormat } from './output.js';
import type { CliIo, CliState } from './program.js';

interface HeldPackage {
  ecosystem: string;
  name: string;
  installedVersion: string;
  fixedVersion?: string;
  severity?: string;
}
interface Artifact {
  project: string;
  repository: string;
  digest: string;
  tags: string[];
  packages: HeldPackage[];
}
interface SearchPage {
  total: number;
  artifacts: Artifact[];
  vulnerability?: { id: string; severity: string; summary?: string; knownExploited?: unknown };
}

interface Options {
  server?: string;
  insecure?: boolean;
  format: OutputFormat;
  output?: string;
  limit: string;
  exitCode: string;
  ecosystem?: string;
}

/** The API's largest page. */
const PAGE_SIZE = 100;

/** Every page of a search, up to `limit` images. */
async function collect(client: ApiClient, path: string, params: URLSearchParams, limit: number): Promise<SearchPage> {
  const out: SearchPage = { total: 0, artifacts: [] };
  for (let page = 1; out.artifacts.length < limit; page++) {
    params.set('page', String(page));
    params.set('page_size', String(PAGE_SIZE));
    const r = await client.request<SearchPage>('GET', `${path}?${params.toString()}`);
    out.total = r.total;
    if (r.vulnerability !== undefined) out.vulnerability = r.vulnerability;
    out.artifacts.push(...r.artifacts.slice(0, limit - out.artifacts.length));
    if (page * PAGE_SIZE >= r.total || r.artifacts.length === 0) break;
  }
  return out;
}

function render(result: SearchPage, o: Options, io: CliIo, state: CliState): void {
  const text =
    o.format === 'json'
      ? JSON.stringify(result, null, 2)
      : table(
          ['REPOSITORY', 'TAGS', 'DIGEST', 'PACKAGE', 'INSTALLED', 'FIXED'],
          result.artifacts.flatMap((a) =>
            a.packages.map((p) => [a.repository, a.tags.length > 0 ? a.tags.join(',') : '-', a.digest.slice(0, 19), p.ecosystem === p.name ? p.name : `${p.name} (${p.ecosystem})`, p.installedVersion, p.fixedVersion ?? '-']),
          ),
        );
  (o.output === undefined ? stdoutOutput : fileOutput(resolve(io.cwd, o.output))).result(text);
  if (o.format !== 'json') process.stderr.write(`${result.total} image${result.total === 1 ? '' : 's'}${result.artifacts.length < result.total ? ` (${result.artifacts.length} shown: --limit)` : ''}\n`);
  if (result.total > 0) state.exitCode = Number(o.exitCode);
}

function checked(o: Options): number {
  if (!/^\d+$/.test(o.exitCode) || Number(o.exitCode) > 255) throw new CliError('USAGE', `--exit-code must be an integer from 0 to 255, not "${o.exitCode}"`);
  if (!/^\d{1,7}$/.test(o.limit) || Number(o.limit) < 1) throw new CliError('USAGE', `--limit must be a positive integer, not "${o.limit}"`);
  return Number(o.limit);
}

function common(cmd: Command): Command {
  return cmd
    .option('-s, --server <url>', 'Portcullis server (default $PORTCULLIS_SERVER); credentials from $PORTCULLIS_USERNAME/$PORTCULLIS_PASSWORD or portcullis login')
    .option('--insecure', 'use plain HTTP for a server given without a scheme')
    .addOption(new Option('-f, --format <format>', 'result format').choices(['table', 'json']).default('table'))
    .option('-o, --output <file>', 'write the result to FILE instead of stdout')
    .option('--limit <n>', 'at most this many images', '1000')
    .option('--exit-code <n>', 'exit with this code when any image is found', '0');
}

export function registerSearch(program: Command, io: CliIo, state: CliState): void {
  const search = program.command('search').description('which images of a server hold a vulnerability or a package (those you may pull)');
  const client = (o: Options) => ApiClient.create({ server: o.server, insecure: o.insecure }, io.env);

  common(search.command('cve').argument('<id>', 'CVE-2024-3094, GHSA-…, or any id or alias the advisory DB knows').description('images holding a version a vulnerability affects, with installed and fixed versions')).action(
    async (id: string, o: Options) => {
      const limit = checked(o);
      render(await collect(await client(o), `/api/v1/vulnerabilities/${encodeURIComponent(id)}/artifacts`, new URLSearchParams(), limit), o, io, state);
    },
  );

  common(search.command('package').argument('<package>', 'NAME, NAME@VERSION, or a purl (pkg:npm/lodash@4.17.20, pkg:deb/debian/openssl?distro=debian-12)').description('images holding a package'))
    .option('--ecosystem <name>', 'only this ecosystem (npm, pypi, maven, debian:12, …)')
    .action(async (spec: string, o: Options) => {
      const limit = checked(o);
      const params = new URLSearchParams();
      if (spec.startsWith('pkg:')) {
        if (o.ecosystem !== undefined) throw new CliError('USAGE', 'a purl holds its ecosystem: drop --ecosystem');
        params.set('purl', spec);
      } else {
        // NAME@VERSION; a scoped npm name starts with @ (`@babel/core@7.0.0`).
        const at = spec.lastIndexOf('@');
        const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
        if (name === '' || version === '') throw new CliError('USAGE', `"${spec}" is not NAME, NAME@VERSION or a purl`);
        params.set('name', name);
        if (version !== undefined) params.set('version', version);
        if (o.ecosystem !== undefined) params.set('ecosystem', o.ecosystem);
      }
      render(await collect(await client(o), '/api/v1/packages', params, limit), o, io, state);
    });
}
