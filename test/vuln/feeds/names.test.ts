import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alpineRelease, debianReleaseVersion, normalizePackageName, osvEcosystem } from '../../../src/vuln/feeds/names.js';

test('OSV ecosystem names map to the DB keys; unknown ones to undefined', () => {
  const cases: ReadonlyArray<readonly [string, string | undefined]> = [
    ['Debian:12', 'debian:12'],
    ['Debian:11', 'debian:11'],
    ['Debian:13', 'debian:13'],
    ['Debian', undefined],
    ['Debian:bookworm', undefined],
    ['Ubuntu:22.04:LTS', 'ubuntu:22.04'],
    ['Ubuntu:23.10', 'ubuntu:23.10'],
    ['Ubuntu:Pro:18.04:LTS', 'ubuntu:18.04'],
    ['Ubuntu:Pro:FIPS:18.04:LTS', undefined],
    ['Ubuntu:Pro:FIPS-updates:20.04:LTS', undefined],
    ['Ubuntu:22.04:LTS:extra', undefined],
    ['Alpine:v3.19', 'alpine:3.19'],
    ['Alpine:v3.20', 'alpine:3.20'],
    ['Alpine:edge', undefined],
    ['npm', 'npm'],
    ['PyPI', 'pypi'],
    ['Go', 'go'],
    ['Maven', 'maven'],
    ['crates.io', 'crates.io'],
    ['RubyGems', 'rubygems'],
    ['Packagist', 'packagist'],
    ['NuGet', 'nuget'],
    ['Hex', 'hex'],
    ['Pub', 'pub'],
    ['SwiftURL', 'swifturl'],
    ['ConanCenter', 'conancenter'],
    ['pypi', undefined], // OSV names are case-sensitive
    ['hex', undefined],
    ['Swift', undefined],
    ['Hackage', undefined],
    ['GIT', undefined],
    ['', undefined],
  ];
  for (const [osv, want] of cases) assert.deepEqual(osvEcosystem(osv), want === undefined ? undefined : { ecosystem: want }, osv);
});

test('package names: PEP 503 for PyPI, lower case for Composer and NuGet, others as given', () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['pypi', 'Django', 'django'],
    ['pypi', 'jw.util', 'jw-util'],
    ['pypi', 'zope.interface', 'zope-interface'],
    ['pypi', 'Flask__SQLAlchemy', 'flask-sqlalchemy'],
    ['pypi', 'a-_.b', 'a-b'],
    ['pypi', ' PyYAML ', 'pyyaml'],
    ['packagist', 'Symfony/HTTP-Kernel', 'symfony/http-kernel'],
    ['nuget', 'Newtonsoft.Json', 'newtonsoft.json'],
    ['maven', 'org.apache.logging.log4j:log4j-core', 'org.apache.logging.log4j:log4j-core'],
    ['npm', '@Scope/Pkg', '@Scope/Pkg'],
    ['go', 'github.com/BurntSushi/toml', 'github.com/BurntSushi/toml'],
    ['crates.io', 'Inflector', 'Inflector'],
    ['rubygems', 'ActiveSupport', 'ActiveSupport'],
    ['swifturl', 'github.com/Alamofire/Alamofire', 'github.com/alamofire/alamofire'],
    ['swifturl', 'github.com/apple/swift-nio.git', 'github.com/apple/swift-nio'],
    ['hex', 'plug_crypto', 'plug_crypto'],
    ['pub', 'flutter_lints', 'flutter_lints'],
    ['conancenter', 'openssl', 'openssl'],
    ['debian:12', 'openssl', 'openssl'],
    ['alpine:3.19', 'py3-Pillow', 'py3-Pillow'],
  ];
  for (const [eco, name, want] of cases) assert.equal(normalizePackageName(eco, name), want, `${eco} ${name}`);
});

test('Debian codenames to release numbers; sid and experimental have none', () => {
  assert.equal(debianReleaseVersion('buster'), '10');
  assert.equal(debianReleaseVersion('bullseye'), '11');
  assert.equal(debianReleaseVersion('bookworm'), '12');
  assert.equal(debianReleaseVersion('trixie'), '13');
  assert.equal(debianReleaseVersion('forky'), '14');
  assert.equal(debianReleaseVersion('stretch'), '9');
  assert.equal(debianReleaseVersion('sid'), undefined);
  assert.equal(debianReleaseVersion('experimental'), undefined);
  assert.equal(debianReleaseVersion('bookworm-security'), undefined);
});

test('Alpine releases as major.minor', () => {
  assert.equal(alpineRelease('v3.19'), '3.19');
  assert.equal(alpineRelease('3.19.1'), '3.19');
  assert.equal(alpineRelease('v3.8'), '3.8');
  assert.equal(alpineRelease(' v3.10 '), '3.10');
  assert.equal(alpineRelease('edge'), undefined);
  assert.equal(alpineRelease('v3'), undefined);
  assert.equal(alpineRelease(''), undefined);
});
