/**
 * The import graph, checked like go-containerregistry's depcheck_test.go: dependencies point
 * down, other modules are reached only through their index.ts, pure modules do no I/O, and no
 * index re-exports with `export *`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../src');

/** Which modules each module may import. Anything else is a violation. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  shared: [],
  oci: ['shared'],
  config: ['shared'],
  storage: ['shared', 'oci'],
  image: ['shared', 'oci'],
  sbom: ['shared', 'oci', 'image'],
  vuln: ['shared', 'oci', 'sbom'],
  scan: ['shared', 'oci', 'image', 'sbom', 'vuln'],
  sign: ['shared', 'oci'],
  policy: ['shared', 'oci'],
  registry: ['shared', 'oci', 'storage', 'config', 'image', 'sbom', 'vuln', 'scan', 'sign', 'policy'],
  server: ['shared', 'oci', 'storage', 'registry', 'config', 'image', 'sbom', 'vuln', 'scan', 'sign', 'policy'],
  // The admission webhook talks to registries (Portcullis's included) over HTTP only.
  admission: ['shared', 'oci', 'image', 'sign', 'policy'],
  cli: ['shared', 'oci', 'storage', 'registry', 'config', 'server', 'image', 'sbom', 'vuln', 'scan', 'sign', 'policy', 'admission'],
};

/** Modules that must stay free of I/O: no file system, network, process environment. */
const PURE = new Set(['shared', 'oci', 'sign', 'policy']);
/** Folders inside impure modules that must be pure too (file-at-a-time parsers, comparators). */
const PURE_PREFIXES = ['sbom/catalogers/', 'vuln/version/', 'vuln/feeds/', 'vuln/match', 'vuln/severity', 'scan/secrets', 'scan/misconfig', 'scan/format/', 'scan/filter'];
const IO_BUILTINS = /^node:(fs|fs\/promises|http|https|net|child_process|dgram|dns|tls)$/;

interface Source {
  readonly file: string;
  readonly module: string;
  readonly text: string;
  readonly imports: readonly string[];
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function sources(): Source[] {
  return walk(ROOT).map((file) => {
    const text = readFileSync(file, 'utf8');
    const imports = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => (m[1] ?? m[2])!);
    return { file, module: relative(ROOT, file).split('/')[0]!, text, imports };
  });
}

test('the source tree has the modules the architecture names', () => {
  const modules = new Set(sources().map((s) => s.module));
  for (const m of modules) assert.ok(m in ALLOWED, `src/${m} is not in the architecture table of test/architecture.test.ts: add it with its allowed dependencies`);
});

test('dependencies point down, and other modules are imported only through their index.ts', () => {
  const problems: string[] = [];
  for (const s of sources()) {
    for (const spec of s.imports) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(s.file), spec).replace(/\.js$/, '.ts');
      const rel = relative(ROOT, target);
      if (rel.startsWith('..')) {
        problems.push(`${relative(ROOT, s.file)} imports ${spec}, outside src/`);
        continue;
      }
      const module = rel.split('/')[0]!;
      if (module === s.module) continue;
      if (!ALLOWED[s.module]!.includes(module)) problems.push(`${relative(ROOT, s.file)} (${s.module}) imports ${module}: not allowed`);
      if (rel !== `${module}/index.ts`) problems.push(`${relative(ROOT, s.file)} imports ${rel}: go through ${module}/index.ts`);
    }
  }
  assert.deepEqual(problems, []);
});

test('pure modules (and the catalogers) do no I/O', () => {
  const problems: string[] = [];
  for (const s of sources().filter((x) => PURE.has(x.module) || PURE_PREFIXES.some((p) => relative(ROOT, x.file).startsWith(p)))) {
    for (const spec of s.imports) if (IO_BUILTINS.test(spec)) problems.push(`${relative(ROOT, s.file)} imports ${spec}`);
    if (/\bprocess\.env\b/.test(s.text)) problems.push(`${relative(ROOT, s.file)} reads process.env`);
    if (/\bfetch\(/.test(s.text)) problems.push(`${relative(ROOT, s.file)} calls fetch`);
  }
  assert.deepEqual(problems, []);
});

test('only the command line reads the process environment', () => {
  const readers = sources()
    .filter((s) => /\bprocess\.env\b/.test(s.text))
    .map((s) => relative(ROOT, s.file))
    .filter((f) => !f.startsWith('cli/'));
  assert.deepEqual(readers, []);
});

test('index files name their exports (no export *)', () => {
  const offenders = sources()
    .filter((s) => s.file.endsWith('index.ts') && /export\s+\*/.test(s.text))
    .map((s) => relative(ROOT, s.file));
  assert.deepEqual(offenders, []);
});

test('the module graph has no cycles', () => {
  const edges = new Map<string, Set<string>>();
  for (const s of sources()) {
    for (const spec of s.imports) {
      if (!spec.startsWith('.')) continue;
      const module = relative(ROOT, resolve(dirname(s.file), spec)).split('/')[0]!;
      if (module !== s.module) edges.set(s.module, (edges.get(s.module) ?? new Set()).add(module));
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: string, path: string[]): void => {
    if (state.get(m) === 'done') return;
    assert.notEqual(state.get(m), 'visiting', `import cycle: ${[...path, m].join(' → ')}`);
    state.set(m, 'visiting');
    for (const n of edges.get(m) ?? []) visit(n, [...path, m]);
    state.set(m, 'done');
  };
  for (const m of edges.keys()) visit(m, []);
});
