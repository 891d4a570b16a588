/**
 * The Go catalogers against Go itself: binaries built here with `go build` (a vendored module graph
 * with a version, a pseudo-version, +incompatible, a module replacement and a directory
 * replacement; -trimpath, CGO_ENABLED=0, -ldflags, VCS stamping; ELF for amd64, 386 and big-endian
 * mips, Mach-O for arm64 and PE), Debian's Go programs, and pre-1.18 pointer-format build info
 * written here into an ELF, are each read by the cataloger and by `go version -m`, which must agree.
 * go.mod parsing is checked against `go mod edit -json`.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { fileFromBytes, type Cataloger, type RawPackage } from '../../../src/sbom/index.js';
import { goBinaryCataloger, goModCataloger } from '../../../src/sbom/catalogers/go.js';
import { requireTools, tempDir, which } from '../../helpers/env.js';

const run = promisify(execFile);

/** Findings of one file, with thrown errors turned into warnings as the catalog reader does. */
async function catalog(cataloger: Cataloger, path: string, bytes: Uint8Array, mode = 0o755): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const file = fileFromBytes(path, bytes, mode);
  try {
    const findings = await cataloger.parse(file, { warn: (m) => warnings.push(m) });
    return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
  } catch (err) {
    assert.ok(err instanceof Error, `parse threw a non-Error: ${String(err)}`);
    return { packages: [], warnings: [...warnings, err.message] };
  }
}

// ---- what `go version -m` says ----

interface GoTruth {
  goVersion: string;
  main: { name: string; version: string } | undefined;
  /** name@version of every dependency with its replacement applied as the cataloger documents, plus stdlib. */
  packages: string[];
  settings: Map<string, string>;
}

