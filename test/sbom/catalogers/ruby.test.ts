import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fileFromBytes, type Cataloger, type RawPackage } from '../../../src/sbom/index.js';
import { gemfileLockCataloger, gemspecCataloger } from '../../../src/sbom/catalogers/ruby.js';
import { filesBelow, requireTools, tempDir } from '../../helpers/env.js';

/** Gemspecs RubyGems 3.3.15 wrote on install and lockfiles Bundler 2.3.27 wrote: see the README there. */
const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/sbom/lang/ruby/', import.meta.url));

async function catalog(c: Cataloger, path: string, bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings = await c.parse(fileFromBytes(path, bytes), { warn: (m) => warnings.push(m) });
  return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
}

/** `name@version[ platform] -> deps`, the shape the Ruby one-liners below print too. */
function summary(packages: readonly RawPackage[]): string[] {
  return packages
    .map((p) => {
      const platform = p.properties?.['platform'];
      const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('gem:'.length).replace(/@.*$/, '')).sort();
      return `${p.name}@${p.version}${platform === undefined ? '' : ` ${platform}`} -> ${deps.join(' ')}`.trimEnd();
    })
    .sort();
}

test('installed gemspecs on every gem path are exactly what gem list --local reports', async (t) => {
  if (!requireTools(t, 'ruby', 'gem')) return;
  // A gem home of our own adds a platform gem and a gem with two licenses to what Debian installed.
  const home = tempDir(t);
  mkdirSync(join(home, 'specifications'));
  for (const f of readdirSync(join(FIXTURES, 'specifications'))) copyFileSync(join(FIXTURES, 'specifications', f), join(home, 'specifications', f));
  const system = execFileSync('gem', ['env', 'gempath'], { encoding: 'utf8' }).trim().split(':');
  const gemPath = [home, ...system];
  const env = { ...process.env, GEM_HOME: home, GEM_PATH: gemPath.join(':') };
  const listed = new Set<string>();
  // `name (default: 2.3.27, 2.3.15)`, `natlib (1.2.0.rc1 x86_64-linux)`
  for (const line of execFileSync('gem', ['list', '--local'], { encoding: 'utf8', env }).split('\n')) {
    const m = /^(\S+) \((.*)\)$/.exec(line);
    if (m === null) continue;
    for (const v of m[2]!.split(', ')) listed.add(`${m[1]!} ${v.replace(/^default: /, '')}`);
  }

  const found = new Set<string>();
  const warnings: string[] = [];
  for (const dir of gemPath) {
    if (!existsSync(join(dir, 'specifications'))) continue;
    for (const abs of filesBelow(join(dir, 'specifications'))) {
      const path = relative('/', abs);
      if (!gemspecCataloger.wants(path, lstatSync(abs).size, 0o644)) continue;
      const result = await catalog(gemspecCataloger, path, readFileSync(abs));
      warnings.push(...result.warnings);
      for (const p of result.packages) found.add(`${p.name} ${p.version}${p.properties?.['platform'] === undefined ? '' : ` ${p.properties['platform']}`}`);
    }
  }
  assert.ok(listed.size > 50, `gem list gave ${listed.size} gems`);
  assert.deepEqual([...found].sort(), [...listed].sort());
  assert.deepEqual(warnings, []);
});

test('gemspecs as RubyGems writes them: name, version, platform, licenses', async () => {
  const natlib = await catalog(gemspecCataloger, 'var/lib/gems/3.1.0/specifications/natlib-1.2.0.rc1-x86_64-linux.gemspec', readFileSync(join(FIXTURES, 'specifications/natlib-1.2.0.rc1-x86_64-linux.gemspec')));
  assert.deepEqual(natlib, { packages: [{ type: 'gem', name: 'natlib', version: '1.2.0.rc1', licenses: ['MIT', 'BSD-2-Clause'], properties: { platform: 'x86_64-linux' } }], warnings: [] });
  const mylib = await catalog(gemspecCataloger, 'specifications/mylib-0.3.1.gemspec', readFileSync(join(FIXTURES, 'specifications/mylib-0.3.1.gemspec')));
  assert.deepEqual(mylib.packages, [{ type: 'gem', name: 'mylib', version: '0.3.1', licenses: ['Apache-2.0'] }]);
});

test('gemspec string forms: single quotes, %q delimiters, escapes, `spec.` receivers, license singular', async () => {
  const spec = [
    'Gem::Specification.new do |spec|',
    "  spec.name = 'odd\\'name'",
    '  spec.version = %q{2.0.0}',
    '  spec.license = %q<Apache 2.0>.freeze',
    '  spec.summary = "s.name = \\"decoy\\""',
    '  spec.required_rubygems_version = Gem::Requirement.new(">= 0")',
    'end',
  ].join('\n');
  const { packages } = await catalog(gemspecCataloger, 'gems/specifications/x.gemspec', Buffer.from(spec));
  assert.deepEqual(packages, [{ type: 'gem', name: "odd'name", version: '2.0.0', licenses: ['Apache-2.0'] }]);
});

test('a gemspec without a version, and binary garbage, warn and give nothing', async () => {
  for (const body of [Buffer.from('Gem::Specification.new do |s|\n  s.name = "x".freeze\nend\n'), Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % 251))]) {
    const { packages, warnings } = await catalog(gemspecCataloger, 'specifications/x.gemspec', body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1);
  }
});

