/**
 * The image every image benchmark reads (SBOM, scanning, signing): a Debian bookworm image of
 * three gzip layers, about 800 MB uncompressed, built once per machine and cached:
 *   1. base      `debootstrap --variant=minbase bookworm` (the 88 packages of a minimal Debian)
 *   2. runtimes  `apt-get install --no-install-recommends` of openjdk-17-jdk-headless, maven,
 *                python3, python3-pip, python3-venv, nodejs, npm, git, curl (in a chroot)
 *   3. app       a Node app with a package-lock.json and real node_modules (npm registry), a
 *                Python venv (pip and setuptools dist-info), a jar with Maven pom.properties,
 *                and `apt-get purge --auto-remove python3-pip`: files of layer 2 deleted by
 *                layer 3, so the layer carries whiteouts and a rewritten dpkg status.
 * Layers are made the way image builders make them: each is the difference of the root filesystem
 * before and after its step (new or changed inodes, found by ctime; deletions as `.wh.` files),
 * written by GNU tar (gnu format, numeric owners) and compressed by pigz. The OCI image layout is
 * written here directly (oci-layout, index.json, blobs/sha256): no other tool is needed.
 *
 * Cached under ${PORTCULLIS_BENCH_CACHE:-~/.cache/portcullis-bench}/image-fixture-v1/:
 *   layout/        the OCI layout, tag `bench`
 *   rootfs/        the same image unpacked (for `dir:` runs and peers that read directories)
 *   fixture.json   what was built: layers (digest, diff id, sizes, whiteouts), packages, timings
 *   logs/          the build's command output
 * A build happens in a sibling directory named `.tmp-PID` and is renamed into place when it is
 * complete, so a half-built fixture is never used; a lock directory keeps two benchmarks on one
 * machine from building it at once. Needs Linux, root and Debian's debootstrap and pigz.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { which } from './proc.js';

export interface ImageFixture {
  /** OCI image layout directory: use as `oci-dir:${layoutDir}:${tag}`. */
  readonly layoutDir: string;
  readonly tag: string;
  /** The image's root filesystem, unpacked (all layers applied). */
  readonly rootfs: string;
  /** The layer blobs (gzip), in manifest order: absolute paths inside layoutDir. */
  readonly layerBlobs: string[];
}

export interface FixtureLayer {
  readonly name: string;
  readonly createdBy: string;
  readonly digest: string;
  readonly diffId: string;
  /** Compressed size (the blob). */
  readonly size: number;
  /** Size of the uncompressed tar stream. */
  readonly uncompressedSize: number;
  readonly entries: number;
  readonly whiteouts: number;
}

export interface FixtureManifest {
  readonly version: string;
  readonly tag: string;
  readonly builtAt: string;
  readonly buildSeconds: number;
  readonly suite: string;
  readonly mirror: string;
  readonly manifestDigest: string;
  readonly layers: readonly FixtureLayer[];
}