function goVersionM(path: string): GoTruth {
  const out = execFileSync('go', ['version', '-m', path], { encoding: 'utf8' });
  const [first = '', ...lines] = out.split('\n');
  const goVersion = first.slice(first.lastIndexOf(': ') + 2).split(' ')[0]!;
  let mainPath = '';
  let main: { name: string; version: string } | undefined;
  const deps: { path: string; version: string; replace?: { path: string; version: string } }[] = [];
  const settings = new Map<string, string>();
  for (const line of lines) {
    const [, word, ...rest] = line.split('\t');
    if (word === 'path') mainPath = rest[0]!;
    else if (word === 'mod') main = { name: rest[0]!, version: rest[1]! };
    else if (word === 'dep') deps.push({ path: rest[0]!, version: rest[1]! });
    else if (word === '=>') deps.at(-1)!.replace = { path: rest[0]!, version: rest[1]! };
    else if (word === 'build') {
      const kv = rest.join('\t');
      const eq = kv.indexOf('=');
      const raw = kv.slice(eq + 1);
      settings.set(kv.slice(0, eq), raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
    }
  }
  if (main === undefined && mainPath !== '') main = { name: mainPath, version: '(devel)' };
  const packages = deps.map((d) => {
    if (d.replace === undefined) return `${d.path}@${d.version}`;
    // A directory replacement keeps the module path (see go.ts); a module replacement is that module.
    return d.replace.path.startsWith('.') || d.replace.path.startsWith('/') ? `${d.path}@${d.replace.version}` : `${d.replace.path}@${d.replace.version}`;
  });
  packages.push(`stdlib@${goVersion}`);
  return { goVersion, main, packages: packages.sort(), settings };
}

function assertMatchesGo(found: RawPackage[], truth: GoTruth, label: string): void {
  const root = found.filter((p) => p.root === true);
  if (truth.main === undefined) assert.equal(root.length, 0, label);
  else {
    assert.equal(root.length, 1, `${label}: one main module`);
    assert.equal(root[0]!.name, truth.main.name, label);
    assert.equal(root[0]!.version, truth.main.version, label);
    assert.equal(root[0]!.properties?.['goVersion'], truth.goVersion, label);
    assert.equal(root[0]!.arch, truth.settings.get('GOARCH'), label);
    assert.equal(root[0]!.properties?.['ldflags'], truth.settings.get('-ldflags'), label);
    assert.equal(root[0]!.properties?.['vcsRevision'], truth.settings.get('vcs.revision'), label);
    assert.deepEqual([...(root[0]!.dependsOn ?? [])].sort(), truth.packages.map((p) => `golang:${p}`).sort(), `${label}: main depends on every module`);
  }
  const others = found
    .filter((p) => p.root !== true)
    .map((p) => `${p.name}@${p.version}`)
    .sort();
  assert.deepEqual(others, truth.packages, label);
  assert.ok(found.every((p) => p.type === 'golang' && p.namespace === undefined));
  const stdlib = found.find((p) => p.name === 'stdlib')!;
  assert.deepEqual(stdlib.licenses, ['BSD-3-Clause']);
  assert.equal(stdlib.properties?.['goVersion'], truth.goVersion);
}

// ---- binaries built once for the whole file ----

const LIB_GO = 'package lib\n\nfunc Hello() string { return "hi" }\n';
const APP_GO_MOD = `module example.com/app

go 1.19

require (
	example.com/dep v1.4.0
	example.com/inc v2.0.0+incompatible
	example.com/lib v1.2.3
	example.com/orig v1.0.0
	example.com/pseudo v0.0.0-20230102030405-abcdefabcdef
)

replace example.com/lib => ../lib

replace example.com/orig v1.0.0 => example.com/fork v1.1.0
`;
const MODULES_TXT = `# example.com/dep v1.4.0
## explicit; go 1.19
example.com/dep
# example.com/inc v2.0.0+incompatible
## explicit
example.com/inc
# example.com/lib v1.2.3 => ../lib
## explicit; go 1.19
example.com/lib
# example.com/orig v1.0.0 => example.com/fork v1.1.0
## explicit; go 1.19
example.com/orig
# example.com/pseudo v0.0.0-20230102030405-abcdefabcdef
## explicit; go 1.19
example.com/pseudo
# example.com/lib => ../lib
# example.com/orig v1.0.0 => example.com/fork v1.1.0
`;
const MAIN_GO = `package main

import (
	"example.com/dep"
	"example.com/inc"
	"example.com/lib"
	"example.com/orig"
	"example.com/pseudo"
)

func main() { println(lib.Hello(), dep.F()+orig.F()+inc.F()+pseudo.F()) }
`;

interface Target {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly flags: readonly string[];
}

/**
 * Cross builds are CGO_ENABLED=0 already; each cold one compiles the runtime for its target, so the
 * flags to cover (-trimpath, an explicit CGO_ENABLED=0) ride on them instead of adding builds.
 */
const TARGETS: readonly Target[] = [
  { name: 'linux-amd64', env: {}, flags: ['-ldflags=-X main.version=v1.0.0 -s'] },
  { name: 'linux-386', env: { GOOS: 'linux', GOARCH: '386', CGO_ENABLED: '0' }, flags: [] },
  { name: 'linux-mips', env: { GOOS: 'linux', GOARCH: 'mips' }, flags: ['-trimpath'] },
  { name: 'darwin-arm64', env: { GOOS: 'darwin', GOARCH: 'arm64' }, flags: [] },
  { name: 'windows-amd64.exe', env: { GOOS: 'windows', GOARCH: 'amd64' }, flags: [] },
];

let work: string | undefined;
const built = new Map<string, string>();

before(async () => {
  if (which('go') === undefined) return;
  work = mkdtempSync(join(tmpdir(), 'portcullis-go-test-'));
  const vendor = join(work, 'app', 'vendor', 'example.com');
  mkdirSync(join(work, 'lib'), { recursive: true });
  writeFileSync(join(work, 'lib', 'go.mod'), 'module example.com/lib\n\ngo 1.19\n');
  writeFileSync(join(work, 'lib', 'lib.go'), LIB_GO);
  for (const m of ['dep', 'orig', 'inc', 'pseudo', 'lib']) {
    mkdirSync(join(vendor, m), { recursive: true });
    writeFileSync(join(vendor, m, `${m}.go`), m === 'lib' ? LIB_GO : `package ${m}\n\nfunc F() int { return 1 }\n`);
  }
  writeFileSync(join(work, 'app', 'go.mod'), APP_GO_MOD);
  writeFileSync(join(work, 'app', 'vendor', 'modules.txt'), MODULES_TXT);
  writeFileSync(join(work, 'app', 'main.go'), MAIN_GO);
  // A commit, so the native build is stamped with vcs.revision.
  const git = ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main'];
  const app = join(work, 'app');
  const hasGit = which('git') !== undefined;
  if (hasGit) {
    execFileSync('git', [...git, 'init', '-q'], { cwd: app });
    execFileSync('git', [...git, 'add', '.'], { cwd: app });
    execFileSync('git', [...git, 'commit', '-qm', 'init'], { cwd: app });
  }
  // A cache kept between runs: a cold cross-compile of the runtime takes seconds per target.
  const env = { ...process.env, GOCACHE: join(tmpdir(), 'portcullis-test-gocache'), GOFLAGS: '-mod=vendor', GOPROXY: 'off', GOWORK: 'off', GOTOOLCHAIN: 'local' };
  const queue = [...TARGETS];
  const worker = async (): Promise<void> => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
      const out = join(work!, t.name);
      await run('go', ['build', `-buildvcs=${hasGit}`, ...t.flags, '-o', out, '.'], { cwd: app, env: { ...env, ...t.env } });
      built.set(t.name, out);
    }
  };
  await Promise.all([worker(), worker()]);
});

