/**
 * Reading feeds from directories, single files, zips and URLs. The zip is built here (a minimal
 * writer: deflate from node:zlib, the container by hand) and checked against `unzip` where it
 * is installed; URLs are served by a node:http server on port 0.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { classifyFeedDocument, detectFeedFormat, readFeeds, type FeedFile } from '../../src/vuln/feed-files.js';
import { which } from '../helpers/env.js';
import { crc32 } from '../helpers/zip.js';

const FIXTURES = new URL('../../../test/fixtures/vuln/feeds/', import.meta.url).pathname;
const fixture = (p: string): Buffer => readFileSync(join(FIXTURES, p));

async function collect(input: string, options: Parameters<typeof readFeeds>[1] = {}): Promise<FeedFile[]> {
  const out: FeedFile[] = [];
  for await (const f of readFeeds(input, options)) out.push(f);
  return out;
}

/** A zip of the given entries, deflated (method 8), with local headers and a central directory. */
function zip(entries: ReadonlyArray<readonly [string, Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const fileName = Buffer.from(name, 'utf8');
    const isDir = name.endsWith('/');
    const body = isDir ? Buffer.alloc(0) : deflateRawSync(data);
    const crc = isDir ? 0 : crc32(data);
    const method = isDir ? 0 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(isDir ? 0 : data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(isDir ? 0 : data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, body);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'portcullis-feeds-test-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

test('detectFeedFormat reads the first bytes', () => {
  assert.equal(detectFeedFormat(Buffer.from('PK\x03\x04rest'), 'all.zip'), 'zip');
  assert.equal(detectFeedFormat(Buffer.from('PK\x05\x06'), 'empty'), 'zip');
  assert.equal(detectFeedFormat(Buffer.from('\ufeff  {"id": 1}'), 'x'), 'json');
  assert.equal(detectFeedFormat(Buffer.from('\n[{"id": 1}]'), 'x'), 'json');
  assert.equal(detectFeedFormat(Buffer.from('---\ndistroversion: v3.8\n'), 'main'), 'yaml');
  assert.equal(detectFeedFormat(Buffer.from('id: PYSEC-2020-1\n'), 'x'), 'yaml');
  assert.equal(detectFeedFormat(Buffer.from('anything'), 'x.yml'), 'yaml');
  assert.equal(detectFeedFormat(Buffer.from('hello, world'), 'notes.txt'), undefined);
  assert.equal(detectFeedFormat(Buffer.from([0x1f, 0x8b, 8, 0, 0]), 'x.gz'), 'gzip'); // read through gunzip (the NVD's .json.gz feeds)
  assert.equal(detectFeedFormat(Buffer.from('BZh91AY&SY'), 'x.xml.bz2'), 'bzip2'); // Oracle's OVAL
  assert.equal(detectFeedFormat(Buffer.from('<?xml version="1.0" ?>\n<updates>'), 'updateinfo.xml'), 'xml');
  assert.equal(classifyFeedDocument([]), undefined);
  assert.equal(classifyFeedDocument({ name: 'portcullis', version: '1.0.0' }), undefined);
});

test('a directory: every format recognized by content, file by file, in a stable order', async () => {
  const files = await collect(FIXTURES);
  const rel = (f: string): string => f.slice(FIXTURES.length);
  assert.deepEqual(
    files.map((f) => [rel(f.file), f.format, f.records.vulnerabilities.length, f.records.affected.length, f.records.errors.length]),
    [
      ['almalinux/ALSA-2022_6224.json', 'osv', 1, 4, 0],
      ['almalinux/ALSA-2025_10073.json', 'osv', 1, 1, 0],
      ['alpine/v3.10/main.yaml', 'alpine-secdb', 6, 6, 0],
      ['alpine/v3.19-main.json', 'alpine-secdb', 8, 8, 0],
      ['alpine/v3.8/main.yaml', 'alpine-secdb', 8, 8, 1],
      ['amazon/updateinfo.xml', 'alas-updateinfo', 3, 5, 0],
      ['chainguard/security.json', 'alpine-secdb', 1, 1, 0],
      ['debian/tracker.json', 'debian-tracker', 6, 12, 0],
      ['oracle/com.oracle.elsa-2024.xml', 'oracle-oval', 2, 3, 0],
      ['osv/debian/DSA-5532-1.json', 'osv', 1, 1, 0],
      ['osv/ghsa/GHSA-35jh-r3h4-6jhm.json', 'osv', 1, 2, 0],
      ['osv/ghsa/GHSA-jfh8-c2jp-5v3q.json', 'osv', 1, 1, 0],
      ['osv/go/GO-2022-0229.json', 'osv', 1, 2, 0],
      ['osv/go/GO-2024-2730.json', 'osv', 0, 0, 0],
      ['osv/pypa/PYSEC-2020-341.yaml', 'osv', 1, 1, 0],
      ['osv/pypa/PYSEC-2022-42969.yaml', 'osv', 1, 1, 0],
      ['osv/pypa/PYSEC-2023-221.yaml', 'osv', 1, 1, 0],
      ['osv/pypa/PYSEC-2023-73.yaml', 'osv', 0, 0, 0],
      ['photon/PHSA-2024-5.0-0200.json', 'osv', 1, 1, 0],
      ['redhat/RHSA-2023_7877.json', 'osv', 1, 3, 0],
      ['redhat/RHSA-2024_4546.json', 'osv', 1, 0, 0],
      ['rocky/RLSA-2023_7877.json', 'osv', 1, 2, 0],
      ['suse/SUSE-SU-2024_0001-1.json', 'osv', 1, 5, 0],
      ['wolfi/security.json', 'alpine-secdb', 3, 3, 0],
    ],
  );
});

test('inside a directory a stray file is an error line, dot-directories are skipped; a lone stray file is FEED_INVALID', async () => {
  const dir = join(work, 'mixed');
  mkdirSync(join(dir, '.github/workflows'), { recursive: true });
  writeFileSync(join(dir, '.github/workflows/ci.yml'), 'on: push\njobs: {}\n');
  writeFileSync(join(dir, 'package.json'), '{"name": "x", "version": "1.0.0"}');
  writeFileSync(join(dir, 'broken.json'), '{"id": "GHSA-');
  writeFileSync(join(dir, 'notes.txt'), 'ignored by name');
  writeFileSync(join(dir, 'corrupt.zip'), Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64)]));
  cpSync(join(FIXTURES, 'osv/go/GO-2022-0229.json'), join(dir, 'GO-2022-0229.json'));
  const files = await collect(dir);
  assert.deepEqual(
    files.map((f) => [f.file.slice(dir.length + 1), f.format, f.records.affected.length, f.records.errors.map((e) => e.slice(dir.length + 1).replace(/: .*/, ''))]),
    [
      ['GO-2022-0229.json', 'osv', 2, []],
      ['broken.json', 'unknown', 0, ['broken.json']],
      ['corrupt.zip', 'unknown', 0, ['corrupt.zip']],
      ['package.json', 'unknown', 0, ['package.json']],
    ],
  );
  await assert.rejects(collect(join(dir, 'package.json')), (e: Error & { code?: string }) => e.name === 'VulnError' && e.code === 'FEED_INVALID' && e.message.includes('package.json'));
  await assert.rejects(collect(join(dir, 'broken.json')), { code: 'FEED_INVALID' });
  await assert.rejects(collect(join(dir, 'notes.txt')), { code: 'FEED_INVALID' });
  await assert.rejects(collect(join(dir, 'missing.json')), (e: Error & { code?: string }) => e.code === 'FEED_UNREADABLE' && e.message.includes('missing.json'));
});

