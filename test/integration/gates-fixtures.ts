/**
 * Fixtures of the gates scenario (gates.test.ts): the accounts that play it, each with a home of
 * its own for the real CLI (its Docker config holds its registry credentials, the API commands
 * get theirs from PORTCULLIS_USERNAME/PASSWORD), the advisory DB, and the images: Debian-like
 * layers (os-release + dpkg status) that the scanner reads, with an app layer on top.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Advisory } from '../helpers/advisory-db.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';
import { seededBytes, writeImageLayout, type BuiltImage, type LayerEntry } from '../helpers/images.js';
import type { TestServer } from '../helpers/server.js';

// ------------------------------------------------------------------ accounts and their CLI

export interface Actor {
  readonly name: string;
  readonly password: string;
  /** HOME and working directory of this account's CLI runs (keys and policy files live here). */
  readonly home: string;
  /** `portcullis ARGS --server URL`, signed in as this account through the environment. */
  api(...args: string[]): Promise<CliResult>;
  /** `portcullis ARGS --server URL` with `input` on stdin (`--password-stdin`). */
  apiWithInput(input: string, ...args: string[]): Promise<CliResult>;
  /** `portcullis ARGS` (key, sign, verify: registry credentials from the Docker config), with extra environment. */
  cli(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
}

/** An account's CLI: a fresh home whose Docker config holds `name:password` for the server. */
export function actor(t: TestContext, s: TestServer, name: string, password: string): Actor {
  const home = tempDir(t, `portcullis-gates-${name.replace(/[^a-z0-9]/gi, '')}-`);
  mkdirSync(join(home, '.docker'), { recursive: true });
  writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [s.host]: { auth: Buffer.from(`${name}:${password}`).toString('base64') } } }));
  const env = { PORTCULLIS_USERNAME: name, PORTCULLIS_PASSWORD: password };
  return {
    name,
    password,
    home,
    api: (...args) => runCli(home, [...args, '--server', s.url], env),
    apiWithInput: (input, ...args) => runCli(home, [...args, '--server', s.url], env, input),
    cli: (args, extra = {}) => runCli(home, args, extra),
  };
}


/** The gates a refused promotion printed, one `  ✗ GATE: reason` line each: gate → reason. */
export function failedGates(stderr: string): Map<string, string> {
  return new Map([...stderr.matchAll(/^ {2}✗ ([a-z-]+): (.*)$/gmu)].map((m) => [m[1]!, m[2]!]));
}

// ------------------------------------------------------------------ the advisory DB

/** A CRITICAL flaw of OpenSSL, fixed in 3.0.13-1~deb12u1: the incident image has it, the fixed one not. */
export const OPENSSL_CVE = 'CVE-2099-4401';
/** A HIGH flaw of zlib with no fix yet: both images have it, only a waiver lets it through. */
export const ZLIB_CVE = 'CVE-2099-4402';
export const ADVISORIES: readonly Advisory[] = [
  { id: OPENSSL_CVE, ecosystem: 'debian:12', name: 'openssl', fixed: '3.0.13-1~deb12u1', severity: 'CRITICAL' },
  { id: ZLIB_CVE, ecosystem: 'debian:12', name: 'zlib', severity: 'HIGH' },
  // Installed nowhere: must match nothing.
  { id: 'CVE-2099-4409', ecosystem: 'debian:12', name: 'curl', fixed: '7.88.1-10+deb12u9', severity: 'CRITICAL' },
];

// ------------------------------------------------------------------ images

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';

function dpkgStatus(opensslVersion: string): string {
  return [
    `Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: ${opensslVersion}\n`,
    'Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n',
  ].join('\n');
}

function debianLayer(opensslVersion: string): LayerEntry[] {
  return [
    { type: 'dir', path: 'etc' },
    { type: 'file', path: 'etc/os-release', data: OS_RELEASE },
    { type: 'dir', path: 'var' },
    { type: 'dir', path: 'var/lib' },
    { type: 'dir', path: 'var/lib/dpkg' },
    { type: 'file', path: 'var/lib/dpkg/status', data: dpkgStatus(opensslVersion) },
  ];
}

/** The application: one executable, /app/processor (its bytes differ by `seed`). */
function appLayer(seed: string, extra: readonly LayerEntry[] = []): LayerEntry[] {
  return [{ type: 'dir', path: 'app' }, { type: 'file', path: 'app/processor', data: Buffer.concat([Buffer.from('\x7fELF'), seededBytes(`gates/${seed}`, 4096)]), mode: 0o755 }, ...extra];
}

// A GitHub token (the format only: 36 characters that were never a real token).
const TOKEN = `ghp_${'Q9w8E7r6T5'.repeat(3)}y4U3i2`;

export interface Images {
  /** The OCI layout every image is in, by tag. */
  readonly dir: string;
  /**
   * 1.4.2, the incident: OpenSSL with the CRITICAL flaw, zlib with the HIGH one, an entrypoint that
   * names /app/processr (only /app/processor exists), running as root, a GitHub token in the image.
   */
  readonly incident: BuiltImage;
  /** 1.4.3, the fix: OpenSSL fixed, the right entrypoint, user 1000, no token; zlib's flaw stays. */
  readonly fixed: BuiltImage;
  /** Small clean images that differ only in content, for the signature gate. */
  readonly plain: Readonly<Record<'unsigned' | 'ci' | 'rogue', BuiltImage>>;
}

export async function writeImages(dir: string): Promise<Images> {
  const incident = await writeImageLayout(dir, '1.4.2', [debianLayer('3.0.11-1~deb12u2'), appLayer('1.4.2', [{ type: 'file', path: 'app/deploy.env', data: `GITHUB_TOKEN=${TOKEN}\n` }])], { entrypoint: ['/app/processr'], label: 'processor 1.4.2' });
  const fixed = await writeImageLayout(dir, '1.4.3', [debianLayer('3.0.13-1~deb12u1'), appLayer('1.4.3')], { entrypoint: ['/app/processor'], user: '1000', label: 'processor 1.4.3' });
  const plain = async (name: string) => writeImageLayout(dir, name, [appLayer(name)], { entrypoint: ['/app/processor'], user: '1000', label: `plain ${name}` });
  return { dir, incident, fixed, plain: { unsigned: await plain('unsigned'), ci: await plain('ci'), rogue: await plain('rogue') } };
}
