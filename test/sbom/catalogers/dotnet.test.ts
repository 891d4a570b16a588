import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileFromBytes, type RawPackage } from '../../../src/sbom/index.js';
import { dotnetDepsCataloger } from '../../../src/sbom/catalogers/dotnet.js';

/**
 * A self-contained linux-x64 publish of an app with a project reference, a runtime pack and a
 * reference assembly, written by hand in the format `dotnet publish` (SDK 8) writes: no .NET SDK
 * is packaged for this machine. See the README there.
 */
const FIXTURE = readFileSync(new URL('../../../../test/fixtures/sbom/lang/dotnet/MyApp.deps.json', import.meta.url));

async function catalog(path: string, bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings = await dotnetDepsCataloger.parse(fileFromBytes(path, bytes), { warn: (m) => warnings.push(m) });
  return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
}

function summary(packages: readonly RawPackage[]): string[] {
  return packages
    .map((p) => {
      const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('nuget:'.length)).sort();
      return `${p.name}@${p.version}${p.root === true ? ' root' : ''}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
    })
    .sort();
}

test('deps.json: packages and the runtime pack; the app is the root, its project reference stands for its packages', async () => {
  const { packages, warnings } = await catalog('app/MyApp.deps.json', FIXTURE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'Microsoft.Extensions.Logging.Abstractions@8.0.1',
    'Microsoft.NETCore.App.Runtime.linux-x64@8.0.6',
    'MyApp@1.0.0 root -> Microsoft.Extensions.Logging.Abstractions@8.0.1 Microsoft.NETCore.App.Runtime.linux-x64@8.0.6 Newtonsoft.Json@13.0.3 Serilog.Sinks.Console@5.0.1',
    'Newtonsoft.Json@13.0.3',
    'Serilog.Sinks.Console@5.0.1 -> Serilog@3.1.1',
    'Serilog@3.1.1',
  ]);
  assert.deepEqual(
    packages.find((p) => p.name === 'Newtonsoft.Json'),
    { type: 'nuget', name: 'Newtonsoft.Json', version: '13.0.3' },
  );
});

test('a deps.json named after no project has no root; ids match case-insensitively; cycles terminate', async () => {
  const doc = {
    targets: {
      'net8.0': {
        'Plugin/2.0.0': { dependencies: { 'a.lib': '1.0.0' } },
        'A.Lib/1.0.0': { dependencies: { 'b.lib': '1.0.0' } },
        'B.Lib/1.0.0': { dependencies: { 'A.Lib': '1.0.0' } },
      },
    },
    libraries: {
      'Plugin/2.0.0': { type: 'project' },
      'A.Lib/1.0.0': { type: 'package' },
      'B.Lib/1.0.0': { type: 'package' },
    },
  };
  const { packages, warnings } = await catalog('other.deps.json', Buffer.from(JSON.stringify(doc)));
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['A.Lib@1.0.0 -> B.Lib@1.0.0', 'B.Lib@1.0.0 -> A.Lib@1.0.0']);
});

test('wants *.deps.json only', () => {
  assert.ok(dotnetDepsCataloger.wants('app/MyApp.deps.json', 1, 0o644));
  assert.ok(dotnetDepsCataloger.wants('usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.6/Microsoft.NETCore.App.deps.json', 1, 0o644));
  assert.ok(!dotnetDepsCataloger.wants('app/MyApp.runtimeconfig.json', 1, 0o644));
  assert.ok(!dotnetDepsCataloger.wants('app/deps.json.bak', 1, 0o644));
});

test('broken input warns: bad JSON, no libraries, bad library ids, garbage', async () => {
  const garbage = Buffer.from(Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % 251));
  for (const body of [garbage, Buffer.from('{"libraries": {'), Buffer.from('{"targets": {}}'), Buffer.from('[]')]) {
    const { packages, warnings } = await catalog('x.deps.json', body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1);
  }
  const { packages, warnings } = await catalog('x.deps.json', Buffer.from(JSON.stringify({ libraries: { 'NoVersion': { type: 'package' }, 'Ok/1.0.0': { type: 'package' }, 'NoType/1.0.0': {} } })));
  assert.deepEqual(summary(packages), ['Ok@1.0.0']);
  assert.equal(warnings.length, 2);
});