test('a JSON array of OSV records: a malformed record is reported with file and index, the others imported', async () => {
  const path = join(work, 'bundle.json');
  const ghsa = JSON.parse(fixture('osv/ghsa/GHSA-35jh-r3h4-6jhm.json').toString('utf8')) as unknown;
  const go = JSON.parse(fixture('osv/go/GO-2022-0229.json').toString('utf8')) as unknown;
  writeFileSync(path, JSON.stringify([ghsa, { summary: 'no id' }, go]));
  const [f, ...rest] = await collect(path);
  assert.equal(rest.length, 0);
  assert.equal(f!.format, 'osv-list');
  assert.deepEqual(f!.records.vulnerabilities.map((v) => v.id), ['GHSA-35jh-r3h4-6jhm', 'GO-2022-0229']);
  assert.deepEqual(f!.records.errors, [`${path}[1]: record without an id skipped`]);
});

test('YAML with a repeated key: the lists under it are joined', async () => {
  const path = join(work, 'dup.yaml');
  writeFileSync(path, ['distroversion: v3.9', 'packages:', '  - pkg:', '      name: busybox', '      secfixes:', '        1.30.1-r2:', '          - CVE-2019-5747', '        1.30.1-r2:', '          - CVE-2018-20679', ''].join('\n'));
  const [f] = await collect(path);
  assert.deepEqual(f!.records.affected.map((a) => [a.vulnId, a.ecosystem, a.fixedVersion]), [
    ['CVE-2019-5747', 'alpine:3.9', '1.30.1-r2'],
    ['CVE-2018-20679', 'alpine:3.9', '1.30.1-r2'],
  ]);
});

