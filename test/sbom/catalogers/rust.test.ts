/**
 * The Rust catalogers against cargo itself. A workspace of path crates with a vendored registry
 * (two semver-incompatible versions of one crate, a build dependency) is locked and built offline;
 * `cargo metadata --locked` is the ground truth for the Cargo.lock it wrote (v4), for that lockfile
 * rewritten as v3, v2 and v1 (cargo accepts each unchanged), and for the cargo-auditable data put
 * into the built ELF (and into a PE made by objcopy) with `objcopy --add-section .dep-v0=...`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { fileFromBytes, type Cataloger, type RawPackage } from '../../../src/sbom/index.js';
import { cargoLockCataloger, rustAuditableCataloger } from '../../../src/sbom/catalogers/rust.js';
import { requireTools, tempDir, which } from '../../helpers/env.js';

async function catalog(cataloger: Cataloger, path: string, bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  try {
    const findings = await cataloger.parse(fileFromBytes(path, bytes, 0o755), { warn: (m) => warnings.push(m) });
    return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
  } catch (err) {
    assert.ok(err instanceof Error, `parse threw a non-Error: ${String(err)}`);
    return { packages: [], warnings: [...warnings, err.message] };
  }
}

const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

// ---- the workspace, built once ----

const FILES: Readonly<Record<string, string>> = {
  'Cargo.toml': '[workspace]\nmembers = ["app", "util"]\nresolver = "2"\n',
  '.cargo/config.toml': '[source.crates-io]\nreplace-with = "vendored"\n[source.vendored]\ndirectory = "vendor"\n',
  'app/Cargo.toml':
    '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nutil = { path = "../util" }\ndep = "0.2"\n[build-dependencies]\nbuildtool = "1"\n',
  'app/build.rs': 'fn main() { let _ = buildtool::v(); }\n',
  'app/src/main.rs': 'fn main() { println!("{}", util::f() + dep::g()); }\n',
  'util/Cargo.toml': '[package]\nname = "util"\nversion = "0.3.0"\nedition = "2021"\n[dependencies]\ndep = "0.1"\n',
  'util/src/lib.rs': 'pub fn f() -> u32 { dep::g() }\n',
  'vendor/dep-0.1.0/Cargo.toml': '[package]\nname = "dep"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nleaf = "1"\n',
  'vendor/dep-0.1.0/src/lib.rs': 'pub fn g() -> u32 { leaf::h() }\n',
  'vendor/dep-0.2.0/Cargo.toml': '[package]\nname = "dep"\nversion = "0.2.0"\nedition = "2021"\n[dependencies]\nleaf = "1"\n',
  'vendor/dep-0.2.0/src/lib.rs': 'pub fn g() -> u32 { leaf::h() + 1 }\n',
  'vendor/leaf/Cargo.toml': '[package]\nname = "leaf"\nversion = "1.0.4"\nedition = "2021"\n',
  'vendor/leaf/src/lib.rs': 'pub fn h() -> u32 { 1 }\n',
  'vendor/buildtool/Cargo.toml': '[package]\nname = "buildtool"\nversion = "1.1.0"\nedition = "2021"\n',
  'vendor/buildtool/src/lib.rs': 'pub fn v() -> u32 { 7 }\n',
};

/** A directory source needs a checksum file per crate; `files: {}` asks cargo to verify none. */
const CHECKSUMS: Readonly<Record<string, string>> = {
  'vendor/dep-0.1.0': 'a1'.repeat(32),
  'vendor/dep-0.2.0': 'b2'.repeat(32),
  'vendor/leaf': 'c3'.repeat(32),
  'vendor/buildtool': 'd4'.repeat(32),
};

interface Metadata {
  packages: { id: string; name: string; version: string; source: string | null }[];
  resolve: { root: string | null; nodes: { id: string; deps: { pkg: string; dep_kinds: { kind: string | null }[] }[] }[] };
}

let ws: string | undefined;
let binary: string | undefined;

function cargo(args: string[], cwd: string): string {
  return execFileSync('cargo', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CARGO_TERM_COLOR: 'never' } });
}

function metadata(dir: string): Metadata {
  return JSON.parse(cargo(['metadata', '--offline', '--locked', '--format-version', '1'], dir)) as Metadata;
}