export const FIXTURE_VERSION = 'image-fixture-v1';
const TAG = 'bench';
const SUITE = 'bookworm';
const RUNTIME_PACKAGES = ['openjdk-17-jdk-headless', 'maven', 'python3', 'python3-pip', 'python3-venv', 'nodejs', 'npm', 'git', 'curl', 'ca-certificates'];
/** The app's npm dependencies, pinned: the same tree on every machine. */
const APP_NPM_DEPENDENCIES: Record<string, string> = {
  express: '4.21.2',
  lodash: '4.17.21',
  axios: '1.7.9',
  typescript: '5.6.3',
  'date-fns': '4.1.0',
  pino: '9.5.0',
};
const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Subtrees of the build root that never go into a layer (debootstrap's device nodes, mounts). */
const EXCLUDED = ['dev', 'proc', 'sys'];

export type Log = (message: string) => void;

/** Where benchmarks keep what they build or download once: ${PORTCULLIS_BENCH_CACHE:-~/.cache/portcullis-bench}. */
export function benchCacheDir(): string {
  const env = process.env['PORTCULLIS_BENCH_CACHE'];
  return env !== undefined && env !== '' ? env : join(homedir(), '.cache', 'portcullis-bench');
}

/** The fixture image, built first when this machine has none yet (about 5 minutes). */
export async function ensureImageFixture(log: Log): Promise<ImageFixture> {
  const root = benchCacheDir();
  const final = join(root, FIXTURE_VERSION);
  mkdirSync(root, { recursive: true });
  const ready = loadFixture(final);
  if (ready !== undefined) return ready;

  const lock = join(root, `${FIXTURE_VERSION}.lock`);
  await acquireLock(lock, log);
  try {
    const again = loadFixture(final);
    if (again !== undefined) return again;
    if (existsSync(final)) {
      // There but unreadable (an older layout, a blob gone): move it aside and rebuild.
      log(`fixture: ${final} is incomplete; rebuilding it`);
      const aside = join(root, `.${FIXTURE_VERSION}.broken-${process.pid}`);
      renameSync(final, aside);
      removeTree(aside);
    }
    removeStaleBuilds(root);
    const tmp = join(root, `.${FIXTURE_VERSION}.tmp-${process.pid}`);
    const onSignal = (signal: NodeJS.Signals): void => {
      // Stop the step that runs (debootstrap, apt in the chroot), then unmount what the chroot
      // steps mounted inside the build tree: never leave proc mounted there.
      process.stderr.write(`fixture: build interrupted by ${signal}; stopping it\n`);
      void stopActiveChild().finally(() => {
        unmountUnder(tmp);
        process.stderr.write(`fixture: ${tmp} left for the next run to remove\n`);
        process.exit(130);
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await buildFixture(tmp, log);
      renameSync(tmp, final);
    } catch (err) {
      unmountUnder(tmp);
      removeTree(tmp);
      throw err;
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      unmountUnder(tmp);
    }
    const built = loadFixture(final);
    if (built === undefined) throw new Error(`fixture: ${final} was built but cannot be read back`);
    return built;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The fixture's description (layers, sizes, build time) when it is built. */
export function fixtureManifest(): FixtureManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(benchCacheDir(), FIXTURE_VERSION, 'fixture.json'), 'utf8')) as FixtureManifest;
  } catch {
    return undefined;
  }
}

function loadFixture(dir: string): ImageFixture | undefined {
  let manifest: FixtureManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as FixtureManifest;
  } catch {
    return undefined;
  }
  if (manifest.version !== FIXTURE_VERSION || !Array.isArray(manifest.layers) || manifest.layers.length === 0) return undefined;
  const layoutDir = join(dir, 'layout');
  const layerBlobs = manifest.layers.map((l) => join(layoutDir, 'blobs', 'sha256', l.digest.replace(/^sha256:/, '')));
  for (const [i, blob] of layerBlobs.entries()) {
    try {
      if (statSync(blob).size !== manifest.layers[i]!.size) return undefined;
    } catch {
      return undefined;
    }
  }
  if (!existsSync(join(layoutDir, 'index.json')) || !existsSync(join(dir, 'rootfs', 'etc', 'os-release'))) return undefined;
  return { layoutDir, tag: manifest.tag, rootfs: join(dir, 'rootfs'), layerBlobs };
}

