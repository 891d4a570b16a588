import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fileFromBytes, type Cataloger, type RawPackage } from '../../../src/sbom/index.js';
import { composerInstalledCataloger, composerLockCataloger } from '../../../src/sbom/catalogers/php.js';
import { requireTools, tempDir } from '../../helpers/env.js';

/** composer2/: written by Debian's Composer 2.5.5; composer1/: Composer 1's installed.json shape, by hand. See the README there. */
const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/sbom/lang/php/', import.meta.url));

async function catalog(c: Cataloger, path: string, bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings = await c.parse(fileFromBytes(path, bytes), { warn: (m) => warnings.push(m) });
  return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
}

const full = (p: RawPackage): string => `${p.namespace ?? ''}/${p.name}`;

function summary(packages: readonly RawPackage[]): string[] {
  return packages
    .map((p) => {
      const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('composer:'.length)).sort();
      return `${full(p)}@${p.version}${p.properties?.['dev'] === 'true' ? ' dev' : ''}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
    })
    .sort();
}

const COMPOSER2 = ['acme/core@v2.0.0 -> acme/log@1.4.2', 'acme/devtool@0.9.0 dev -> acme/log@1.4.2', 'acme/log@1.4.2'];

test('composer.lock (Composer 2.5): packages and packages-dev, vendor as namespace, licenses', async () => {
  const { packages, warnings } = await catalog(composerLockCataloger, 'srv/app/composer.lock', readFileSync(join(FIXTURES, 'composer2/composer.lock')));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), COMPOSER2);
  assert.deepEqual(packages[0], { type: 'composer', namespace: 'acme', name: 'core', version: 'v2.0.0', licenses: ['Apache-2.0', 'GPL-2.0-or-later'], dependsOn: ['composer:acme/log@1.4.2'] });
});

test('installed.json, Composer 2 shape: dev-package-names mark dev', async () => {
  const { packages, warnings } = await catalog(composerInstalledCataloger, 'srv/app/vendor/composer/installed.json', readFileSync(join(FIXTURES, 'composer2/vendor/composer/installed.json')));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), COMPOSER2);
});

test('installed.json, Composer 1 shape: a plain list, platform requirements and provides are no packages', async () => {
  const { packages, warnings } = await catalog(composerInstalledCataloger, 'vendor/composer/installed.json', readFileSync(join(FIXTURES, 'composer1/vendor/composer/installed.json')));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['monolog/monolog@1.27.1 -> psr/log@1.1.4', 'psr/log@1.1.4']);
});

test('composer install on path repositories: the catalogers agree with composer show', async (t) => {
  if (!requireTools(t, 'composer', 'php')) return;
  const dir = tempDir(t);
  const pkg = (name: string, version: string, extra: object): void => {
    mkdirSync(join(dir, 'pkgs', name.replace('/', '-')), { recursive: true });
    writeFileSync(join(dir, 'pkgs', name.replace('/', '-'), 'composer.json'), JSON.stringify({ name, version, type: 'library', ...extra }));
  };
  pkg('acme/log', '1.4.2', { license: 'MIT', require: { php: '>=7.4' } });
  pkg('acme/core', 'v2.0.0', { license: ['Apache-2.0', 'GPL-2.0-or-later'], require: { 'acme/log': '^1.0', 'acme/cyc-a': '*', 'ext-json': '*' } });
  // A dependency cycle: Composer installs it, the catalogers must list both edges.
  pkg('acme/cyc-a', '1.0.0', { require: { 'acme/cyc-b': '*' } });
  pkg('acme/cyc-b', '2.0.0-beta1', { require: { 'acme/cyc-a': '*' } });
  pkg('acme/devtool', '0.9.0', { license: 'BSD-3-Clause', require: { 'acme/log': '^1.2' } });
  writeFileSync(
    join(dir, 'composer.json'),
    JSON.stringify({
      name: 'acme/app',
      type: 'project',
      'minimum-stability': 'beta',
      repositories: [{ type: 'path', url: 'pkgs/*', options: { symlink: false } }, { 'packagist.org': false }],
      require: { 'acme/core': '^2.0' },
      'require-dev': { 'acme/devtool': '^0.9' },
    }),
  );
  const env = { ...process.env, COMPOSER_HOME: join(dir, '.composer'), COMPOSER_ALLOW_SUPERUSER: '1', COMPOSER_NO_INTERACTION: '1' };
  const composer = (...args: string[]): string => execFileSync('composer', args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  composer('install', '--no-progress');

  type Shown = { name: string; version: string; requires?: Shown[] };
  const installed = (JSON.parse(composer('show', '--format=json')) as { installed: Shown[] }).installed;
  const prod = new Set((JSON.parse(composer('show', '--no-dev', '--format=json')) as { installed: Shown[] }).installed.map((p) => p.name));
  const version = new Map(installed.map((p) => [p.name, p.version]));
  const edges = new Map<string, Set<string>>();
  const stack = [...(JSON.parse(composer('show', '--tree', '--format=json')) as { installed: Shown[] }).installed];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const set = edges.get(node.name) ?? new Set<string>();
    edges.set(node.name, set);
    for (const child of node.requires ?? []) {
      if (!version.has(child.name)) continue;
      // The tree repeats a cycle once; a pair already seen needs no second visit.
      if (!set.has(child.name)) stack.push(child);
      set.add(child.name);
    }
  }
  const expected = installed
    .map((p) => {
      const deps = [...(edges.get(p.name) ?? [])].map((d) => `${d}@${version.get(d)!}`).sort();
      return `${p.name}@${p.version}${prod.has(p.name) ? '' : ' dev'}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
    })
    .sort();
  assert.equal(expected.length, 5);

  for (const [c, path] of [
    [composerLockCataloger, 'composer.lock'],
    [composerInstalledCataloger, 'vendor/composer/installed.json'],
  ] as const) {
    assert.ok(c.wants(path, 1, 0o644));
    const { packages, warnings } = await catalog(c, path, readFileSync(join(dir, path)));
    assert.deepEqual(warnings, [], path);
    assert.deepEqual(summary(packages), expected, path);
  }
});