before(() => {
  if (which('cargo') === undefined) return;
  ws = mkdtempSync(join(tmpdir(), 'portcullis-rust-test-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(join(ws, path, '..'), { recursive: true });
    writeFileSync(join(ws, path), text);
  }
  for (const [dir, sum] of Object.entries(CHECKSUMS)) writeFileSync(join(ws, dir, '.cargo-checksum.json'), JSON.stringify({ files: {}, package: sum }));
  cargo(['generate-lockfile', '--offline'], ws);
  cargo(['build', '--offline', '--quiet', '-p', 'app'], ws);
  binary = join(ws, 'target', 'debug', 'app');
});

after(() => {
  if (ws !== undefined) rmSync(ws, { recursive: true, force: true });
});

/** name@version of a metadata package id. */
function nameOf(meta: Metadata): Map<string, string> {
  return new Map(meta.packages.map((p) => [p.id, `${p.name}@${p.version}`]));
}

// ---- Cargo.lock ----

/** The lockfile as v1 writes it: full `name version (source)` references, checksums in [metadata]. */
function toV1(meta: Metadata, checksums: Map<string, string>): string {
  const ref = (id: string): string => {
    const p = meta.packages.find((x) => x.id === id)!;
    return p.source === null ? `${p.name} ${p.version}` : `${p.name} ${p.version} (${p.source})`;
  };
  const blocks = [...meta.packages]
    .sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name)))
    .map((p) => {
      const deps = meta.resolve.nodes.find((n) => n.id === p.id)!.deps.map((d) => ref(d.pkg)).sort();
      return [
        '[[package]]',
        `name = "${p.name}"`,
        `version = "${p.version}"`,
        ...(p.source !== null ? [`source = "${p.source}"`] : []),
        ...(deps.length > 0 ? ['dependencies = [', ...deps.map((d) => ` "${d}",`), ']'] : []),
        '',
      ].join('\n');
    });
  const sums = [...checksums].map(([nv, sum]) => `"checksum ${nv} (${CRATES_IO})" = "${sum}"`);
  return `${blocks.join('\n')}\n[metadata]\n${sums.join('\n')}\n`;
}

function assertMatchesMetadata(found: RawPackage[], meta: Metadata, checksums: Map<string, string>, label: string): void {
  const names = nameOf(meta);
  assert.deepEqual(found.map((p) => `${p.name}@${p.version}`).sort(), [...names.values()].sort(), label);
  for (const p of meta.packages) {
    const got = found.find((x) => x.name === p.name && x.version === p.version)!;
    const node = meta.resolve.nodes.find((n) => n.id === p.id)!;
    assert.deepEqual(
      [...(got.dependsOn ?? [])].sort(),
      node.deps.map((d) => `cargo:${names.get(d.pkg)!}`).sort(),
      `${label}: dependencies of ${p.name}@${p.version}`,
    );
    assert.equal(got.root === true, p.source === null, `${label}: ${p.name} is root iff it has no source`);
    assert.equal(got.properties?.['source'], p.source ?? undefined, label);
    assert.equal(got.properties?.['checksum'], checksums.get(`${p.name} ${p.version}`), label);
    assert.equal(got.type, 'cargo');
    assert.equal(got.namespace, undefined);
  }
}

