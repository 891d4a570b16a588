/**
 * `portcullis sbom` on a real image against real tools' ground truth: a Debian bookworm rootfs
 * from debootstrap (its packages as `dpkg-query` lists them) plus a layer holding this project's
 * npm app (its packages as `npm ls --all --json` lists them) and a layer that whites out one
 * package, assembled by umoci into an OCI layout. The rootfs is cached between runs.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requireTools, tempDir } from '../helpers/env.js';
import { ADMIN_PASSWORD, createProject, startTestServer } from '../helpers/server.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const CACHE = process.env['PORTCULLIS_TEST_CACHE'] ?? join(homedir(), '.cache', 'portcullis-test');
const TOOLS = ['debootstrap', 'umoci', 'dpkg-query', 'tar', 'npm'];

/** debootstrap's minbase bookworm, built once (about 30 s) and kept; built aside, then renamed. */
function debianRootfs(): string {
  const dir = join(CACHE, 'debootstrap-bookworm-minbase-v1');
  if (existsSync(join(dir, 'var/lib/dpkg/status'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', tmp, 'http://deb.debian.org/debian'], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`debootstrap failed (${r.status}): ${r.stderr.slice(-2000)}`);
  }
  renameSync(tmp, dir);
  return dir;
}

function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...(cwd !== undefined ? { cwd } : {}) });
}

interface JsonInventory {
  packages: { name: string; version: string; type: string; namespace?: string; purl: string; locations: { path: string; layer?: string }[] }[];
  distro?: { id: string; versionId?: string };
  warnings: string[];
}

function runSbom(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [CLI, 'sbom', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, CI: 'true' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** The CLI without blocking this process (the registry it reads may run in it). */
function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; status: number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 });
    });
  });
}