after(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('Go binaries built here, read by the cataloger and by go version -m', () => {
  for (const target of TARGETS) {
    test(target.name, async (t) => {
      if (!requireTools(t, 'go')) return;
      const path = built.get(target.name)!;
      const { packages, warnings } = await catalog(goBinaryCataloger, `usr/bin/${target.name}`, readFileSync(path));
      assert.deepEqual(warnings, []);
      const truth = goVersionM(path);
      assert.ok(truth.packages.includes('example.com/fork@v1.1.0') && truth.packages.includes('example.com/lib@(devel)'), 'the build has both kinds of replacement');
      assertMatchesGo(packages, truth, target.name);
      const lib = packages.find((p) => p.name === 'example.com/lib')!;
      assert.deepEqual(lib.properties, { replaces: 'example.com/lib@v1.2.3', replacementDir: '../lib' });
      assert.equal(packages.find((p) => p.name === 'example.com/fork')!.properties?.['replaces'], 'example.com/orig@v1.0.0');
    });
  }

  test('the native build carries its -ldflags and VCS stamp', async (t) => {
    if (!requireTools(t, 'go', 'git')) return;
    const { packages } = await catalog(goBinaryCataloger, 'app', readFileSync(built.get('linux-amd64')!));
    const main = packages.find((p) => p.root === true)!;
    assert.equal(main.properties?.['ldflags'], '-X main.version=v1.0.0 -s');
    assert.match(main.properties?.['vcsRevision'] ?? '', /^[0-9a-f]{40}$/);
    assert.equal(main.properties?.['vcs'], 'git');
    assert.equal(main.properties?.['goos'], 'linux');
  });
});

describe("Debian's Go programs", () => {
  for (const tool of ['skopeo', 'umoci', 'podman', 'docker-registry']) {
    test(tool, async (t) => {
      if (!requireTools(t, 'go', tool)) return;
      const path = which(tool)!;
      const { packages, warnings } = await catalog(goBinaryCataloger, path.slice(1), readFileSync(path));
      assert.deepEqual(warnings, []);
      assertMatchesGo(packages, goVersionM(path), tool);
    });
  }
});

// ---- pre-1.18 build info, written into an ELF here ----

/** cmd/go's sentinels around the module info (modload.infoStart / infoEnd). */
const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

/**
 * An ELF executable whose one writable segment starts with build info in the pointer format of Go
 * 1.13–1.17: the header points at two Go string headers (data pointer, length).
 */
function pointerFormatElf(opts: { is64: boolean; little: boolean; machine: number; version: string; modinfo: string; sections: boolean }): Buffer {
  const { is64, little } = opts;
  const ptr = is64 ? 8 : 4;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const dataOff = 0x1000;
  const vaddr = 0x500000;
  const version = Buffer.from(opts.version);
  const modinfo = Buffer.concat([INFO_START, Buffer.from(opts.modinfo), INFO_END]);
  const strings = 32 + 4 * ptr;
  const blob = Buffer.alloc(strings + version.length + modinfo.length);
  const put = (b: Buffer, o: number, v: number, size: number): void => {
    if (size === 2) little ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o);
    else if (size === 4) little ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o);
    else little ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o);
  };
  blob.write('\xff Go buildinf:', 0, 'latin1');
  blob[14] = ptr;
  blob[15] = little ? 0 : 1;
  put(blob, 16, vaddr + 32, ptr);
  put(blob, 16 + ptr, vaddr + 32 + 2 * ptr, ptr);
  put(blob, 32, vaddr + strings, ptr);
  put(blob, 32 + ptr, version.length, ptr);
  put(blob, 32 + 2 * ptr, vaddr + strings + version.length, ptr);
  put(blob, 32 + 3 * ptr, modinfo.length, ptr);
  version.copy(blob, strings);
  modinfo.copy(blob, strings + version.length);

  const shstrtab = Buffer.from('\0.go.buildinfo\0.shstrtab\0');
  const shstrOff = dataOff + blob.length;
  const shentsize = is64 ? 64 : 40;
  const shoff = opts.sections ? (shstrOff + shstrtab.length + 7) & ~7 : 0;
  const file = Buffer.alloc(opts.sections ? shoff + 3 * shentsize : dataOff + blob.length);
  file.write('\x7fELF', 0, 'latin1');
  file[4] = is64 ? 2 : 1;
  file[5] = little ? 1 : 2;
  file[6] = 1;
  put(file, 16, 2, 2); // ET_EXEC
  put(file, 18, opts.machine, 2);
  put(file, 20, 1, 4);
  const w = (o64: number, o32: number, v: number): void => put(file, is64 ? o64 : o32, v, ptr);
  w(24, 24, vaddr); // entry
  w(32, 28, ehsize); // phoff
  w(40, 32, shoff);
  put(file, is64 ? 52 : 40, ehsize, 2);
  put(file, is64 ? 54 : 42, phentsize, 2);
  put(file, is64 ? 56 : 44, 1, 2);
  put(file, is64 ? 58 : 46, opts.sections ? shentsize : 0, 2);
  put(file, is64 ? 60 : 48, opts.sections ? 3 : 0, 2);
  put(file, is64 ? 62 : 50, opts.sections ? 2 : 0, 2);
  // PT_LOAD, read-write
  const ph = ehsize;
  put(file, ph, 1, 4);
  if (is64) {
    put(file, ph + 4, 6, 4);
    put(file, ph + 8, dataOff, 8);
    put(file, ph + 16, vaddr, 8);
    put(file, ph + 24, vaddr, 8);
    put(file, ph + 32, blob.length, 8);
    put(file, ph + 40, blob.length, 8);
    put(file, ph + 48, 0x1000, 8);
  } else {
    put(file, ph + 4, dataOff, 4);
    put(file, ph + 8, vaddr, 4);
    put(file, ph + 12, vaddr, 4);
    put(file, ph + 16, blob.length, 4);
    put(file, ph + 20, blob.length, 4);
    put(file, ph + 24, 6, 4);
    put(file, ph + 28, 0x1000, 4);
  }
  blob.copy(file, dataOff);
  if (opts.sections) {
    shstrtab.copy(file, shstrOff);
    const section = (i: number, name: number, type: number, flags: number, addr: number, offset: number, size: number): void => {
      const o = shoff + i * shentsize;
      put(file, o, name, 4);
      put(file, o + 4, type, 4);
      if (is64) {
        put(file, o + 8, flags, 8);
        put(file, o + 16, addr, 8);
        put(file, o + 24, offset, 8);
        put(file, o + 32, size, 8);
        put(file, o + 48, 16, 8);
      } else {
        put(file, o + 8, flags, 4);
        put(file, o + 12, addr, 4);
        put(file, o + 16, offset, 4);
        put(file, o + 20, size, 4);
        put(file, o + 32, 16, 4);
      }
    };
    section(1, 1, 1, 3, vaddr, dataOff, blob.length); // .go.buildinfo, PROGBITS, WA
    section(2, 15, 3, 0, 0, shstrOff, shstrtab.length); // .shstrtab, STRTAB
  }
  return file;
}