test('wants gemspecs directly in specifications/ or specifications/default/', () => {
  for (const p of ['usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec', 'usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec', 'specifications/a.gemspec', 'app/vendor/bundle/ruby/3.1.0/specifications/rack-3.0.0.gemspec']) {
    assert.ok(gemspecCataloger.wants(p, 1, 0o644), p);
  }
  for (const p of ['app/myapp.gemspec', 'usr/lib/ruby/gems/3.1.0/gems/rake-13.0.6/rake.gemspec', 'specifications/x/y.gemspec', 'specifications/rake.gemspec.bak']) {
    assert.ok(!gemspecCataloger.wants(p, 1, 0o644), p);
  }
  assert.ok(gemfileLockCataloger.wants('app/Gemfile.lock', 1, 0o644));
  assert.ok(gemfileLockCataloger.wants('gems.locked', 1, 0o644));
  assert.ok(!gemfileLockCataloger.wants('usr/lib/ruby/gems/3.1.0/gems/rake-13.0.6/Gemfile.lock', 1, 0o644));
  assert.ok(!gemfileLockCataloger.wants('app/Gemfile', 1, 0o644));
});

const LOCKS = ['path-source/Gemfile.lock', 'platform/Gemfile.lock', 'multi-platform-git.Gemfile.lock'];

test('Gemfile.lock specs and dependencies: exactly what Bundler’s own LockfileParser reads', async (t) => {
  if (!requireTools(t, 'ruby')) return;
  // Bundler wants a Gemfile somewhere before it parses a lockfile; an empty one will do.
  const dir = tempDir(t);
  writeFileSync(join(dir, 'Gemfile'), '');
  const script =
    'Bundler::LockfileParser.new(File.read(ARGV[0])).specs.each { |s| ' +
    'puts [s.name, s.version.to_s, s.platform.to_s, s.dependencies.map(&:name).join(",")].join("\\t") }';
  for (const lock of LOCKS) {
    const out = execFileSync('ruby', ['-rbundler', '-e', script, join(FIXTURES, lock)], { encoding: 'utf8', cwd: dir, env: { ...process.env, BUNDLE_GEMFILE: join(dir, 'Gemfile') } });
    // Bundler lists each platform build of a version apart; the cataloger merges them into one package.
    const merged = new Map<string, { platforms: Set<string>; deps: Set<string> }>();
    for (const line of out.trim().split('\n')) {
      const [name, version, platform, deps] = line.split('\t') as [string, string, string, string];
      const key = `${name}@${version}`;
      const e = merged.get(key) ?? { platforms: new Set<string>(), deps: new Set<string>() };
      merged.set(key, e);
      e.platforms.add(platform);
      for (const d of deps.split(',')) if (d !== '') e.deps.add(d);
    }
    const expected = [...merged].map(([key, e]) => {
      const platforms = [...e.platforms].sort().join(',');
      return `${key}${platforms === 'ruby' ? '' : ` ${platforms}`} -> ${[...e.deps].sort().join(' ')}`.trimEnd();
    });
    const { packages, warnings } = await catalog(gemfileLockCataloger, 'app/Gemfile.lock', readFileSync(join(FIXTURES, lock)));
    assert.deepEqual(warnings, [], lock);
    assert.deepEqual(summary(packages), expected.sort(), lock);
  }
});

test('Gemfile.lock with a platform gem (bundle lock --local)', async () => {
  const { packages } = await catalog(gemfileLockCataloger, 'Gemfile.lock', readFileSync(join(FIXTURES, 'platform/Gemfile.lock')));
  assert.deepEqual(summary(packages), [
    'minitest@5.15.0 ->',
    'mylib@0.3.1 -> rake',
    'natlib@1.2.0.rc1 x86_64-linux -> mylib',
    'power_assert@2.0.1 ->',
    'rake@13.0.6 ->',
    'rbs@2.7.0 ->',
    'test-unit@3.5.3 -> power_assert',
    'typeprof@0.21.3 -> rbs',
  ]);
  assert.deepEqual(packages.find((p) => p.name === 'typeprof')?.dependsOn, ['gem:rbs@2.7.0']);
});

test('a newer lockfile’s CHECKSUMS section is not read as specs; garbage warns', async () => {
  const lock = 'GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.8)\n\nCHECKSUMS\n  rack (3.0.8) sha256=0123\n\nBUNDLED WITH\n   2.5.4\n';
  assert.deepEqual(summary((await catalog(gemfileLockCataloger, 'Gemfile.lock', Buffer.from(lock))).packages), ['rack@3.0.8 ->']);
  const garbage = await catalog(gemfileLockCataloger, 'Gemfile.lock', Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 7) % 256)));
  assert.deepEqual(garbage.packages, []);
  assert.equal(garbage.warnings.length, 1);
  const started = Date.now();
  const huge = await catalog(gemfileLockCataloger, 'Gemfile.lock', Buffer.from(`GEM\n  specs:\n    ${'a'.repeat(16 * 1024 * 1024)} (\n`));
  assert.deepEqual(huge.packages, []);
  assert.ok(Date.now() - started < 5000);
});
