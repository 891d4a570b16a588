/**
 * NuGet's packages.lock.json, packages.config and Central Package Management's
 * Directory.Packages.props, against the formats' published examples (the .NET SDK and Visual
 * Studio are not packaged for this machine): a lockfile as `dotnet restore --use-lock-file`
 * writes it for a framework and a runtime target (Direct, Transitive, CentralTransitive and
 * Project entries), the packages.config of the NuGet docs, and a Directory.Packages.props in the
 * shape the CPM docs give (PackageVersion, GlobalPackageReference, a property, a range).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cataloger, RawPackage } from '../../../src/sbom/index.js';
import { nugetCentralCataloger, nugetLockCataloger, packagesConfigCataloger } from '../../../src/sbom/catalogers/dotnet.js';
import { xmlTokens } from '../../../src/sbom/catalogers/xml.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const LOCK = JSON.stringify({
  version: 1,
  dependencies: {
    'net8.0': {
      'Newtonsoft.Json': { type: 'Direct', requested: '[13.0.3, )', resolved: '13.0.3', contentHash: 'HrC5BXdl00IP9zeV+0Z848QWPAoCr9P3bDEZguI+gkLcBKAOxix/tLEAAHC+UvDNPv4a2d18lOReHMOagPa+zQ==' },
      'Serilog.Sinks.Console': { type: 'Direct', requested: '[5.0.1, )', resolved: '5.0.1', contentHash: 'x', dependencies: { Serilog: '3.1.1' } },
      Serilog: { type: 'Transitive', resolved: '3.1.1', contentHash: 'x' },
      'Microsoft.Extensions.Logging.Abstractions': { type: 'CentralTransitive', requested: '[8.0.1, )', resolved: '8.0.1', contentHash: 'x' },
      'MyApp.Core': { type: 'Project', dependencies: { 'Newtonsoft.Json': '[13.0.3, )', serilog: '[3.1.1, )' } },
    },
    'net8.0/linux-x64': {
      'runtime.linux-x64.Microsoft.NETCore.ILAsm': { type: 'Transitive', resolved: '8.0.0', contentHash: 'x' },
      'Serilog.Sinks.Console': { type: 'Direct', requested: '[5.0.1, )', resolved: '5.0.1', contentHash: 'x', dependencies: { serilog: '3.1.1' } },
      Serilog: { type: 'Transitive', resolved: '3.1.1', contentHash: 'x' },
    },
  },
});

const PACKAGES_CONFIG = `<?xml version="1.0" encoding="utf-8"?>
<packages>
  <package id="jQuery" version="3.1.1" targetFramework="net46" />
  <package id="NLog" version="4.3.10" targetFramework="net46" />
  <!-- <package id="Commented.Out" version="1.0.0" /> -->
  <package id="Microsoft.CodeDom.Providers.DotNetCompilerPlatform" version="2.0.1" targetFramework="net46" developmentDependency="true" />
</packages>
`;

const CENTRAL = `<Project>
  <PropertyGroup>
    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>
    <XunitVersion>2.6.6</XunitVersion>
  </PropertyGroup>
  <ItemGroup>
    <PackageVersion Include="Newtonsoft.Json" Version="13.0.3" />
    <PackageVersion Include="xunit" Version="$(XunitVersion)" />
    <PackageVersion Include="Pinned.Exactly" Version="[1.2.3]" />
    <PackageVersion Include="Some.Range" Version="[1.0,2.0)" />
    <PackageVersion Include="Undefined.Property" Version="$(Nowhere)" />
    <PackageVersion Include="Child.Element">
      <Version>4.5.6</Version>
    </PackageVersion>
  </ItemGroup>
  <ItemGroup>
    <GlobalPackageReference Include="Nerdbank.GitVersioning" Version="3.6.133" />
  </ItemGroup>
</Project>
`;

const catalog = (c: Cataloger, path: string, body: string | Uint8Array): ReturnType<typeof runCataloger> => runCataloger(c, path, body);

function summary(packages: readonly RawPackage[]): string[] {
  return packages.map((p) => {
    const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('nuget:'.length)).sort();
    const props = Object.entries(p.properties ?? {}).map(([k, v]) => ` ${k}=${v}`).join('');
    return `${p.name}@${p.version}${props}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
  });
}

test('packages.lock.json: every target, packages once, dependencies by case-insensitive name, projects skipped', async () => {
  const { packages, warnings } = await catalog(nugetLockCataloger, 'src/App/packages.lock.json', LOCK);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'Newtonsoft.Json@13.0.3 direct=true',
    'Serilog.Sinks.Console@5.0.1 direct=true -> Serilog@3.1.1',
    'Serilog@3.1.1',
    'Microsoft.Extensions.Logging.Abstractions@8.0.1',
    'runtime.linux-x64.Microsoft.NETCore.ILAsm@8.0.0',
  ]);
});

test('packages.config: ids, versions, target framework, development dependencies; comments skipped', async () => {
  const { packages, warnings } = await catalog(packagesConfigCataloger, 'web/packages.config', PACKAGES_CONFIG);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'jQuery@3.1.1 framework=net46',
    'NLog@4.3.10 framework=net46',
    'Microsoft.CodeDom.Providers.DotNetCompilerPlatform@2.0.1 framework=net46 dev=true',
  ]);
});

test('Directory.Packages.props: exact versions, properties expanded, child Version elements, global references; ranges skipped', async () => {
  const { packages, warnings } = await catalog(nugetCentralCataloger, 'Directory.Packages.props', CENTRAL);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['Newtonsoft.Json@13.0.3', 'xunit@2.6.6', 'Pinned.Exactly@1.2.3', 'Child.Element@4.5.6', 'Nerdbank.GitVersioning@3.6.133 global=true']);
});

test('the XML reader: attributes in either quote, entities, CDATA, self-closing tags', () => {
  const tokens = [...xmlTokens(`<?xml version="1.0"?><!DOCTYPE x><a k='1 &amp; 2' j="&#x41;&#66;"><b/>t&lt;<![CDATA[<raw>]]></a>`)];
  assert.deepEqual(
    tokens.map((t) => (t.kind === 'open' ? `<${t.name}${[...t.attrs].map(([k, v]) => ` ${k}=${v}`).join('')}${t.selfClosing ? '/' : ''}>` : t.kind === 'close' ? `</${t.name}>` : t.text)),
    ['<a k=1 & 2 j=AB>', '<b/>', 't<', '<raw>', '</a>'],
  );
  assert.throws(() => [...xmlTokens('<a><!-- open')], SyntaxError);
  assert.throws(() => [...xmlTokens('<a')], SyntaxError);
});

test('wants the NuGet files by name', () => {
  assert.ok(nugetLockCataloger.wants('src/App/packages.lock.json', 1, 0o644));
  assert.ok(!nugetLockCataloger.wants('src/App/my-packages.lock.json', 1, 0o644));
  assert.ok(packagesConfigCataloger.wants('web/packages.config', 1, 0o644));
  assert.ok(nugetCentralCataloger.wants('Directory.Packages.props', 1, 0o644));
  assert.ok(nugetCentralCataloger.wants('src/directory.packages.props', 1, 0o644));
  assert.ok(nugetCentralCataloger.wants('src/Packages.props', 1, 0o644));
  assert.ok(!nugetCentralCataloger.wants('src/Directory.Build.props', 1, 0o644));
});

test('broken input warns: bad JSON or XML, wrong roots, entries without versions, garbage', async () => {
  for (const [c, path] of [
    [nugetLockCataloger, 'packages.lock.json'],
    [packagesConfigCataloger, 'packages.config'],
    [nugetCentralCataloger, 'Directory.Packages.props'],
  ] as const) {
    for (const body of [GARBAGE, '{"dependencies": {', '<packages><package id="a"', '<other/>']) {
      const { packages, warnings } = await catalog(c, path, body);
      assert.deepEqual(packages, [], `${path}: ${String(body).slice(0, 30)}`);
      assert.equal(warnings.length, 1, `${path}: ${warnings.join('; ')}`);
    }
  }
  const lock = await catalog(nugetLockCataloger, 'packages.lock.json', JSON.stringify({ dependencies: { net8: { Ok: { type: 'Direct', resolved: '1.0.0' }, NoVer: { type: 'Transitive' }, Odd: { type: 'Weird', resolved: '1' } }, bad: 7 } }));
  assert.deepEqual(summary(lock.packages), ['Ok@1.0.0 direct=true']);
  assert.equal(lock.warnings.length, 3);
  const config = await catalog(packagesConfigCataloger, 'packages.config', '<packages><package id="Ok" version="1.0.0"/><package id="NoVer"/><package version="1"/></packages>');
  assert.deepEqual(summary(config.packages), ['Ok@1.0.0']);
  assert.equal(config.warnings.length, 2);
  const central = await catalog(nugetCentralCataloger, 'Directory.Packages.props', '<Project><ItemGroup><PackageVersion Version="1.0.0"/></ItemGroup></Project>');
  assert.deepEqual(central.packages, []);
  assert.equal(central.warnings.length, 1);
});