/** name@version of every package `npm ls --all --json` shows (deduped entries included once). */
function npmLsPackages(dir: string): Set<string> {
  const r = spawnSync('npm', ['ls', '--all', '--json'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const tree = JSON.parse(r.stdout) as { dependencies?: Record<string, { version?: string; dependencies?: unknown }> };
  const out = new Set<string>();
  const walk = (deps: Record<string, { version?: string; dependencies?: unknown }> | undefined): void => {
    for (const [name, d] of Object.entries(deps ?? {})) {
      if (d.version !== undefined) out.add(`${name}@${d.version}`);
      walk(d.dependencies as Record<string, { version?: string; dependencies?: unknown }> | undefined);
    }
  };
  walk(tree.dependencies);
  return out;
}

describe('portcullis sbom on a debootstrap + npm image built by umoci', () => {
  let layout = '';
  let rootfs = '';
  let expectedDeb = new Set<string>();
  let expectedNpm = new Set<string>();
  let removed = '';
  let ready = false;
  let work = '';
  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  before(async () => {
    if (TOOLS.some((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) || process.getuid?.() !== 0) return;
    rootfs = debianRootfs();
    work = join(CACHE, `sbom-image-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    layout = join(work, 'layout');
    sh('umoci', ['init', '--layout', layout]);
    sh('umoci', ['new', '--image', `${layout}:test`]);
    // Layer 1: the Debian rootfs, written by GNU tar (umoci's own insert writes unpadded tars).
    sh('tar', ['-C', rootfs, '--numeric-owner', '-cf', join(work, 'base.tar'), '.']);
    sh('umoci', ['raw', 'add-layer', '--image', `${layout}:test`, join(work, 'base.tar')]);
    // Layer 2: this project as an npm app (package.json, lockfile, node_modules).
    const app = join(work, 'app-root', 'app');
    mkdirSync(app, { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(app, f));
    cpSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    sh('tar', ['-C', join(work, 'app-root'), '--numeric-owner', '-cf', join(work, 'app.tar'), '.']);
    sh('umoci', ['raw', 'add-layer', '--image', `${layout}:test`, join(work, 'app.tar')]);
    // Layer 3: a whiteout removes one npm package the layer below installed.
    const version = (JSON.parse(sh('node', ['-p', 'JSON.stringify(require("./node_modules/yaml/package.json"))'], ROOT)) as { version: string }).version;
    removed = `yaml@${version}`;
    const wh = join(work, 'wh-root', 'app', 'node_modules');
    mkdirSync(wh, { recursive: true });
    writeFileSync(join(wh, '.wh.yaml'), '');
    sh('tar', ['-C', join(work, 'wh-root'), '--numeric-owner', '-cf', join(work, 'wh.tar'), '.']);
    sh('umoci', ['raw', 'add-layer', '--image', `${layout}:test`, join(work, 'wh.tar')]);
    for (const f of ['base.tar', 'app.tar', 'wh.tar']) rmSync(join(work, f));
    rmSync(join(work, 'app-root'), { recursive: true, force: true });

    expectedDeb = new Set(
      sh('dpkg-query', ['-W', '-f', '${Package}\t${Version}\t${db:Status-Abbrev}\n', `--admindir=${join(rootfs, 'var/lib/dpkg')}`])
        .trim()
        .split('\n')
        .filter((l) => l.split('\t')[2]?.startsWith('ii'))
        .map((l) => `${l.split('\t')[0]}@${l.split('\t')[1]}`),
    );
    // npm ls lists the dependency tree under the project; the project itself is a package too.
    expectedNpm = npmLsPackages(ROOT);
    const project = JSON.parse(sh('cat', [join(ROOT, 'package.json')])) as { name: string; version: string };
    expectedNpm.add(`${project.name}@${project.version}`);
    ready = true;
  });

  test('deb packages are exactly what dpkg-query lists, npm packages what npm ls lists; a whiteout hides a file of a lower layer', (t) => {
    if (!requireTools(t, ...TOOLS)) return;
    if (!ready) return t.skip('needs root for debootstrap');
    const r = runSbom([`oci-dir:${layout}:test`, '-f', 'json', '--no-cache']);
    assert.equal(r.status, 0, r.stderr);
    const inv = JSON.parse(r.stdout) as JsonInventory;
    assert.equal(inv.distro?.id, 'debian');
    assert.equal(inv.distro?.versionId, '12');
    const deb = new Set(inv.packages.filter((p) => p.type === 'deb').map((p) => `${p.name}@${p.version}`));
    assert.deepEqual([...deb].sort(), [...expectedDeb].sort());
    const npm = new Set(inv.packages.filter((p) => p.type === 'npm').map((p) => `${p.namespace !== undefined ? `${p.namespace}/` : ''}${p.name}@${p.version}`));
    const missing = [...expectedNpm].filter((x) => !npm.has(x));
    const extra = [...npm].filter((x) => !expectedNpm.has(x));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
    // The lockfile still names the whited-out package, but its installed copy is gone.
    const yaml = inv.packages.find((p) => p.type === 'npm' && `${p.name}@${p.version}` === removed);
    assert.ok(yaml !== undefined, `${removed} is still declared by package-lock.json`);
    assert.deepEqual(yaml.locations.map((l) => l.path).filter((p) => p.includes('node_modules/yaml/')), [], `${removed}'s node_modules copy was whited out by the top layer`);
    assert.ok(
      inv.packages.some((p) => p.type === 'npm' && p.locations.some((l) => l.path.startsWith('app/node_modules/') && l.path.endsWith('/package.json'))),
      'installed packages are found in node_modules',
    );
    // Each package knows the layer its file came from.
    const layers = JSON.parse(sh('cat', [join(layout, 'index.json')])) as { manifests: { digest: string }[] };
    assert.ok(layers.manifests.length > 0);
    for (const p of inv.packages) assert.ok(p.locations.every((l) => typeof l.layer === 'string' && l.layer.startsWith('sha256:')), `${p.purl} has layer-attributed locations`);
    const bash = inv.packages.find((p) => p.type === 'deb' && p.name === 'bash');
    assert.match(bash?.purl ?? '', /^pkg:deb\/debian\/bash@.+\?arch=amd64&distro=debian-12/);
  });

  test('a second run reads every layer from the cache and gives the same inventory', (t) => {
    if (!requireTools(t, ...TOOLS)) return;
    if (!ready) return t.skip('needs root for debootstrap');
    const cache = tempDir(t);
    const cold = runSbom([`oci-dir:${layout}:test`, '-f', 'json', '--cache-dir', cache]);
    assert.equal(cold.status, 0, cold.stderr);
    const warm = runSbom([`oci-dir:${layout}:test`, '-f', 'json', '--cache-dir', cache]);
    assert.equal(warm.status, 0, warm.stderr);
    assert.deepEqual(JSON.parse(warm.stdout), JSON.parse(cold.stdout));
    assert.ok(existsSync(join(cache, 'layers')), 'the cache holds layer entries');
  });

  test('dir: on the unpacked rootfs lists the same deb packages', (t) => {
    if (!requireTools(t, ...TOOLS)) return;
    if (!ready) return t.skip('needs root for debootstrap');
    const r = runSbom([`dir:${rootfs}`, '-f', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const inv = JSON.parse(r.stdout) as JsonInventory;
    assert.deepEqual(inv.packages.filter((p) => p.type === 'deb').map((p) => `${p.name}@${p.version}`).sort(), [...expectedDeb].sort());
  });

  test('the same image pushed to Portcullis by skopeo, read back through token auth with Docker config credentials', async (t) => {
    if (!requireTools(t, ...TOOLS, 'skopeo')) return;
    if (!ready) return t.skip('needs root for debootstrap');
    const s = await startTestServer(t);
    await createProject(s, 'team');
    const copy = await runAsync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${layout}:test`, `docker://${s.host}/team/app:1.0`], process.env);
    assert.equal(copy.status, 0, copy.stderr);
    const dockerConfig = tempDir(t);
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [s.host]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } } }));
    const env = { ...process.env, CI: 'true', DOCKER_CONFIG: dockerConfig };
    const viaRegistry = await runAsync(process.execPath, [CLI, 'sbom', `${s.host}/team/app:1.0`, '--insecure', '-f', 'json', '--no-cache'], env);
    assert.equal(viaRegistry.status, 0, viaRegistry.stderr);
    const local = runSbom([`oci-dir:${layout}:test`, '-f', 'json', '--no-cache']);
    const purls = (out: string): string[] => (JSON.parse(out) as JsonInventory).packages.map((p) => p.purl).sort();
    assert.deepEqual(purls(viaRegistry.stdout), purls(local.stdout));
    // Without credentials the private project answers with a way out, and a non-zero exit.
    const anonymous = await runAsync(process.execPath, [CLI, 'sbom', `${s.host}/team/app:1.0`, '--insecure', '--no-cache'], { ...process.env, DOCKER_CONFIG: tempDir(t) });
    assert.equal(anonymous.status, 1);
    assert.match(anonymous.stderr, /portcullis login|docker login/);
  });
});