function osvZip(): Buffer {
  return zip([
    ['GHSA-35jh-r3h4-6jhm.json', fixture('osv/ghsa/GHSA-35jh-r3h4-6jhm.json')],
    ['nested/', Buffer.alloc(0)],
    ['nested/GO-2022-0229.json', fixture('osv/go/GO-2022-0229.json')],
    ['nested/GO-2024-2730.json', fixture('osv/go/GO-2024-2730.json')],
    ['bad.json', Buffer.from('{"id": ')],
    ['README.txt', Buffer.from('not a record')],
    ['PYSEC-2023-221.yaml', fixture('osv/pypa/PYSEC-2023-221.yaml')],
  ]);
}

test('an OSV zip: one entry at a time, bad entries reported, others imported', async (t) => {
  const path = join(work, 'all.zip');
  writeFileSync(path, osvZip());
  if (which('unzip') !== undefined) {
    // The hand-made container is a real zip: unzip tests every entry's CRC.
    assert.match(execFileSync('unzip', ['-t', path], { encoding: 'utf8' }), /No errors detected/);
  } else t.diagnostic('unzip not installed: the zip is checked by yauzl alone');
  const files = await collect(path);
  assert.deepEqual(
    files.map((f) => [f.file.slice(path.length), f.format, f.records.vulnerabilities.map((v) => v.id), f.records.affected.length, f.records.errors.length, f.records.skipped]),
    [
      ['!GHSA-35jh-r3h4-6jhm.json', 'osv-zip', ['GHSA-35jh-r3h4-6jhm'], 2, 0, {}],
      ['!nested/GO-2022-0229.json', 'osv-zip', ['GO-2022-0229'], 2, 0, {}],
      ['!nested/GO-2024-2730.json', 'osv-zip', [], 0, 0, { withdrawn: 1 }],
      ['!bad.json', 'osv-zip', [], 0, 1, {}],
      ['!PYSEC-2023-221.yaml', 'osv-zip', ['PYSEC-2023-221'], 1, 0, {}],
    ],
  );
  assert.match(files[3]!.records.errors[0]!, /all\.zip!bad\.json: not valid JSON/);

  // An entry larger than maxBytes is skipped with an error line, not read.
  const capped = await collect(path, { maxBytes: 1000 });
  assert.ok(capped.some((f) => f.records.errors.some((e) => /GO-2022-0229\.json: \d+ bytes, more than the 1000 allowed/.test(e))));

  const corrupt = join(work, 'corrupt.zip');
  writeFileSync(corrupt, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64)]));
  await assert.rejects(collect(corrupt), { code: 'FEED_INVALID' });
});