const OLD_MODINFO = [
  'path\texample.com/old/cmd/tool',
  'mod\texample.com/old\tv1.0.0\th1:mainsum=',
  'dep\tgolang.org/x/text\tv0.3.7\th1:olpwvP2KacW1ZWvsR7uQhoyTYvKAupfQrRGBFM352Gk=',
  'dep\tgithub.com/a/b\tv1.0.0',
  '=>\tgithub.com/fork/b\tv1.0.1\th1:forksum=',
  'dep\tgithub.com/c/d\tv0.0.0-20210101000000-0123456789ab\th1:csum=',
  '',
].join('\n');

describe('pre-1.18 pointer-format build info', () => {
  const variants = [
    { label: '64-bit little-endian with sections', is64: true, little: true, machine: 62, sections: true },
    { label: '64-bit big-endian with sections', is64: true, little: false, machine: 22, sections: true },
    { label: '32-bit little-endian without sections', is64: false, little: true, machine: 3, sections: false },
    { label: '32-bit big-endian without sections', is64: false, little: false, machine: 8, sections: false },
  ];
  for (const v of variants) {
    test(v.label, async (t) => {
      const bytes = pointerFormatElf({ ...v, version: 'go1.16.15', modinfo: OLD_MODINFO });
      const { packages, warnings } = await catalog(goBinaryCataloger, 'usr/bin/old', bytes);
      assert.deepEqual(warnings, []);
      const main = packages.find((p) => p.root === true)!;
      assert.equal(main.name, 'example.com/old');
      assert.equal(main.version, 'v1.0.0');
      assert.equal(main.properties?.['mainPackage'], 'example.com/old/cmd/tool');
      assert.equal(main.properties?.['h1Digest'], 'h1:mainsum=');
      assert.equal(packages.find((p) => p.name === 'golang.org/x/text')!.properties?.['h1Digest'], 'h1:olpwvP2KacW1ZWvsR7uQhoyTYvKAupfQrRGBFM352Gk=');
      assert.deepEqual(packages.find((p) => p.name === 'github.com/fork/b')!.properties, { replaces: 'github.com/a/b@v1.0.0', h1Digest: 'h1:forksum=' });
      // No GOARCH build setting before 1.18: the arch comes from the ELF header.
      assert.equal(main.arch, { 62: 'amd64', 22: 's390x', 3: '386', 8: 'mips' }[v.machine]);
      if (!requireTools(t, 'go')) return;
      const dir = tempDir(t);
      const path = join(dir, 'old');
      writeFileSync(path, bytes);
      chmodSync(path, 0o755);
      const truth = goVersionM(path);
      assert.equal(truth.goVersion, 'go1.16.15');
      assertMatchesGo(packages, { ...truth, settings: new Map([['GOARCH', main.arch!]]) }, v.label);
    });
  }
});

