/**
 * Julia's Manifest.toml, against manifests in the shapes Pkg writes (Julia is not packaged for
 * this machine): format 2.0 as Julia 1.9 and 1.12 write it (taken in the form of published Pluto
 * notebooks' manifests: stdlibs with and without versions, JLL packages, extensions and weak
 * dependencies, a package in development and one from a repository) and the format of Julia 1.6.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RawPackage } from '../../../src/sbom/index.js';
import { juliaManifestCataloger } from '../../../src/sbom/catalogers/julia.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const V2 = `# This file is machine-generated - editing it directly is not advised

julia_version = "1.9.1"
manifest_format = "2.0"
project_hash = "93943a1a7d60b9d0c100a6f10786fee114842081"

[[deps.ArgTools]]
uuid = "0dad84c5-d112-42e6-8d28-ef12dabb789f"
version = "1.1.1"

[[deps.Artifacts]]
uuid = "56f22d72-fd6d-98f1-02f0-08ddc0907c33"

[[deps.Compat]]
deps = ["Dates", "UUIDs"]
git-tree-sha1 = "9d8a54ce4b17aa5bdce0ea5c34bc5e7c340d16ad"
uuid = "34da2185-b29b-5c13-b0c7-acf172513d20"
version = "4.18.1"
weakdeps = ["LinearAlgebra"]

    [deps.Compat.extensions]
    CompatLinearAlgebraExt = "LinearAlgebra"

[[deps.CompilerSupportLibraries_jll]]
deps = ["Artifacts", "Libdl"]
uuid = "e66e0078-7015-5450-92f7-15fbd957f2ae"
version = "1.0.2+0"

[[deps.Dates]]
deps = ["Printf"]
uuid = "ade2ca70-3891-5945-98fb-dc099432e06a"

[[deps.DelimitedFiles]]
deps = {Mmap = "a63ad114-7e13-5084-954f-fe012c677804"}
git-tree-sha1 = "9e2f36d3c96a820c678f2f1f1782582fcf685bae"
uuid = "8bb1440f-4735-579b-a4ab-409b98df4dab"
version = "1.9.1"

[[deps.Mmap]]
uuid = "a63ad114-7e13-5084-954f-fe012c677804"

[[deps.MyTools]]
deps = ["Compat"]
path = "../MyTools"
uuid = "1d2f3e4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"
version = "0.2.0"

[[deps.Forked]]
git-tree-sha1 = "0123456789abcdef0123456789abcdef01234567"
repo-rev = "main"
repo-url = "https://github.com/example/Forked.jl.git"
uuid = "2e3f4a5b-6c7d-4e8f-9a0b-c1d2e3f4a5b6"
version = "1.0.0"
`;

const V1 = `# This file is machine-generated - editing it directly is not advised

[[Base64]]
uuid = "2a0f44e3-6c83-55bd-87e4-b1978d98bd5f"

[[JSON]]
deps = ["Dates", "Mmap", "Parsers", "Unicode"]
git-tree-sha1 = "81690084b6198a2e1da36fcfda16eeca9f9f24e4"
uuid = "682c06a0-de6a-54ab-a142-c8b1cf79cde6"
version = "0.21.1"

[[Parsers]]
deps = ["Dates"]
git-tree-sha1 = "c8abc88faa3f7a3950832ac5d6e690881590d6dc"
uuid = "69de0a69-1ddd-5017-9359-2bf0b02dc9f0"
version = "1.1.0"
`;

const catalog = (body: string | Uint8Array, path = 'app/Manifest.toml'): ReturnType<typeof runCataloger> => runCataloger(juliaManifestCataloger, path, body);

function summary(packages: readonly RawPackage[]): string[] {
  return packages.map((p) => {
    const props = Object.entries(p.properties ?? {}).map(([k, v]) => ` ${k}=${v}`).join('');
    const deps = [...(p.dependsOn ?? [])].map((k) => k.slice('julia:'.length)).sort();
    return `${p.name}@${p.version}${props}${deps.length > 0 ? ` -> ${deps.join(' ')}` : ''}`;
  });
}

test('Manifest.toml format 2.0: packages with uuids, stdlibs at the Julia version, deps by name and by uuid, dev and repo packages', async () => {
  const { packages, warnings } = await catalog(V2);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'ArgTools@1.1.1 stdlib=true',
    'Artifacts@1.9.1 stdlib=true',
    'Compat@4.18.1 -> Dates@1.9.1',
    'CompilerSupportLibraries_jll@1.0.2+0 stdlib=true -> Artifacts@1.9.1',
    'Dates@1.9.1 stdlib=true',
    'DelimitedFiles@1.9.1 -> Mmap@1.9.1',
    'Mmap@1.9.1 stdlib=true',
    'MyTools@0.2.0 path=../MyTools -> Compat@4.18.1',
    'Forked@1.0.0 repository=https://github.com/example/Forked.jl.git',
  ]);
  assert.deepEqual(packages[2], {
    type: 'julia',
    name: 'Compat',
    version: '4.18.1',
    qualifiers: { uuid: '34da2185-b29b-5c13-b0c7-acf172513d20' },
    dependsOn: ['julia:Dates@1.9.1'],
  });
});

test('Manifest.toml of Julia 1.6: top-level entries; stdlibs without a Julia version are skipped', async () => {
  const { packages, warnings } = await catalog(V1);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['JSON@0.21.1 -> Parsers@1.1.0', 'Parsers@1.1.0']);
});

test('wants Manifest.toml, JuliaManifest.toml and versioned manifests', () => {
  for (const p of ['Manifest.toml', 'app/Manifest.toml', 'app/JuliaManifest.toml', 'app/Manifest-v1.11.toml']) assert.ok(juliaManifestCataloger.wants(p, 1, 0o644), p);
  for (const p of ['app/Project.toml', 'app/MyManifest.toml', 'app/manifest.toml']) assert.ok(!juliaManifestCataloger.wants(p, 1, 0o644), p);
});

test('broken input warns: bad TOML, no entries, entries without uuid or version, garbage', async () => {
  for (const body of [GARBAGE, '[[deps.X]\nuuid = ', 'name = "x"\n']) {
    const { packages, warnings } = await catalog(body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const { packages, warnings } = await catalog('manifest_format = "2.0"\n[[deps.Ok]]\nuuid = "u1"\nversion = "1.0.0"\ngit-tree-sha1 = "aa"\n[[deps.NoUuid]]\nversion = "1"\n[[deps.NoVer]]\nuuid = "u2"\ngit-tree-sha1 = "bb"\n');
  assert.deepEqual(summary(packages), ['Ok@1.0.0']);
  assert.equal(warnings.length, 2, warnings.join('; '));
});