async function acquireLock(lock: string, log: Log): Promise<void> {
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(readText(join(lock, 'pid')) ?? NaN);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      if (!told) log(`fixture: process ${pid} is building the fixture; waiting for it`);
      told = true;
      await sleep(5000);
      continue;
    }
    // A lock without a live owner: left by a build that was killed. The pid file may not be
    // written yet by an owner that just made the directory, so give it a moment first.
    await sleep(1000);
    const again = Number(readText(join(lock, 'pid')) ?? NaN);
    if (Number.isInteger(again) && again > 0 && alive(again)) continue;
    rmSync(lock, { recursive: true, force: true });
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Build directories of earlier runs whose process is gone. */
function removeStaleBuilds(root: string): void {
  for (const name of readdirSync(root)) {
    const m = /^\.image-fixture-v\d+\.(?:tmp|broken)-(\d+)$/.exec(name);
    if (m === null || (Number(m[1]) !== process.pid && alive(Number(m[1])))) continue;
    const dir = join(root, name);
    unmountUnder(dir);
    removeTree(dir);
  }
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
function mountsUnder(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info
    .split('\n')
    .map((line) => unescape(line.split(' ')[4] ?? ''))
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `dir`; lazily when a plain umount is refused. */
function unmountUnder(dir: string): void {
  for (const mp of mountsUnder(dir)) {
    if (spawnSync('umount', [mp], { stdio: 'ignore' }).status !== 0) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
}

/** rm -rf, but never across a mount point (a proc or a bind mount left inside a build root). */
function removeTree(dir: string): void {
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`fixture: not removing ${dir}: still mounted there: ${left.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

function requireTool(name: string, pkg: string): string {
  const found = which(name) ?? (existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : undefined);
  if (found === undefined) throw new Error(`fixture: ${name} is not installed: apt-get install -y ${pkg}`);
  return found;
}

interface Tools {
  debootstrap: string;
  chroot: string;
  tar: string;
  pigz: string;
  find: string;
  mount: string;
  npm: string;
}

async function buildFixture(tmp: string, log: Log): Promise<void> {
  if (process.platform !== 'linux') throw new Error('fixture: building the image needs Linux (debootstrap, chroot)');
  if (process.getuid?.() !== 0) throw new Error('fixture: building the image needs root (debootstrap and chroot); run the benchmark as root once, then the cached image serves everyone');
  const tools: Tools = {
    debootstrap: requireTool('debootstrap', 'debootstrap'),
    chroot: requireTool('chroot', 'coreutils'),
    tar: requireTool('tar', 'tar'),
    pigz: requireTool('pigz', 'pigz'),
    find: requireTool('find', 'findutils'),
    mount: requireTool('mount', 'mount'),
    npm: requireTool('npm', 'npm'),
  };
  const mirror = process.env['PORTCULLIS_BENCH_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';
  const started = Date.now();
  const rootfs = join(tmp, 'rootfs');
  const layout = join(tmp, 'layout');
  const logs = join(tmp, 'logs');
  const work = join(tmp, 'work');
  for (const d of [logs, work, join(layout, 'blobs', 'sha256')]) mkdirSync(d, { recursive: true });
  log(`fixture: building the benchmark image in ${tmp} (about 5 minutes; logs in ${logs})`);

  const layers: FixtureLayer[] = [];
  const history: { created: string; created_by: string; comment: string }[] = [];
  let before = new Map<string, string>();

  const step = async (name: string, createdBy: string, comment: string, body: () => Promise<void>): Promise<void> => {
    const t0 = Date.now();
    const marker = join(work, `${name}.marker`);
    writeFileSync(marker, '');
    // ctime is stamped from the kernel's coarse clock: let it move past the marker's mtime.
    await sleep(50);
    await body();
    const after = await listTree(tools.find, rootfs);
    const changed = before.size === 0 ? [...after.keys()] : await listTree(tools.find, rootfs, marker).then((m) => [...m.keys()]);
    const deleted = topDeleted(before, after);
    const layer = await writeLayer(tools, { name, rootfs, work, layout, changed, deleted, createdBy, index: layers.length });
    layers.push(layer);
    history.push({ created: new Date().toISOString(), created_by: createdBy, comment });
    before = after;
    log(`fixture: layer ${layers.length} (${name}): ${mb(layer.uncompressedSize)} tar, ${mb(layer.size)} gzip, ${layer.entries} entries, ${layer.whiteouts} whiteouts, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  };

  await step('base', `debootstrap --variant=minbase ${SUITE}`, 'a minimal Debian', async () => {
    log(`fixture: debootstrap --variant=minbase ${SUITE} from ${mirror} (about 1 minute)`);
    await runLogged(tools.debootstrap, ['--variant=minbase', SUITE, rootfs, mirror], join(logs, 'debootstrap.log'));
    // debootstrap keeps the downloaded .debs and the package lists, and copies the host's
    // resolv.conf: an image (Debian's own on Docker Hub) has none of them.
    for (const f of readdirSync(join(rootfs, 'var/cache/apt/archives'))) if (f.endsWith('.deb')) rmSync(join(rootfs, 'var/cache/apt/archives', f));
    for (const f of readdirSync(join(rootfs, 'var/lib/apt/lists'))) rmSync(join(rootfs, 'var/lib/apt/lists', f), { recursive: true, force: true });
    rmSync(join(rootfs, 'etc/resolv.conf'), { force: true });
  });

  await step('runtimes', `apt-get install --no-install-recommends ${RUNTIME_PACKAGES.join(' ')}`, 'language runtimes', async () => {
    log(`fixture: apt-get install ${RUNTIME_PACKAGES.join(' ')} in the chroot (about 2–3 minutes)`);
    await inChroot(tools, rootfs, join(logs, 'runtimes.log'), [
      'apt-get update -q',
      `apt-get install -y -q --no-install-recommends ${RUNTIME_PACKAGES.join(' ')}`,
      'apt-get clean',
      'rm -rf /var/lib/apt/lists/* /tmp/* /root/.cache',
    ]);
  });

  await step('app', 'COPY app; npm install; python3 -m venv; javac; jar; apt-get purge --auto-remove python3-pip', 'the application', async () => {
    log('fixture: the app layer (npm install on the host into /srv/app, a venv and a jar in the chroot)');
    writeApp(rootfs);
    await runLogged(tools.npm, ['install', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], join(logs, 'npm.log'), join(rootfs, 'srv/app'));
    await inChroot(tools, rootfs, join(logs, 'app.log'), [
      'python3 -m venv /opt/venv',
      'cd /srv/app/java',
      'mkdir -p classes/META-INF/maven/com.example/hello',
      'cp pom.xml pom.properties classes/META-INF/maven/com.example/hello/',
      'javac -d classes src/com/example/Hello.java',
      'mkdir -p /srv/app/lib',
      'jar --create --file /srv/app/lib/hello-1.0.0.jar --main-class com.example.Hello -C classes .',
      'cd / && rm -rf /srv/app/java',
      'apt-get purge -y -q --auto-remove python3-pip',
      'rm -rf /tmp/* /root/.cache /root/.npm',
    ]);
    rmSync(join(rootfs, 'root/.npm'), { recursive: true, force: true });
  });

  // The unpacked image: what the layers hold, without debootstrap's device nodes.
  unmountUnder(rootfs);
  if (mountsUnder(rootfs).length > 0) throw new Error(`fixture: ${rootfs} still has mounts`);
  for (const d of EXCLUDED) for (const f of readdirSync(join(rootfs, d))) rmSync(join(rootfs, d, f), { recursive: true, force: true });

  const manifestDigest = writeImage(layout, layers, history);
  const manifest: FixtureManifest = {
    version: FIXTURE_VERSION,
    tag: TAG,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
    suite: SUITE,
    mirror,
    manifestDigest,
    layers,
  };
  writeFileSync(join(tmp, 'fixture.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
  const total = layers.reduce((n, l) => n + l.uncompressedSize, 0);
  log(`fixture: built in ${manifest.buildSeconds} s: ${layers.length} layers, ${mb(total)} uncompressed, ${mb(layers.reduce((n, l) => n + l.size, 0))} gzip`);
}

/** The command a build step runs right now: stopped first when the build is interrupted. */
let activeChild: ChildProcess | undefined;

async function stopActiveChild(): Promise<void> {
  const child = activeChild;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Its own process group: apt-get and dpkg below the chroot's shell stop too.
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      child.kill(signal);
    }
  };
  killGroup('SIGTERM');
  const t = setTimeout(() => killGroup('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
}

/** Runs `cmd`, its output appended to `logFile`; on failure the error carries the log's tail. */
async function runLogged(cmd: string, args: readonly string[], logFile: string, cwd?: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const fd = openSync(logFile, 'a');
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
      activeChild = child;
      child.once('error', reject);
      child.once('exit', (c, signal) => resolve(c ?? (signal !== null ? 128 : 1)));
    }).finally(() => (activeChild = undefined));
    if (code !== 0) {
      const tail = (readText(logFile) ?? '').split('\n').slice(-25).join('\n');
      throw new Error(`fixture: ${cmd} ${args.join(' ')} exited with ${code}; the end of ${logFile}:\n${tail}`);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs shell lines in the build root: proc mounted (Java's and ca-certificates' maintainer
 * scripts want it), the host's resolv.conf for apt, services kept from starting; all of it undone
 * afterwards, also on failure.
 */
async function inChroot(tools: Tools, rootfs: string, logFile: string, lines: readonly string[]): Promise<void> {
  const resolv = join(rootfs, 'etc/resolv.conf');
  const policy = join(rootfs, 'usr/sbin/policy-rc.d');
  const hadResolv = existsSync(resolv);
  if (!hadResolv && existsSync('/etc/resolv.conf')) writeFileSync(resolv, readFileSync('/etc/resolv.conf'));
  writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await runLogged(tools.mount, ['-t', 'proc', 'proc', join(rootfs, 'proc')], logFile);
  try {
    const env = { PATH: CHROOT_PATH, HOME: '/root', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' };
    await runLogged(tools.chroot, [rootfs, '/bin/sh', '-ec', lines.join('\n')], logFile, undefined, env);
  } finally {
    unmountUnder(join(rootfs, 'proc'));
    rmSync(policy, { force: true });
    if (!hadResolv) rmSync(resolv, { force: true });
  }
}

function writeApp(rootfs: string): void {
  const app = join(rootfs, 'srv/app');
  mkdirSync(join(app, 'java/src/com/example'), { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true, description: 'the Portcullis benchmark image app', main: 'index.js', license: 'Apache-2.0', dependencies: APP_NPM_DEPENDENCIES }, null, 2)}\n`,
  );
  writeFileSync(
    join(app, 'index.js'),
    "const express = require('express');\nconst app = express();\napp.get('/', (_req, res) => res.send('ok'));\napp.listen(process.env.PORT || 8080);\n",
  );
  writeFileSync(
    join(app, 'java/src/com/example/Hello.java'),
    'package com.example;\n\npublic class Hello {\n  public static void main(String[] args) {\n    System.out.println("hello");\n  }\n}\n',
  );
  writeFileSync(
    join(app, 'java/pom.xml'),
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<project xmlns="http://maven.apache.org/POM/4.0.0">',
      '  <modelVersion>4.0.0</modelVersion>',
      '  <groupId>com.example</groupId>',
      '  <artifactId>hello</artifactId>',
      '  <version>1.0.0</version>',
      '  <packaging>jar</packaging>',
      '</project>',
      '',
    ].join('\n'),
  );
  writeFileSync(join(app, 'java/pom.properties'), 'groupId=com.example\nartifactId=hello\nversion=1.0.0\n');
}

/**
 * Paths below `rootfs` (relative, no leading slash) and their types (find's %y letter), leaving
 * out the contents of dev, proc and sys; only inodes changed after `newerThan` when given.
 */
async function listTree(find: string, rootfs: string, newerThan?: string): Promise<Map<string, string>> {
  const prune = EXCLUDED.flatMap((d, i) => [...(i > 0 ? ['-o'] : []), '-path', `${rootfs}/${d}/*`]);
  const args = [rootfs, '-xdev', '-mindepth', '1', '(', ...prune, ')', '-prune', '-o', ...(newerThan !== undefined ? ['-cnewer', newerThan] : []), '-printf', '%y %P\\0'];
  const out = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn(find, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`fixture: find ${rootfs} exited with ${code}: ${stderr}`))));
  });
  const map = new Map<string, string>();
  for (const rec of out.toString('utf8').split('\0')) {
    if (rec.length < 3) continue;
    map.set(rec.slice(2), rec[0]!);
  }
  return map;
}

/** Paths gone since `before` whose parent directory is still there: the whiteouts a layer needs. */
function topDeleted(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const path of before.keys()) {
    if (after.has(path)) continue;
    const parent = posix.dirname(path);
    if (parent !== '.' && after.get(parent) !== 'd') continue; // the parent went too, or is no directory now
    out.push(path);
  }
  return out;
}

interface LayerInput {
  readonly name: string;
  readonly rootfs: string;
  readonly work: string;
  readonly layout: string;
  readonly changed: readonly string[];
  readonly deleted: readonly string[];
  readonly createdBy: string;
  readonly index: number;
}

/** One layer: tar of the changed paths plus `.wh.` files for the deleted ones, through pigz. */
async function writeLayer(tools: Tools, l: LayerInput): Promise<FixtureLayer> {
  const list = join(l.work, `${l.name}.list`);
  writeFileSync(list, l.changed.map((p) => `${p}\0`).join(''));
  const args = ['--create', '--file=-', '--format=gnu', '--numeric-owner', '--no-recursion', '--null', '--verbatim-files-from', '-C', l.rootfs, '-T', list];
  if (l.deleted.length > 0) {
    const whDir = join(l.work, `${l.name}.whiteouts`);
    const whList = join(l.work, `${l.name}.whiteouts.list`);
    const names = l.deleted.map((p) => posix.join(posix.dirname(p), `.wh.${posix.basename(p)}`));
    for (const n of names) {
      mkdirSync(dirname(join(whDir, n)), { recursive: true });
      writeFileSync(join(whDir, n), '');
    }
    writeFileSync(whList, names.map((p) => `${p}\0`).join(''));
    args.push('-C', whDir, '-T', whList);
  }
  const tmpBlob = join(l.layout, 'blobs', 'sha256', `.${l.name}.tmp`);
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  let uncompressed = 0;
  let size = 0;
  const tar = spawn(tools.tar, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pigz = spawn(tools.pigz, ['-6', '-n', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = (child: ChildProcess, what: string): Promise<void> => {
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`fixture: ${what} exited with ${code}: ${stderr}`))));
    });
  };
  await Promise.all([
    exited(tar, `tar of layer ${l.name}`),
    exited(pigz, `pigz of layer ${l.name}`),
    pipeline(
      tar.stdout,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          diff.update(chunk);
          uncompressed += chunk.length;
          cb(null, chunk);
        },
      }),
      pigz.stdin!,
    ),
    pipeline(
      pigz.stdout!,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          blob.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
      createWriteStream(tmpBlob),
    ),
  ]);
  const digest = `sha256:${blob.digest('hex')}`;
  renameSync(tmpBlob, join(l.layout, 'blobs', 'sha256', digest.slice(7)));
  return { name: l.name, createdBy: l.createdBy, digest, diffId: `sha256:${diff.digest('hex')}`, size, uncompressedSize: uncompressed, entries: l.changed.length + l.deleted.length, whiteouts: l.deleted.length };
}

/** Config, manifest, index.json and oci-layout; returns the manifest's digest. */
function writeImage(layout: string, layers: readonly FixtureLayer[], history: readonly { created: string; created_by: string; comment: string }[]): string {
  const put = (bytes: Buffer): { digest: string; size: number } => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { digest, size: bytes.length };
  };
  const config = put(
    Buffer.from(
      JSON.stringify({
        created: history[history.length - 1]?.created,
        architecture: 'amd64',
        os: 'linux',
        config: {
          Env: [`PATH=${CHROOT_PATH}`, 'JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64', 'VIRTUAL_ENV=/opt/venv'],
          Cmd: ['node', '/srv/app/index.js'],
          WorkingDir: '/srv/app',
        },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
        history,
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
      }),
    ),
  );
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { architecture: 'amd64', os: 'linux' }, annotations: { 'org.opencontainers.image.ref.name': TAG } }],
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return manifest.digest;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(0)} MB`;
}