// ---- damaged and hostile input ----

describe('damaged binaries', () => {
  test('a binary with no Go build info gives nothing', async () => {
    const bytes = pointerFormatElf({ is64: true, little: true, machine: 62, version: 'go1.16', modinfo: '', sections: true });
    bytes.write('\0\0\0\0', 0x1000, 'latin1'); // break the magic
    assert.deepEqual(await catalog(goBinaryCataloger, 'bin/x', bytes), { packages: [], warnings: [] });
    for (const path of ['/bin/true', '/bin/ls']) {
      if (existsSync(path)) assert.deepEqual(await catalog(goBinaryCataloger, path.slice(1), readFileSync(path)), { packages: [], warnings: [] });
    }
    assert.deepEqual(await catalog(goBinaryCataloger, 'bin/script', Buffer.from('#!/bin/sh\necho hi\n'.repeat(100))), { packages: [], warnings: [] });
  });

  test('a corrupt section header table: found through the data segment, as Go does', async (t) => {
    if (!requireTools(t, 'go')) return;
    const bytes = Buffer.from(readFileSync(built.get('linux-amd64')!));
    const shoff = Number(bytes.readBigUInt64LE(40));
    bytes.fill(0xff, shoff, shoff + bytes.readUInt16LE(58) * bytes.readUInt16LE(60));
    const { packages, warnings } = await catalog(goBinaryCataloger, 'app', bytes);
    assert.deepEqual(warnings, []);
    assertMatchesGo(packages, goVersionM(built.get('linux-amd64')!), 'corrupt sections');
    // And the section table pointing past the end of the file.
    bytes.writeBigUInt64LE(BigInt(bytes.length * 4), 40);
    assert.equal((await catalog(goBinaryCataloger, 'app', bytes)).packages.length, packages.length);
  });

  test('an ELF cut in the middle and cut in its headers: a warning or nothing', async (t) => {
    if (!requireTools(t, 'go')) return;
    const whole = readFileSync(built.get('linux-amd64')!);
    for (const size of [whole.length >> 1, whole.length >> 3, 4096, 100, 63, 20, 4]) {
      const { packages } = await catalog(goBinaryCataloger, 'app', whole.subarray(0, size));
      assert.ok(packages.length === 0 || packages.some((p) => p.root === true), `cut at ${size}`);
    }
  });

  test('a string length far over the limit is refused, not allocated', async () => {
    const bytes = pointerFormatElf({ is64: true, little: true, machine: 62, version: 'go1.16', modinfo: OLD_MODINFO, sections: true });
    bytes[0x1000 + 15] = 0x2; // inline strings
    bytes.set([0xff, 0xff, 0xff, 0xff, 0x0f], 0x1000 + 32); // a varint of 2^32 - 1
    const { packages, warnings } = await catalog(goBinaryCataloger, 'app', bytes);
    assert.deepEqual(packages, []);
    assert.match(warnings[0] ?? '', /over the limit/);
    // A string header pointing outside every segment.
    const ptrs = pointerFormatElf({ is64: false, little: true, machine: 3, version: 'go1.16', modinfo: OLD_MODINFO, sections: false });
    ptrs.writeUInt32LE(0xfffffff0, 0x1000 + 16);
    assert.equal((await catalog(goBinaryCataloger, 'app', ptrs)).packages.length, 0);
  });

  test('random damage to the headers never throws anything but an Error', async (t) => {
    if (!requireTools(t, 'go')) return;
    const pristine = readFileSync(built.get('linux-386')!);
    const shoff = pristine.readUInt32LE(32);
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(pristine);
      for (let k = 0; k < 8; k++) {
        const inSections = rand(2) === 0;
        const o = inSections ? shoff + rand(pristine.length - shoff) : rand(512);
        bytes[o] = rand(256);
      }
      await catalog(goBinaryCataloger, 'app', bytes);
    }
  });

  test('wants and sniff', () => {
    assert.equal(goBinaryCataloger.wants('usr/bin/x', 5000, 0o755), true);
    assert.equal(goBinaryCataloger.wants('usr/bin/x', 5000, 0o100), true);
    assert.equal(goBinaryCataloger.wants('usr/share/doc/x', 5000, 0o644), false);
    assert.equal(goBinaryCataloger.wants('usr/bin/tiny', 100, 0o755), false);
    assert.equal(goBinaryCataloger.wants('app/tool.exe', 5000, 0o644), true);
    const sniff = goBinaryCataloger.sniff!;
    assert.equal(sniff(Buffer.from('\x7fELF\x02\x01\x01', 'latin1')), true);
    assert.equal(sniff(Buffer.from('MZ\x90\x00', 'latin1')), true);
    assert.equal(sniff(Buffer.from([0xcf, 0xfa, 0xed, 0xfe])), true);
    assert.equal(sniff(Buffer.from('#!/bin/sh\n')), false);
    assert.equal(sniff(Buffer.from([0xca, 0xfe, 0xba, 0xbe])), false);
  });
});