test('a URL: downloaded to a private temp dir removed afterwards; HTTP errors and oversize are FEED_UNREADABLE', async (t) => {
  const body = osvZip();
  const tracker = fixture('debian/tracker.json');
  const server: Server = createServer((req, res) => {
    if (req.url === '/npm/all.zip') {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/tracker/data/json') {
      // No content-length: the cap must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(tracker.subarray(0, 100));
      res.end(tracker.subarray(100));
    } else if (req.url === '/slow-headers') {
      // Never answers.
    } else if (req.url === '/slow-body') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"openssl": ');
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tmp = join(work, 'downloads');
  mkdirSync(tmp);

  const zipped = await collect(`${base}/npm/all.zip`, { tmpDir: tmp });
  assert.deepEqual(zipped.map((f) => f.file), [`${base}/npm/all.zip!GHSA-35jh-r3h4-6jhm.json`, `${base}/npm/all.zip!nested/GO-2022-0229.json`, `${base}/npm/all.zip!nested/GO-2024-2730.json`, `${base}/npm/all.zip!bad.json`, `${base}/npm/all.zip!PYSEC-2023-221.yaml`]);
  const deb = await collect(`${base}/tracker/data/json`, { tmpDir: tmp });
  assert.deepEqual(deb.map((f) => [f.file, f.format, f.records.affected.length]), [[`${base}/tracker/data/json`, 'debian-tracker', 12]]);
  assert.deepEqual(readdirSync(tmp), [], 'the download directory is removed');

  await assert.rejects(collect(`${base}/nope.json`, { tmpDir: tmp }), (e: Error & { code?: string }) => e.code === 'FEED_UNREADABLE' && e.message.includes(`${base}/nope.json`) && e.message.includes('404'));
  await assert.rejects(collect(`${base}/npm/all.zip`, { tmpDir: tmp, maxBytes: 100 }), (e: Error & { code?: string }) => e.code === 'FEED_UNREADABLE' && /larger than the 100 bytes/.test(e.message));
  await assert.rejects(collect(`${base}/tracker/data/json`, { tmpDir: tmp, maxBytes: 500 }), (e: Error & { code?: string }) => e.code === 'FEED_UNREADABLE' && /larger than the 500 bytes/.test(e.message));
  await assert.rejects(collect('http://127.0.0.1:1/x.json', { tmpDir: tmp }), { code: 'FEED_UNREADABLE' });
  for (const slow of ['/slow-headers', '/slow-body']) {
    await assert.rejects(collect(`${base}${slow}`, { tmpDir: tmp, timeoutMs: 300 }), (e: Error & { code?: string }) => e.code === 'FEED_UNREADABLE' && e.message.includes(slow) && e.message.includes('timed out after 300 ms'), slow);
  }
  assert.deepEqual(readdirSync(tmp), [], 'failed downloads leave nothing behind');

  // An injected fetch (a mirror, a proxy) is used instead of the global one.
  const seen: string[] = [];
  const viaFetch = await collect('https://example.invalid/tracker/data/json', {
    tmpDir: tmp,
    fetch: (async (url: string | URL | Request) => {
      seen.push(String(url));
      return new Response(tracker);
    }) as typeof fetch,
  });
  assert.deepEqual([seen, viaFetch.length], [['https://example.invalid/tracker/data/json'], 1]);
});

test('reading compressed feeds releases every file it opened (a registry updates its DB for months)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-fds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Larger than a read's buffer once compressed: a reader that stops at the head leaves the rest unread.
  const noise = randomBytes(300_000).toString('hex');
  const nvd = { format: 'NVD_CVE', version: '2.0', vulnerabilities: [{ cve: { id: 'CVE-2024-0001', descriptions: [{ lang: 'en', value: noise }] } }] };
  writeFileSync(join(dir, 'nvdcve-2.0-2024.json.gz'), gzipSync(JSON.stringify(nvd)));
  writeFileSync(join(dir, 'tracker.json.gz'), gzipSync(JSON.stringify({ openssl: { 'CVE-2024-0001': { releases: { bookworm: { status: 'open', repositories: { bookworm: '3.0.11-1' }, urgency: 'low' } }, description: noise } } })));
  const open = (): number => readdirSync('/proc/self/fd').length;
  await collect(dir);
  await new Promise((r) => setTimeout(r, 50));
  const before = open();
  for (let i = 0; i < 10; i++) assert.equal((await collect(dir)).length, 2);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(open() <= before + 1, `${open() - before} more files open after 10 reads of 2 gzip feeds`);
});