test('composer install with config.vendor-dir: installed.json is found and read where Composer put it', async (t) => {
  if (!requireTools(t, 'composer', 'php')) return;
  const dir = tempDir(t);
  mkdirSync(join(dir, 'pkgs', 'acme-log'), { recursive: true });
  writeFileSync(join(dir, 'pkgs', 'acme-log', 'composer.json'), JSON.stringify({ name: 'acme/log', version: '1.4.2', type: 'library' }));
  writeFileSync(
    join(dir, 'composer.json'),
    JSON.stringify({ name: 'acme/app', config: { 'vendor-dir': 'lib/deps' }, repositories: [{ type: 'path', url: 'pkgs/*', options: { symlink: false } }, { 'packagist.org': false }], require: { 'acme/log': '^1.0' } }),
  );
  const env = { ...process.env, COMPOSER_HOME: join(dir, '.composer'), COMPOSER_ALLOW_SUPERUSER: '1', COMPOSER_NO_INTERACTION: '1' };
  execFileSync('composer', ['install', '--no-progress'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const path = 'lib/deps/composer/installed.json';
  assert.ok(composerInstalledCataloger.wants(`srv/app/${path}`, 1, 0o644));
  const { packages, warnings } = await catalog(composerInstalledCataloger, `srv/app/${path}`, readFileSync(join(dir, path)));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['acme/log@1.4.2']);
});

test('wants composer.lock outside vendor/ and installed.json under vendor/composer/', () => {
  assert.ok(composerLockCataloger.wants('composer.lock', 1, 0o644));
  assert.ok(composerLockCataloger.wants('var/www/html/composer.lock', 1, 0o644));
  assert.ok(!composerLockCataloger.wants('var/www/html/vendor/acme/core/composer.lock', 1, 0o644));
  assert.ok(!composerLockCataloger.wants('var/www/html/my-composer.lock', 1, 0o644));
  assert.ok(composerInstalledCataloger.wants('var/www/html/vendor/composer/installed.json', 1, 0o644));
  assert.ok(composerInstalledCataloger.wants('vendor/composer/installed.json', 1, 0o644));
  // config.vendor-dir moves vendor/ elsewhere: the file is still <vendor-dir>/composer/installed.json.
  assert.ok(composerInstalledCataloger.wants('srv/app/lib/php-deps/composer/installed.json', 1, 0o644));
  assert.ok(!composerInstalledCataloger.wants('srv/app/installed.json', 1, 0o644));
  assert.ok(!composerInstalledCataloger.wants('srv/app/vendor/mycomposer/installed.json', 1, 0o644));
  assert.ok(!composerInstalledCataloger.wants('var/www/html/vendor/composer/installed.php', 1, 0o644));
});

test('broken input: bad JSON, wrong shapes, records without name or version, garbage', async () => {
  const garbage = Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % 251));
  for (const c of [composerLockCataloger, composerInstalledCataloger]) {
    for (const body of [garbage, Buffer.from('{"packages": ['), Buffer.from('"just a string"')]) {
      const { packages, warnings } = await catalog(c, 'x', body);
      assert.deepEqual(packages, []);
      assert.equal(warnings.length, 1, warnings.join('; '));
    }
  }
  const records = [{ name: 'a/ok', version: '1.0.0' }, { name: 'a/nover' }, { version: '1' }, 'nope', ...Array.from({ length: 30 }, () => 7)];
  const { packages, warnings } = await catalog(composerLockCataloger, 'composer.lock', Buffer.from(JSON.stringify({ packages: records })));
  assert.deepEqual(summary(packages), ['a/ok@1.0.0']);
  assert.equal(warnings.length, 21);
  assert.match(warnings[20]!, /13 more problems/);
});