// ---- go.mod ----

const TRICKY_GO_MOD = `// A module file with every form the cataloger reads.
module "example.com/tricky" // quoted module path

go 1.19

require example.com/single v1.0.0

require (
	example.com/a v1.2.3 // indirect
	example.com/b v0.0.0-20230102030405-abcdefabcdef
	"example.com/quoted" v2.0.0+incompatible // indirect; kept for tests
	example.com/c/v2 v2.1.0 // not indirect
	example.com/local v1.0.0
)

replace (
	example.com/a => example.com/a-fork v1.2.4
	example.com/b v0.0.0-20230102030405-abcdefabcdef => example.com/b-fork v0.1.0
	example.com/c/v2 v2.0.0 => example.com/c-old/v2 v2.0.1
	example.com/local => ./third_party/local
)

exclude example.com/a v1.2.2

retract v0.9.0
`;

interface GoModJson {
  Module: { Path: string };
  Require?: { Path: string; Version: string; Indirect?: boolean }[];
  Replace?: { Old: { Path: string; Version?: string }; New: { Path: string; Version?: string } }[];
}

/** What go.mod says, through Go's own parser, with replacements applied as the cataloger documents. */
function goModTruth(dir: string): { root: string; packages: string[]; indirect: string[] } {
  const json = JSON.parse(execFileSync('go', ['mod', 'edit', '-json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, GOFLAGS: '', GOTOOLCHAIN: 'local' } })) as GoModJson;
  const packages: string[] = [];
  const indirect: string[] = [];
  for (const r of json.Require ?? []) {
    const rep = (json.Replace ?? []).find((x) => x.Old.Path === r.Path && x.Old.Version === r.Version) ?? (json.Replace ?? []).find((x) => x.Old.Path === r.Path && x.Old.Version === undefined);
    const id = rep === undefined ? `${r.Path}@${r.Version}` : rep.New.Version === undefined ? `${r.Path}@(devel)` : `${rep.New.Path}@${rep.New.Version}`;
    packages.push(id);
    if (r.Indirect === true) indirect.push(id);
  }
  return { root: json.Module.Path, packages: packages.sort(), indirect: indirect.sort() };
}

describe('go.mod', () => {
  for (const [label, text] of [
    ['the app built above', APP_GO_MOD],
    ['every directive form', TRICKY_GO_MOD],
  ] as const) {
    test(`${label}, against go mod edit -json`, async (t) => {
      const { packages, warnings } = await catalog(goModCataloger, 'src/go.mod', Buffer.from(text), 0o644);
      assert.deepEqual(warnings, []);
      // CRLF line ends read the same.
      assert.deepEqual((await catalog(goModCataloger, 'src/go.mod', Buffer.from(text.replace(/\n/g, '\r\n')), 0o644)).packages, packages);
      if (!requireTools(t, 'go')) return;
      const dir = tempDir(t);
      writeFileSync(join(dir, 'go.mod'), text);
      const truth = goModTruth(dir);
      const root = packages.filter((p) => p.root === true);
      assert.deepEqual(
        root.map((p) => `${p.name}@${p.version}`),
        [`${truth.root}@(devel)`],
      );
      const deps = packages.filter((p) => p.root !== true);
      assert.deepEqual(deps.map((p) => `${p.name}@${p.version}`).sort(), truth.packages);
      assert.deepEqual(
        deps
          .filter((p) => p.properties?.['indirect'] === 'true')
          .map((p) => `${p.name}@${p.version}`)
          .sort(),
        truth.indirect,
      );
      const direct = truth.packages.filter((p) => !truth.indirect.includes(p)).map((p) => `golang:${p}`);
      assert.deepEqual([...(root[0]!.dependsOn ?? [])].sort(), direct.sort());
    });
  }

  test('replacement provenance', async () => {
    const { packages } = await catalog(goModCataloger, 'go.mod', Buffer.from(TRICKY_GO_MOD), 0o644);
    const byName = new Map(packages.map((p) => [p.name, p]));
    assert.deepEqual(byName.get('example.com/a-fork')!.properties, { replaces: 'example.com/a@v1.2.3', indirect: 'true' });
    assert.deepEqual(byName.get('example.com/local')!.properties, { replaces: 'example.com/local@v1.0.0', replacementDir: './third_party/local' });
    // The c/v2 replacement names another version: not applied.
    assert.equal(byName.get('example.com/c/v2')!.version, 'v2.1.0');
    assert.equal(byName.get('example.com/quoted')!.version, 'v2.0.0+incompatible');
  });

  test('wants only go.mod files; garbage gives nothing', async () => {
    assert.equal(goModCataloger.wants('go.mod', 10, 0o644), true);
    assert.equal(goModCataloger.wants('src/app/go.mod', 10, 0o644), true);
    assert.equal(goModCataloger.wants('src/app/go.sum', 10, 0o644), false);
    assert.equal(goModCataloger.wants('src/app/xgo.mod', 10, 0o644), false);
    const garbage = await catalog(goModCataloger, 'go.mod', Buffer.from('require (\n"unterminated\n)\nreplace => =>\nrequire\n\u0000\u0001'), 0o644);
    assert.deepEqual(garbage.warnings, []);
  });
});
