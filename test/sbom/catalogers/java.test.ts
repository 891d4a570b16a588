/**
 * The Java archive cataloger against real jars and real tools: every jar Debian installs under
 * /usr/share/java (maven, guava, guice, ...) is compared with what `unzip` shows of its
 * pom.properties; a Spring-Boot-like fat jar (stored BOOT-INF/lib), a war (deflated WEB-INF/lib)
 * and an ear holding that war are built with the JDK's `jar` tool from those real jars. Archives
 * no tool writes on purpose (50 levels of nesting, zip64 records, a zip bomb, lying sizes) are
 * written here by a small zip writer, and checked readable by `unzip` or Python's zipfile first.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { fileFromBytes, packageKey, type RawPackage } from '../../../src/sbom/index.js';
import { javaArchiveCataloger } from '../../../src/sbom/catalogers/java.js';
import { requireTools, tempDir } from '../../helpers/env.js';
import { crc32 } from '../../helpers/zip.js';

const JAVA_DIR = '/usr/share/java';

async function catalog(path: string, bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  try {
    const findings = await javaArchiveCataloger.parse(fileFromBytes(path, bytes), { warn: (m) => warnings.push(m) });
    return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
  } catch (err) {
    assert.ok(err instanceof Error, `parse threw a non-Error: ${String(err)}`);
    return { packages: [], warnings: [...warnings, err.message] };
  }
}

const id = (p: { namespace?: string | undefined; name: string; version: string }): string => `${p.namespace ?? ''}:${p.name}:${p.version}`;

/** The pom.properties of a jar, as unzip extracts them: groupId:artifactId:version each. */
function unzipPoms(jar: string): string[] {
  const names = execFileSync('unzip', ['-Z1', jar], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\n')
    .filter((n) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(n));
  return names.map((n) => {
    const props = new Map<string, string>();
    for (const line of execFileSync('unzip', ['-p', jar, n], { encoding: 'utf8' }).split(/\r?\n/)) {
      const eq = line.indexOf('=');
      if (eq > 0 && !line.startsWith('#')) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    return `${props.get('groupId')!}:${props.get('artifactId')!}:${props.get('version')!}`;
  });
}

/** Debian's real jar files (symlinks resolved, each once). */
function debianJars(): string[] {
  const seen = new Set<string>();
  for (const name of readdirSync(JAVA_DIR)) {
    if (!name.endsWith('.jar')) continue;
    const real = realpathSync(join(JAVA_DIR, name));
    if (statSync(real).isFile()) seen.add(real);
  }
  return [...seen].sort();
}

/** What the cataloger must find in one jar: every pom.properties, plus at most one package from the manifest or file name. */
function assertMatchesPoms(found: RawPackage[], poms: string[], label: string): void {
  const ids = found.map(id);
  for (const p of poms) assert.ok(ids.includes(p), `${label}: ${p} missing from ${ids.join(', ')}`);
  const extra = ids.filter((x) => !poms.includes(x));
  assert.ok(extra.length <= 1, `${label}: more than one package beyond the poms: ${extra.join(', ')}`);
}

describe('Debian jars against unzip', () => {
  test('every jar under /usr/share/java', async (t) => {
    if (!requireTools(t, 'unzip')) return;
    const jars = debianJars();
    assert.ok(jars.length > 20, 'the JDK and maven packages install jars');
    let poms = 0;
    for (const jar of jars) {
      const truth = unzipPoms(jar);
      poms += truth.length;
      const { packages, warnings } = await catalog(jar.slice(1), readFileSync(jar));
      assert.deepEqual(warnings, [], jar);
      assertMatchesPoms(packages, truth, jar);
      assert.ok(packages.every((p) => p.type === 'maven' && p.locations === undefined && p.version !== ''));
    }
    assert.ok(poms > 20);
  });

  test('identity, licenses and shading in known jars', async (t) => {
    const read = async (prefix: string): Promise<RawPackage[] | undefined> => {
      const name = readdirSync(JAVA_DIR).find((n) => n.startsWith(prefix) && n.endsWith('.jar'));
      return name === undefined ? undefined : (await catalog(`usr/share/java/${name}`, readFileSync(join(JAVA_DIR, name)))).packages;
    };
    const guava = await read('guava.jar');
    if (guava === undefined) return t.skip('guava is not installed');
    // A versionless Debian file name: the pom is still the jar's own; Bundle-License is a URL.
    assert.equal(guava.length, 1);
    assert.equal(guava[0]!.namespace, 'com.google.guava');
    assert.equal(guava[0]!.name, 'guava');
    assert.deepEqual(guava[0]!.licenses, ['Apache-2.0']);
    const guice = await read('guice.jar');
    if (guice !== undefined) {
      // Guice shades cglib and has no pom.properties of its own: the manifest names it.
      const main = guice.find((p) => p.name === 'guice')!;
      assert.equal(main.namespace, 'com.google.inject');
      assert.deepEqual(main.licenses, ['Apache-2.0']);
      assert.ok(main.dependsOn?.some((d) => d.startsWith('maven:cglib/cglib@')));
    }
    const shaded = await read('wagon-http-shaded');
    if (shaded !== undefined) {
      assert.ok(shaded.length >= 5, 'the shaded wagon jar holds several poms');
      const main = shaded.find((p) => p.name === 'wagon-http-shaded')!;
      assert.equal(main.dependsOn?.length, shaded.length - 1);
    }
  });
});

// ---- archives built with the jar tool ----

const LIBS = ['commons-lang3.jar', 'commons-io.jar', 'guava.jar', 'slf4j-api.jar', 'jansi.jar'];

function jarTool(args: string[], cwd: string): void {
  execFileSync('jar', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

describe('archives built with the jar tool', () => {
  test('a fat jar (stored BOOT-INF/lib), a war (deflated WEB-INF/lib) and an ear holding the war', async (t) => {
    if (!requireTools(t, 'jar', 'unzip')) return;
    const dir = tempDir(t);
    const libs = LIBS.map((l) => join(JAVA_DIR, l)).filter((p) => statSync(p, { throwIfNoEntry: false }) !== undefined);
    assert.ok(libs.length >= 3);
    const libTruth = new Map(libs.map((l) => [basename(realpathSync(l)), unzipPoms(l)]));

    // The application's own classes and pom.properties, then its libraries.
    const boot = join(dir, 'boot');
    mkdirSync(join(boot, 'META-INF/maven/com.example/demo-app'), { recursive: true });
    writeFileSync(join(boot, 'META-INF/maven/com.example/demo-app/pom.properties'), '#Generated by Maven\ngroupId=com.example\nartifactId=demo-app\nversion=1.4.2\n');
    mkdirSync(join(boot, 'BOOT-INF/lib'), { recursive: true });
    mkdirSync(join(boot, 'BOOT-INF/classes/com/example'), { recursive: true });
    writeFileSync(join(boot, 'BOOT-INF/classes/com/example/App.class'), 'not really a class');
    for (const l of libs) copyFileSync(l, join(boot, 'BOOT-INF/lib', basename(realpathSync(l))));
    writeFileSync(join(dir, 'boot.mf'), 'Main-Class: org.springframework.boot.loader.JarLauncher\nStart-Class: com.example.App\n');
    jarTool(['--create', '--file', 'app.jar', '--manifest', 'boot.mf', '--no-compress', '-C', 'boot', '.'], dir);

    const web = join(dir, 'web');
    mkdirSync(join(web, 'WEB-INF/lib'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<p>hi</p>');
    for (const l of libs) copyFileSync(l, join(web, 'WEB-INF/lib', basename(realpathSync(l))));
    jarTool(['--create', '--file', 'shop-2.0.1.war', '-C', 'web', '.'], dir);

    const ear = join(dir, 'ear');
    mkdirSync(ear);
    copyFileSync(join(dir, 'shop-2.0.1.war'), join(ear, 'shop-2.0.1.war'));
    jarTool(['--create', '--file', 'suite.ear', '-C', 'ear', '.'], dir);

    // The fat jar: the app depends on each library's own package; all are located inside it.
    const app = await catalog('opt/app/app.jar', readFileSync(join(dir, 'app.jar')));
    assert.deepEqual(app.warnings, []);
    const main = app.packages.find((p) => p.name === 'demo-app')!;
    assert.equal(id(main), 'com.example:demo-app:1.4.2');
    assert.equal(main.locations, undefined);
    const deps = new Set(main.dependsOn);
    for (const [file, poms] of libTruth) {
      const inside = app.packages.filter((p) => p.locations?.[0]?.path === `opt/app/app.jar!/BOOT-INF/lib/${file}`);
      assertMatchesPoms(inside, poms, file);
      assert.equal(inside.filter((p) => deps.has(packageKey(p))).length, 1, `${file}: the app depends on its package`);
    }
    assert.equal(deps.size, libTruth.size);
    // The entries really are stored, and the war's really deflated: both read paths are covered.
    assert.match(execFileSync('unzip', ['-v', join(dir, 'app.jar')], { encoding: 'utf8' }), /Stored.*BOOT-INF\/lib\/guava/);
    assert.match(execFileSync('unzip', ['-v', join(dir, 'shop-2.0.1.war')], { encoding: 'utf8' }), /Defl:N.*WEB-INF\/lib\/guava/);

    // The war: named by its file, depending on its libraries.
    const war = await catalog('srv/shop-2.0.1.war', readFileSync(join(dir, 'shop-2.0.1.war')));
    assert.deepEqual(war.warnings, []);
    const warMain = war.packages.find((p) => p.locations === undefined)!;
    assert.equal(id(warMain), ':shop:2.0.1');
    assert.equal(warMain.dependsOn?.length, libTruth.size);

    // The ear: two levels, the path saying both.
    const suite = await catalog('srv/suite.ear', readFileSync(join(dir, 'suite.ear')));
    assert.deepEqual(suite.warnings, []);
    const guavaFile = [...libTruth.keys()].find((f) => f.startsWith('guava'))!;
    assert.deepEqual(suite.packages.find((p) => p.name === 'guava')!.locations, [{ path: `srv/suite.ear!/shop-2.0.1.war!/WEB-INF/lib/${guavaFile}` }]);
    const shop = suite.packages.find((p) => p.name === 'shop')!;
    assert.deepEqual(shop.locations, [{ path: 'srv/suite.ear!/shop-2.0.1.war' }]);

    // A launcher script in front of the zip ("fully executable" jars) changes nothing.
    const script = Buffer.from('#!/bin/sh\nexec java -jar "$0" "$@"\nexit 1\n');
    const prefixed = await catalog('opt/app/app.jar', Buffer.concat([script, readFileSync(join(dir, 'app.jar'))]));
    assert.deepEqual(prefixed, app);
  });

  test('a jar known by its manifest and file name only', async (t) => {
    if (!requireTools(t, 'jar')) return;
    const dir = tempDir(t);
    mkdirSync(join(dir, 'classes/org/acme'), { recursive: true });
    writeFileSync(join(dir, 'classes/org/acme/Tool.class'), 'x');
    // A long value wrapped by the jar tool at 72 bytes; an OSGi license list with a quoted name.
    writeFileSync(
      join(dir, 'tool.mf'),
      [
        'Implementation-Title: Acme Tool',
        'Implementation-Version: 3.1.4',
        'Implementation-Vendor-Id: org.acme.tools',
        `Bundle-License: "Apache License, Version 2.0";link="http://www.apache.org/licenses/LICENSE-2.0.txt", https://opensource.org/licenses/MIT`,
        `Bundle-Description: ${'a long description '.repeat(8)}`,
        '',
      ].join('\n'),
    );
    jarTool(['--create', '--file', 'acme-tool.jar', '--manifest', 'tool.mf', '-C', 'classes', '.'], dir);
    const bytes = readFileSync(join(dir, 'acme-tool.jar'));
    assert.deepEqual(await catalog('lib/acme-tool.jar', bytes), { packages: [{ type: 'maven', namespace: 'org.acme.tools', name: 'acme-tool', version: '3.1.4', licenses: ['Apache-2.0', 'MIT'] }], warnings: [] });
    // The file name's version wins, as in Syft.
    assert.equal((await catalog('lib/acme-tool-3.2.0.jar', bytes)).packages[0]!.version, '3.2.0');
  });
});

// ---- archives written here ----

interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array;
  readonly deflate?: boolean;
  /** A size to declare instead of the real one. */
  readonly declaredSize?: number;
}

/** A zip archive; with `zip64`, every central record and the end record use the zip64 forms. */
function writeZip(entries: readonly ZipInput[], zip64 = false): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflate === true ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(e.deflate === true ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(Math.min(size, 0xffffffff), 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(zip64 ? 45 : 20, 4);
    cd.writeUInt16LE(zip64 ? 45 : 20, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(e.deflate === true ? 8 : 0, 10);
    cd.writeUInt32LE(crc, 16);
    let extra = Buffer.alloc(0);
    if (zip64) {
      cd.writeUInt32LE(0xffffffff, 20);
      cd.writeUInt32LE(0xffffffff, 24);
      cd.writeUInt32LE(0xffffffff, 42);
      extra = Buffer.alloc(28);
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    } else {
      cd.writeUInt32LE(body.length, 20);
      cd.writeUInt32LE(Math.min(size, 0xffffffff), 24);
      cd.writeUInt32LE(offset, 42);
    }
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(extra.length, 30);
    parts.push(local, name, body);
    central.push(cd, name, extra);
    offset += local.length + name.length + body.length;
  }
  const dir = Buffer.concat(central);
  const end: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(dir.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + dir.length), 8);
    locator.writeUInt32LE(1, 16);
    end.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : dir.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, dir, ...end, eocd]);
}

const pomEntry = (group: string, artifact: string, version: string): ZipInput => ({
  name: `META-INF/maven/${group}/${artifact}/pom.properties`,
  data: Buffer.from(`groupId=${group}\nartifactId=${artifact}\nversion=${version}\n`),
  deflate: true,
});

/** Lists a zip with Python's zipfile (which reads zip64) or unzip: the writer's output is a real zip. */
function listZip(t: Parameters<typeof tempDir>[0], bytes: Buffer): string[] | undefined {
  if (!requireTools(t, 'unzip')) return undefined;
  const path = join(tempDir(t), 'check.zip');
  writeFileSync(path, bytes);
  return execFileSync('unzip', ['-Z1', path], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('archives written here', () => {
  test('a jar nested 50 deep stops at the depth limit with a warning', async (t) => {
    let jar = writeZip([pomEntry('org.deep', 'level-50', '1.0.0')]);
    for (let level = 49; level >= 0; level--) {
      jar = writeZip([pomEntry('org.deep', `level-${level}`, '1.0.0'), { name: `lib/level-${level + 1}.jar`, data: jar, deflate: level % 2 === 0 }]);
    }
    assert.deepEqual(listZip(t, jar) ?? ['META-INF/maven/org.deep/level-0/pom.properties', 'lib/level-1.jar'], ['META-INF/maven/org.deep/level-0/pom.properties', 'lib/level-1.jar']);
    const { packages, warnings } = await catalog('deep.jar', jar);
    assert.deepEqual(
      packages.map((p) => p.name),
      Array.from({ length: 17 }, (_, i) => `level-${16 - i}`),
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /nested more than 16 deep/);
    assert.match(warnings[0]!, /^deep\.jar!\/lib\/level-1\.jar!\/.*level-17\.jar/);
    const level3 = packages.find((p) => p.name === 'level-3')!;
    assert.deepEqual(level3.locations, [{ path: 'deep.jar!/lib/level-1.jar!/lib/level-2.jar!/lib/level-3.jar' }]);
    assert.deepEqual(level3.dependsOn, ['maven:org.deep/level-4@1.0.0']);
  });

  test('zip64 end records and extra fields', async (t) => {
    const entries = [pomEntry('org.z', 'sixty-four', '6.4.0'), { name: 'lib/inner.jar', data: writeZip([pomEntry('org.z', 'inner', '0.1')], true) }];
    const jar = writeZip(entries, true);
    if (requireTools(t, 'python3')) {
      const path = join(tempDir(t), 'z64.jar');
      writeFileSync(path, jar);
      const names = execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(z.namelist()))', path], { encoding: 'utf8' });
      assert.deepEqual(names.trim().split('\n'), ['META-INF/maven/org.z/sixty-four/pom.properties', 'lib/inner.jar']);
    }
    const { packages, warnings } = await catalog('z64.jar', jar);
    assert.deepEqual(warnings, []);
    assert.deepEqual(packages.map(id).sort(), ['org.z:inner:0.1', 'org.z:sixty-four:6.4.0']);
  });

  test('a zip bomb is capped with a warning', async (t) => {
    // A manifest declaring 10 bytes that inflates to 8 MiB, and a nested jar declaring 4 GiB.
    const bomb = writeZip([
      pomEntry('org.bomb', 'host', '1.0'),
      { name: 'META-INF/MANIFEST.MF', data: Buffer.alloc(8 * 1024 * 1024, 0x41), deflate: true, declaredSize: 10 },
      { name: 'lib/huge.jar', data: Buffer.alloc(1000), deflate: true, declaredSize: 0xfffffff0 },
    ]);
    assert.ok(bomb.length < 64 * 1024);
    assert.deepEqual(listZip(t, bomb) ?? ['META-INF/maven/org.bomb/host/pom.properties', 'META-INF/MANIFEST.MF', 'lib/huge.jar'], ['META-INF/maven/org.bomb/host/pom.properties', 'META-INF/MANIFEST.MF', 'lib/huge.jar']);
    const { packages, warnings } = await catalog('bomb.jar', bomb);
    assert.deepEqual(packages.map(id), ['org.bomb:host:1.0']);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /MANIFEST\.MF: inflates past the limit/);
    assert.match(warnings[1]!, /lib\/huge\.jar: declares 4294967280 bytes, over the limit/);
  });

  test('an archive fanning out to thousands of nested archives stops at the archive budget', async () => {
    // Each level stores five copies of the level below: 5^6 archives at the bottom.
    const pom = (artifact: string): ZipInput => ({ ...pomEntry('org.fan', artifact, '1'), deflate: false });
    let jar = writeZip([pom('leaf')]);
    for (let level = 0; level < 6; level++) {
      jar = writeZip([pom(`l${level}`), ...Array.from({ length: 5 }, (_, i) => ({ name: `lib/copy-${i}.jar`, data: jar }))]);
    }
    const started = Date.now();
    const { packages, warnings } = await catalog('fan.jar', jar);
    assert.ok(Date.now() - started < 20_000);
    assert.match(warnings.join('\n'), /more than 10000 nested archives/);
    assert.ok(packages.length > 0);
  });

  test('damaged archives warn and never throw anything but an Error', async () => {
    const good = writeZip([pomEntry('org.ok', 'ok', '1.0'), { name: 'lib/inner.jar', data: writeZip([pomEntry('org.ok', 'inner', '2.0')]), deflate: true }]);
    assert.match((await catalog('x.jar', Buffer.from('not a zip at all'))).warnings[0] ?? '', /not a zip archive/);
    assert.deepEqual((await catalog('empty.jar', new Uint8Array(0))).packages, []);
    for (let cut = 0; cut < good.length; cut += 7) await catalog('cut.jar', good.subarray(0, cut));
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const bytes = Buffer.from(good);
      for (let k = 0; k < 4; k++) bytes[rand(bytes.length)] = rand(256);
      await catalog('fuzz.jar', bytes);
    }
  });

  test('wants', () => {
    for (const p of ['app.jar', 'x/y.WAR', 'a.ear', 'p.jpi', 'p.hpi', 'x.par', 'x.sar', 'x.nar', 'x.kar', 'x.lpkg']) assert.equal(javaArchiveCataloger.wants(p, 100, 0o644), true, p);
    for (const p of ['app.jar.sha1', 'jar', 'x.zip', 'x.class']) assert.equal(javaArchiveCataloger.wants(p, 100, 0o644), false, p);
  });
});