describe('Cargo.lock against cargo metadata', () => {
  test('v4 as cargo wrote it, and rewritten as v3, v2 and v1', async (t) => {
    if (!requireTools(t, 'cargo')) return;
    const v4 = readFileSync(join(ws!, 'Cargo.lock'), 'utf8');
    assert.match(v4, /^version = 4$/m);
    const meta = metadata(ws!);
    assert.ok(meta.packages.filter((p) => p.name === 'dep').length === 2, 'two versions of one crate: references need the version');
    const checksums = new Map([...v4.matchAll(/name = "([^"]+)"\nversion = "([^"]+)"\nsource = "[^"]+"\nchecksum = "([0-9a-f]+)"/g)].map((m) => [`${m[1]!} ${m[2]!}`, m[3]!]));
    assert.equal(checksums.size, 4);
    const variants: [string, string][] = [
      ['v4', v4],
      ['v3', v4.replace(/^version = 4$/m, 'version = 3')],
      ['v2', v4.replace(/^version = 4\n/m, '')],
      ['v1', toV1(meta, checksums)],
    ];
    const dir = tempDir(t);
    for (const name of ['Cargo.toml', '.cargo/config.toml', ...Object.keys(FILES).filter((f) => f !== 'Cargo.toml' && f !== '.cargo/config.toml')]) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      copyFileSync(join(ws!, name), join(dir, name));
    }
    for (const d of Object.keys(CHECKSUMS)) copyFileSync(join(ws!, d, '.cargo-checksum.json'), join(dir, d, '.cargo-checksum.json'));
    for (const [label, text] of variants) {
      // cargo reads the variant without wanting to change it (--locked), and says what it holds.
      writeFileSync(join(dir, 'Cargo.lock'), text);
      const truth = metadata(dir);
      assert.equal(readFileSync(join(dir, 'Cargo.lock'), 'utf8'), text, `${label}: cargo kept the lockfile`);
      const { packages, warnings } = await catalog(cargoLockCataloger, 'src/Cargo.lock', Buffer.from(text));
      assert.deepEqual(warnings, [], label);
      assertMatchesMetadata(packages, truth, checksums, label);
    }
  });

  test('an old v1 [root] table is the root package', async () => {
    const lock = '[root]\nname = "old"\nversion = "0.0.1"\ndependencies = [\n "libc 0.2.0 (registry+https://github.com/rust-lang/crates.io-index)",\n]\n\n[[package]]\nname = "libc"\nversion = "0.2.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n';
    const { packages } = await catalog(cargoLockCataloger, 'Cargo.lock', Buffer.from(lock));
    assert.deepEqual(packages, [
      { type: 'cargo', name: 'old', version: '0.0.1', root: true, dependsOn: ['cargo:libc@0.2.0'] },
      { type: 'cargo', name: 'libc', version: '0.2.0', properties: { source: CRATES_IO } },
    ]);
  });

  test('bad lockfiles warn', async () => {
    assert.match((await catalog(cargoLockCataloger, 'Cargo.lock', Buffer.from('[[package]\nname = '))).warnings[0] ?? '', /./);
    const deep = `x = ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    assert.equal((await catalog(cargoLockCataloger, 'Cargo.lock', Buffer.from(deep))).packages.length, 0);
    const odd = await catalog(cargoLockCataloger, 'Cargo.lock', Buffer.from('[[package]]\nname = "a"\n[[package]]\nname = "b"\nversion = "1.0.0"\ndependencies = ["missing", 7, "a 9.9.9"]\n'));
    assert.deepEqual(odd.packages, [{ type: 'cargo', name: 'b', version: '1.0.0', root: true }]);
    assert.deepEqual(odd.warnings, ['1 [[package]] entries without a name and version']);
    assert.equal(cargoLockCataloger.wants('Cargo.lock', 1, 0o644), true);
    assert.equal(cargoLockCataloger.wants('srv/app/Cargo.lock', 1, 0o644), true);
    assert.equal(cargoLockCataloger.wants('srv/app/Cargo.toml', 1, 0o644), false);
  });
});

// ---- cargo-auditable ----

/**
 * The audit data cargo-auditable derives from `cargo metadata` (format 0): every package the root
 * reaches, `kind: "build"` for those reached only through build dependencies, dependencies as indices.
 */
function auditJson(meta: Metadata, rootName: string): { json: string; kinds: Map<string, string> } {
  const root = meta.packages.find((p) => p.name === rootName && p.source === null)!;
  const nodes = new Map(meta.resolve.nodes.map((n) => [n.id, n]));
  const kinds = new Map<string, string>();
  const walk = (id: string, kind: string): void => {
    if (kinds.get(id) === 'runtime' || kinds.get(id) === kind) return;
    kinds.set(id, kind);
    for (const d of nodes.get(id)!.deps) {
      const build = d.dep_kinds.every((k) => k.kind === 'build');
      if (d.dep_kinds.every((k) => k.kind === 'dev')) continue;
      walk(d.pkg, kind === 'build' || build ? 'build' : 'runtime');
    }
  };
  walk(root.id, 'runtime');
  const ids = [...kinds.keys()].sort();
  const packages = ids.map((id) => {
    const p = meta.packages.find((x) => x.id === id)!;
    const deps = nodes
      .get(id)!
      .deps.filter((d) => kinds.has(d.pkg) && !d.dep_kinds.every((k) => k.kind === 'dev'))
      .map((d) => ids.indexOf(d.pkg));
    return {
      name: p.name,
      version: p.version,
      source: p.source === null ? 'local' : p.source === CRATES_IO ? 'crates.io' : 'registry',
      ...(kinds.get(id) === 'build' ? { kind: 'build' } : {}),
      ...(deps.length > 0 ? { dependencies: deps.sort((a, b) => a - b) } : {}),
      ...(id === root.id ? { root: true } : {}),
    };
  });
  return { json: JSON.stringify({ packages }), kinds: new Map([...kinds].map(([id, k]) => [nameOf(meta).get(id)!, k])) };
}

function addSection(t: Parameters<typeof tempDir>[0], input: string, data: Buffer, outputFormat?: string): Buffer {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'dep-v0'), data);
  const out = join(dir, 'out');
  execFileSync('objcopy', [...(outputFormat !== undefined ? ['-O', outputFormat] : []), '--add-section', `.dep-v0=${join(dir, 'dep-v0')}`, input, out]);
  assert.match(execFileSync('objdump', ['-h', out], { encoding: 'utf8' }), /\.dep-v0/);
  return readFileSync(out);
}

describe('cargo-auditable data', () => {
  test('in the ELF cargo built and in a PE, against cargo metadata', async (t) => {
    if (!requireTools(t, 'cargo', 'objcopy', 'objdump')) return;
    const meta = metadata(ws!);
    const { json, kinds } = auditJson(meta, 'app');
    assert.equal(kinds.get('buildtool@1.1.0'), 'build');
    // util depends on dep 0.1.0, app on dep 0.2.0: both in the binary.
    assert.deepEqual([...kinds.keys()].sort(), ['app@0.1.0', 'buildtool@1.1.0', 'dep@0.1.0', 'dep@0.2.0', 'leaf@1.0.4', 'util@0.3.0']);
    const data = deflateSync(Buffer.from(json));
    for (const [label, bytes] of [
      ['ELF', addSection(t, binary!, data)],
      ['PE', addSection(t, '/bin/true', data, 'pei-x86-64')],
    ] as const) {
      const { packages, warnings } = await catalog(rustAuditableCataloger, 'usr/bin/app', bytes);
      assert.deepEqual(warnings, [], label);
      const names = nameOf(meta);
      assert.deepEqual(packages.map((p) => `${p.name}@${p.version}`).sort(), [...kinds.keys()].sort(), label);
      for (const node of meta.resolve.nodes) {
        const name = names.get(node.id)!;
        const got = packages.find((p) => `${p.name}@${p.version}` === name)!;
        assert.deepEqual([...(got.dependsOn ?? [])].sort(), node.deps.map((d) => `cargo:${names.get(d.pkg)!}`).sort(), `${label}: ${name}`);
        assert.equal(got.root === true, name === 'app@0.1.0');
        assert.equal(got.properties?.['kind'], kinds.get(name) === 'build' ? 'build' : undefined);
        assert.equal(got.properties?.['source'], meta.packages.find((p) => p.id === node.id)!.source === null ? 'local' : 'crates.io');
      }
    }
    // The binary as cargo built it carries no audit data.
    assert.deepEqual(await catalog(rustAuditableCataloger, 'usr/bin/app', readFileSync(binary!)), { packages: [], warnings: [] });
  });

  test('hostile or broken audit data warns', async (t) => {
    if (!requireTools(t, 'objcopy', 'objdump')) return;
    const cases: [string, Buffer, RegExp][] = [
      ['a deflate bomb', deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 }), /inflates past 8388608 bytes/],
      ['invalid JSON', deflateSync(Buffer.from('{"packages": [')), /not JSON/],
      ['not zlib', Buffer.from('definitely not zlib data'), /not zlib data/],
      ['no packages list', deflateSync(Buffer.from('{"pkgs": []}')), /no packages list/],
    ];
    for (const [label, data, expected] of cases) {
      const { packages, warnings } = await catalog(rustAuditableCataloger, 'bin/x', addSection(t, '/bin/true', data));
      assert.deepEqual(packages, [], label);
      assert.match(warnings.join('\n'), expected, label);
    }
    // Bad entries and indices are skipped; the rest is kept.
    const odd = JSON.stringify({ packages: [{ name: 1 }, { name: 'a', version: '1.0.0', source: { Other: 'vendor' }, dependencies: [-1, 99, 1, 1.5, 'x', 0, 2], root: true }, { name: 'b', version: '2.0.0', source: 'git' }] });
    const { packages, warnings } = await catalog(rustAuditableCataloger, 'bin/x', addSection(t, '/bin/true', deflateSync(Buffer.from(odd))));
    assert.deepEqual(packages, [
      { type: 'cargo', name: 'a', version: '1.0.0', root: true, properties: { source: 'vendor' }, dependsOn: ['cargo:b@2.0.0'] },
      { type: 'cargo', name: 'b', version: '2.0.0', properties: { source: 'git' } },
    ]);
    assert.deepEqual(warnings, ['1 cargo-auditable packages without a name and version']);
  });

  test('wants executables, sniffs their magic', () => {
    assert.equal(rustAuditableCataloger.wants('usr/local/bin/tool', 1 << 20, 0o755), true);
    assert.equal(rustAuditableCataloger.wants('usr/share/tool.txt', 1 << 20, 0o644), false);
    assert.equal(rustAuditableCataloger.sniff!(Buffer.from('\x7fELF', 'latin1')), true);
    assert.equal(rustAuditableCataloger.sniff!(Buffer.from('{"a":1}')), false);
  });
});
