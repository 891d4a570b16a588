/**
 * Package.resolved v1, v2 and v3 in the shapes SwiftPM 5.5, 5.6 and 5.10 write (Swift is not
 * installed on this machine), with pins of projects published on GitHub: version pins, a branch
 * pin, a revision pin, a local package, a registry package, and URLs with and without `.git`,
 * over SSH and in scp form.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { swiftResolvedCataloger, swiftUrlName } from '../../../src/sbom/catalogers/swift.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const V1 = `{
  "object": {
    "pins": [
      {
        "package": "swift-nio",
        "repositoryURL": "https://github.com/apple/swift-nio.git",
        "state": {
          "branch": null,
          "revision": "124119f0bb12384cef35aa041d7c3a686108722d",
          "version": "2.40.0"
        }
      },
      {
        "package": "Alamofire",
        "repositoryURL": "https://github.com/Alamofire/Alamofire",
        "state": {
          "branch": "master",
          "revision": "f82c23a8a7ef8dc1a49a8bfc6a96883e79121864",
          "version": null
        }
      }
    ]
  },
  "version": 1
}
`;

const V2 = `{
  "pins" : [
    {
      "identity" : "swift-log",
      "kind" : "remoteSourceControl",
      "location" : "https://github.com/apple/swift-log.git",
      "state" : {
        "revision" : "32e8d724467f8fe623624570367e3d50c5638e46",
        "version" : "1.5.2"
      }
    },
    {
      "identity" : "vapor",
      "kind" : "remoteSourceControl",
      "location" : "git@github.com:vapor/vapor.git",
      "state" : {
        "revision" : "4b1e7fd5e2d0a2b1c6e6f0e3e0cfb8cd7e9bbd49"
      }
    },
    {
      "identity" : "mylocal",
      "kind" : "localSourceControl",
      "location" : "/Users/dev/src/mylocal",
      "state" : {
        "revision" : "0e5d2c6e0b6b16d1b2b3c5c2f5f9e8a6d4c3b2a1",
        "version" : "0.1.0"
      }
    },
    {
      "identity" : "mona.linkedlist",
      "kind" : "registry",
      "location" : "",
      "state" : {
        "version" : "1.1.0"
      }
    }
  ],
  "version" : 2
}
`;

const V3 = `{
  "originHash" : "d9f4a2a3c1b0e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2",
  "pins" : [
    {
      "identity" : "swift-argument-parser",
      "kind" : "remoteSourceControl",
      "location" : "ssh://git@github.com/apple/swift-argument-parser",
      "state" : {
        "revision" : "46989693916f56d1186bd59ac15124caef896560",
        "version" : "1.3.1"
      }
    }
  ],
  "version" : 3
}
`;

const catalog = (body: string): ReturnType<typeof runCataloger> => runCataloger(swiftResolvedCataloger, 'App/Package.resolved', body);

test('Package.resolved v1: repositoryURL names the package; a branch pin keeps its revision', async () => {
  const { packages, warnings } = await catalog(V1);
  assert.deepEqual(warnings, []);
  assert.deepEqual(packages, [
    { type: 'swift', namespace: 'github.com/apple', name: 'swift-nio', version: '2.40.0', properties: { revision: '124119f0bb12384cef35aa041d7c3a686108722d' } },
    { type: 'swift', namespace: 'github.com/Alamofire', name: 'Alamofire', version: 'f82c23a8a7ef8dc1a49a8bfc6a96883e79121864', properties: { revision: 'f82c23a8a7ef8dc1a49a8bfc6a96883e79121864', branch: 'master' } },
  ]);
});

test('Package.resolved v2: remote pins, scp-style URLs, a revision pin, registry identities; local packages skipped', async () => {
  const { packages, warnings } = await catalog(V2);
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    packages.map((p) => `${p.namespace}/${p.name}@${p.version}${p.properties?.['kind'] !== undefined ? ` ${p.properties['kind']}` : ''}`),
    ['github.com/apple/swift-log@1.5.2', 'github.com/vapor/vapor@4b1e7fd5e2d0a2b1c6e6f0e3e0cfb8cd7e9bbd49', 'mona/linkedlist@1.1.0 registry'],
  );
});

test('Package.resolved v3: originHash ignored, ssh:// URLs', async () => {
  const { packages, warnings } = await catalog(V3);
  assert.deepEqual(warnings, []);
  assert.deepEqual(packages.map((p) => `${p.namespace}/${p.name}@${p.version}`), ['github.com/apple/swift-argument-parser@1.3.1']);
});

test('SwiftURL names of repository URLs', () => {
  const cases: [string, string | undefined][] = [
    ['https://github.com/apple/swift-nio.git', 'github.com/apple/swift-nio'],
    ['https://GitHub.com/apple/swift-nio/', 'github.com/apple/swift-nio'],
    ['http://gitlab.example.com/group/sub/pkg.git', 'gitlab.example.com/group/sub/pkg'],
    ['git@github.com:vapor/vapor.git', 'github.com/vapor/vapor'],
    ['ssh://git@github.com/apple/swift-log', 'github.com/apple/swift-log'],
    ['/Users/dev/src/mylocal', undefined],
    ['file:///Users/dev/src/mylocal', undefined],
    ['https://github.com', undefined],
  ];
  for (const [url, want] of cases) assert.equal(swiftUrlName(url), want, url);
});

test('wants Package.resolved outside .build', () => {
  assert.ok(swiftResolvedCataloger.wants('Package.resolved', 1, 0o644));
  assert.ok(swiftResolvedCataloger.wants('App.xcworkspace/xcshareddata/swiftpm/Package.resolved', 1, 0o644));
  assert.ok(!swiftResolvedCataloger.wants('app/.build/checkouts/swift-nio/Package.resolved', 1, 0o644));
  assert.ok(!swiftResolvedCataloger.wants('app/Package.swift', 1, 0o644));
});

test('broken input warns: bad JSON, no pins, pins without state or location, garbage', async () => {
  const garbage = GARBAGE.toString('latin1');
  for (const body of [garbage, '{"pins": [', '{"version": 2}', '[]']) {
    const { packages, warnings } = await catalog(body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const pins = [
    { identity: 'ok', kind: 'remoteSourceControl', location: 'https://github.com/a/ok', state: { version: '1.0.0' } },
    { identity: 'nostate', location: 'https://github.com/a/b' },
    { identity: 'noloc', kind: 'remoteSourceControl', state: { version: '1.0.0' } },
    { identity: 'nover', kind: 'remoteSourceControl', location: 'https://github.com/a/c', state: {} },
    'x',
  ];
  const { packages, warnings } = await catalog(JSON.stringify({ pins, version: 2 }));
  assert.deepEqual(packages.map((p) => p.name), ['ok']);
  assert.equal(warnings.length, 4, warnings.join('; '));
});
