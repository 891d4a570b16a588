/**
 * The I/O side of feed import: read a feed given as a directory, a file or an http(s) URL, find
 * out by content what it is, and yield the parsed records file by file. The parsing itself is in
 * `feeds/` (pure).
 *
 * Recognized, by content rather than by name:
 * - an OSV record (JSON or YAML), a JSON array of OSV records, a zip of OSV JSON records (as
 *   osv.dev publishes them, `<ecosystem>/all.zip`);
 * - an Alpine secdb file (`main.json` as served, or the YAML of its git repository);
 * - the Debian security tracker dump (`tracker/data/json`);
 * - the NVD's CVE API 2.0 feeds (`nvdcve-2.0-*.json`, streamed: a year runs to hundreds of MB)
 *   and CVE JSON 5 records (enrichment: scores, CWEs and text for CVEs a package feed names);
 * - CISA's Known Exploited Vulnerabilities catalogue (JSON) and FIRST's EPSS scores (CSV);
 * - Amazon Linux's `updateinfo.xml` and Oracle Linux's ELSA OVAL, streamed (feed-xml.ts);
 * - any of these gzip- or bzip2-compressed (`.json.gz` as the NVD publishes its feeds,
 *   `updateinfo.xml.gz`, `com.oracle.elsa-all.xml.bz2`).
 * A directory is walked recursively (dot-directories skipped) for `*.json`, `*.yaml`, `*.yml`,
 * `*.xml`, `*.zip` and `*.csv` files, and those compressed (`.gz`, `.bz2`). A single file of no known format is FEED_INVALID; inside a directory such a file
 * is reported in its entry's `errors` and the walk goes on (a stray file must not stop an import
 * of thousands). A malformed record inside a good file is an `errors` line; the rest is imported.
 * A URL is downloaded to a private temporary directory (size cap, timeout) that is removed when
 * the iteration ends, then read as a file.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import type * as YamlT from 'yaml';
import type { Document } from 'yaml';
import type * as YauzlT from 'yauzl';
import { describeNetworkFailure } from '../shared/index.js';
import { VulnError } from './errors.js';
import { compressionOf, describeStatus, openContent, restSkipped, type Compression } from './feed-streams.js';
import { readXmlFeed, type XmlFeedFormat } from './feed-xml.js';
import { isAlpineSecdb, parseAlpineSecdb } from './feeds/alpine.js';
import { isDebianTracker, parseDebianTracker } from './feeds/debian.js';
import { isCve5Record, isNvdFeed, parseCve5Record, parseNvdItem } from './feeds/nvd.js';
import { isEpssCsv, isKevCatalog, parseEpssCsv, parseKev } from './feeds/risk.js';
import { FeedCollector, isOsvRecord, parseOsvInto, type FeedResult } from './feeds/osv.js';

// yaml and yauzl are loaded on first use: a scan opens the DB, it never imports a feed.
const requireLazy = createRequire(import.meta.url);
let yamlLib: typeof YamlT | undefined;
const yaml = (): typeof YamlT => (yamlLib ??= requireLazy('yaml') as typeof YamlT);
let yauzlLib: typeof YauzlT | undefined;
const yauzl = (): typeof YauzlT => (yauzlLib ??= requireLazy('yauzl') as typeof YauzlT);
interface StreamJson {
  parser: () => Transform;
  pick: (o: { filter: string }) => Transform;
  streamArray: () => Transform;
}
let streamJsonLib: StreamJson | undefined;
const streamJson = (): StreamJson =>
  (streamJsonLib ??= {
    parser: (requireLazy('stream-json') as { parser: StreamJson['parser'] }).parser,
    pick: (requireLazy('stream-json/filters/Pick') as { pick: StreamJson['pick'] }).pick,
    streamArray: (requireLazy('stream-json/streamers/StreamArray') as { streamArray: StreamJson['streamArray'] }).streamArray,
  });

export type FeedFormat = 'osv' | 'osv-list' | 'osv-zip' | 'alpine-secdb' | 'debian-tracker' | 'nvd' | 'cve5' | 'kev' | 'epss' | XmlFeedFormat;

export interface FeedFile {
  /** The file the records come from; for a zip entry `archive.zip!entry.json`, for a URL the URL. */
  readonly file: string;
  readonly format: FeedFormat | 'unknown';
  readonly records: FeedResult;
}

export interface ReadFeedsOptions {
  /** Where downloads go (a private directory is made inside it); the OS temp dir by default. */
  readonly tmpDir?: string;
  /** The fetch to download with (tests pass their own); the global one by default. */
  readonly fetch?: typeof fetch;
  /** The most bytes a download, or one zip entry, may have. Default 1 GiB. */
  readonly maxBytes?: number;
  /** How long a download may take in all, in milliseconds. Default 10 minutes. */
  readonly timeoutMs?: number;
}

const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const FEED_FILE = /\.(json|ya?ml|zip|csv|xml)(\.gz|\.bz2)?$/i;
/** How much of an XML feed's start is read to tell which feed it is (OVAL names its vendor after a long header). */
const XML_HEAD = 16 * 1024;
/** NVD items per FeedFile yielded: the DB stages them as they come, memory stays flat. */
const NVD_BATCH = 2000;
/** The start of an NVD CVE API 2.0 feed document. */
const NVD_HEAD = /"format"\s*:\s*"NVD_CVE"/;

/** What the first bytes of a file say it is: compressed, a zip, JSON, XML, YAML, CSV, or nothing known. */
export function detectFeedFormat(head: Uint8Array, name: string): 'zip' | Compression | 'json' | 'xml' | 'yaml' | 'csv' | undefined {
  const compression = compressionOf(head);
  if (compression !== undefined) return compression;
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return 'zip';
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  const c = head[i];
  if (c === 0x7b || c === 0x5b) return 'json'; // { [
  if (c === 0x3c) return 'xml'; // <
  if (head.includes(0)) return undefined; // binary
  const start = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(i, i + 256));
  if (isEpssCsv(start)) return 'csv';
  if (/\.ya?ml$/i.test(name) || start.startsWith('---') || /^[A-Za-z_"'][\w"' .-]*:(\s|$)/.test(start)) return 'yaml';
  return undefined;
}

/** Which parser a parsed document is for. */
export function classifyFeedDocument(doc: unknown): Exclude<FeedFormat, 'osv-zip' | 'epss' | XmlFeedFormat> | undefined {
  if (Array.isArray(doc)) return doc.length > 0 && doc.some(isOsvRecord) ? 'osv-list' : undefined;
  if (isOsvRecord(doc)) return 'osv';
  if (isAlpineSecdb(doc)) return 'alpine-secdb';
  if (isDebianTracker(doc)) return 'debian-tracker';
  if (isNvdFeed(doc)) return 'nvd';
  if (isCve5Record(doc)) return 'cve5';
  if (isKevCatalog(doc)) return 'kev';
  return undefined;
}

/** Reads a feed (directory, file or URL) and yields its records file by file. */
export async function* readFeeds(input: string, options: ReadFeedsOptions = {}): AsyncGenerator<FeedFile> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (/^https?:\/\//i.test(input)) {
    const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'portcullis-feed-'));
    try {
      const path = join(dir, safeName(input));
      await download(input, path, options.fetch ?? fetch, maxBytes, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      yield* readOneFile(path, input, maxBytes, true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const info = await stat(input).catch((err: unknown) => {
    throw new VulnError('FEED_UNREADABLE', `${input}: cannot read: ${messageOf(err)}`, { cause: err });
  });
  if (!info.isDirectory()) {
    yield* readOneFile(input, input, maxBytes, true);
    return;
  }
  for await (const path of walk(input)) yield* readOneFile(path, path, maxBytes, false);
}

async function* walk(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new VulnError('FEED_UNREADABLE', `${dir}: cannot read the directory: ${messageOf(err)}`, { cause: err });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* walk(path);
    else if (e.isFile() && FEED_FILE.test(e.name)) yield path;
  }
}

/**
 * One file: `strict` (a file given by itself) throws FEED_INVALID when it is no feed; inside a
 * directory the problem becomes the entry's error line.
 */
async function* readOneFile(path: string, label: string, maxBytes: number, strict: boolean): AsyncGenerator<FeedFile> {
  const unknown = (err: unknown): FeedFile => {
    if (strict || !(err instanceof VulnError) || err.code !== 'FEED_INVALID') throw err;
    return { file: label, format: 'unknown', records: { vulnerabilities: [], affected: [], errors: [wholeFileSkipped(err.message)], skipped: {} } };
  };
  const kind = detectFeedFormat(await readHead(path, label), label);
  if (kind === 'zip') {
    // Zips are read entry by entry from the file, never whole: osv.dev's all.zip runs to gigabytes.
    try {
      yield* readZip(path, label, maxBytes);
    } catch (err) {
      yield unknown(err);
    }
    return;
  }
  const compression = kind === 'gzip' || kind === 'bzip2' ? kind : undefined;
  const inner = compression !== undefined ? detectFeedFormat(await readHead(path, label, compression), label.replace(/\.(gz|bz2)$/i, '')) : kind;
  if (inner === 'json' && NVD_HEAD.test((await readHead(path, label, compression)).toString('utf8'))) {
    try {
      yield* readNvd(path, label, compression, maxBytes);
    } catch (err) {
      yield unknown(err);
    }
    return;
  }
  if (inner === 'xml') {
    try {
      // Streamed, never held whole: the decompressed bound is only a guard against a decompression bomb.
      yield* readXmlFeed(path, label, (await readHead(path, label, compression, XML_HEAD)).toString('utf8'), compression, 4 * maxBytes);
    } catch (err) {
      yield unknown(err);
    }
    return;
  }
  let result: FeedFile;
  try {
    if (inner === undefined || inner === 'zip' || inner === 'gzip' || inner === 'bzip2') throw new VulnError('FEED_INVALID', `${label}: not an advisory feed (neither JSON, YAML, XML, CSV nor zip${compression !== undefined ? ` inside the ${compression} file` : ''})`);
    const text = compression !== undefined ? await readDecompressed(path, label, maxBytes, compression) : await readWhole(path, label);
    if (inner === 'csv') {
      const out = new FeedCollector();
      parseEpssCsv(text, label, out);
      yield { file: label, format: 'epss', records: out.result() };
      return;
    }
    const doc = parseText(text, inner, label);
    const format = classifyFeedDocument(doc);
    if (format === undefined) throw new VulnError('FEED_INVALID', `${label}: not an OSV record, a secdb file (Alpine, Wolfi, Chainguard), the Debian security tracker dump, an NVD feed, a CVE record or CISA's KEV catalogue`);
    result = { file: label, format, records: parseDocumentAs(format, doc, label) };
  } catch (err) {
    result = unknown(err);
  }
  yield result;
}

/** The first `size` bytes of a file (of its content when compressed). */
async function readHead(path: string, label: string, compression?: Compression, size = 512): Promise<Buffer> {
  if (compression !== undefined) {
    const chunks: Buffer[] = [];
    let n = 0;
    const stream = openContent(path, compression);
    try {
      for await (const c of stream as AsyncIterable<Buffer>) {
        chunks.push(c);
        n += c.length;
        if (n >= size) break;
      }
    } catch (err) {
      throw new VulnError('FEED_INVALID', `${label}: not a readable ${compression} file: ${messageOf(err)}`, { cause: err });
    } finally {
      stream.destroy();
    }
    return Buffer.concat(chunks).subarray(0, size);
  }
  try {
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(size), 0, size, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new VulnError('FEED_UNREADABLE', `${label}: cannot read: ${messageOf(err)}`, { cause: err });
  }
}

async function readWhole(path: string, label: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new VulnError('FEED_UNREADABLE', `${label}: cannot read: ${messageOf(err)}`, { cause: err });
  }
}

/** A compressed file's content as text, at most `maxBytes` of it. */
async function readDecompressed(path: string, label: string, maxBytes: number, compression: Compression): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of openContent(path, compression) as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > maxBytes) throw new VulnError('FEED_INVALID', `${label}: more than ${maxBytes} bytes once decompressed: skipped`);
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof VulnError) throw err;
    throw new VulnError('FEED_INVALID', `${label}: a truncated or corrupt ${compression} file: ${messageOf(err)}`, { cause: err });
  }
  return Buffer.concat(chunks, n).toString('utf8');
}

/**
 * An NVD feed, streamed item by item (a year of the NVD is hundreds of MB of JSON), yielded in
 * batches of NVD_BATCH items. A truncated file yields what came before the cut and an error line.
 */
async function* readNvd(path: string, label: string, compression: Compression | undefined, maxBytes: number): AsyncGenerator<FeedFile> {
  const { parser, pick, streamArray } = streamJson();
  let read = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      read += chunk.length;
      cb(read > maxBytes ? new VulnError('FEED_INVALID', `${label}: more than ${maxBytes} bytes once decompressed`) : null, chunk);
    },
  });
  const source = openContent(path, compression);
  const json = parser();
  const picked = pick({ filter: 'vulnerabilities' });
  const items = source.pipe(cap).pipe(json).pipe(picked).pipe(streamArray());
  // .pipe() does not pass errors on: any stage's failure ends the iteration with that error.
  for (const s of [source, cap, json, picked]) s.on('error', (err: Error) => items.destroy(err));
  let out = new FeedCollector();
  let first = 0;
  let n = 0;
  try {
    for await (const { key, value } of items as AsyncIterable<{ key: number; value: unknown }>) {
      parseNvdItem(value, `${label}[${key}]`, out);
      n += 1;
      if (n - first >= NVD_BATCH) {
        yield { file: `${label} (items ${first}-${n - 1})`, format: 'nvd', records: out.result() };
        out = new FeedCollector();
        first = n;
      }
    }
  } catch (err) {
    out.errors.push(`${err instanceof VulnError ? err.message : `${label}: cut short after ${n} items (a truncated or corrupt file): ${messageOf(err)}`}${restSkipped(n, 'items')}`);
  } finally {
    items.destroy();
  }
  yield { file: n - first === n ? label : `${label} (items ${first}-${n - 1})`, format: 'nvd', records: out.result() };
}

function parseDocumentAs(format: Exclude<FeedFormat, 'osv-zip' | 'epss' | XmlFeedFormat>, doc: unknown, label: string): FeedResult {
  switch (format) {
    case 'nvd': {
      const out = new FeedCollector();
      ((doc as { vulnerabilities: unknown[] }).vulnerabilities).forEach((item, i) => parseNvdItem(item, `${label}[${i}]`, out));
      return out.result();
    }
    case 'cve5': {
      const out = new FeedCollector();
      parseCve5Record(doc, label, out);
      return out.result();
    }
    case 'kev': {
      const out = new FeedCollector();
      parseKev(doc, label, out);
      return out.result();
    }
    case 'alpine-secdb':
      return parseAlpineSecdb(doc, label);
    case 'debian-tracker':
      return parseDebianTracker(doc, label);
    case 'osv':
    case 'osv-list': {
      const out = new FeedCollector();
      const records = Array.isArray(doc) ? doc : [doc];
      records.forEach((r, i) => parseOsvInto(r, Array.isArray(doc) ? `${label}[${i}]` : label, out));
      return out.result();
    }
  }
}

function parseText(text: string, kind: 'json' | 'yaml', label: string): unknown {
  if (kind === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new VulnError('FEED_INVALID', `${label}: not valid JSON: ${messageOf(err)}`, { cause: err });
    }
  }
  let doc = yaml().parseDocument(text);
  if (doc.errors.length > 0 && doc.errors.every((e) => e.code === 'DUPLICATE_KEY')) {
    doc = yaml().parseDocument(text, { uniqueKeys: false });
    if (doc.errors.length === 0) mergeDuplicateKeys(doc);
  }
  if (doc.errors.length > 0) throw new VulnError('FEED_INVALID', `${label}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/**
 * Hand-kept YAML feeds repeat keys (Alpine secdb lists a fixed version twice with different ids).
 * YAML forbids that and a plain parse keeps only the last; here two lists under one key are
 * joined, and for anything else the last value wins, as in a plain parse.
 */
function mergeDuplicateKeys(doc: Document): void {
  const { isScalar, isSeq } = yaml();
  yaml().visit(doc, {
    Map(_, map) {
      const first = new Map<unknown, (typeof map.items)[number]>();
      map.items = map.items.filter((pair) => {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        const earlier = first.get(key);
        if (earlier === undefined || !isScalar(pair.key)) {
          first.set(key, pair);
          return true;
        }
        if (isSeq(earlier.value) && isSeq(pair.value)) {
          earlier.value.items.push(...pair.value.items);
          return false;
        }
        earlier.value = pair.value;
        return false;
      });
    },
  });
}

/** The OSV JSON (or YAML) records of a zip, one entry at a time. */
async function* readZip(path: string, label: string, maxBytes: number): AsyncGenerator<FeedFile> {
  const zip = await new Promise<YauzlT.ZipFile>((resolve, reject) => {
    yauzl().open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false, decodeStrings: true }, (err, z) => (err ? reject(err) : resolve(z)));
  }).catch((err: unknown) => {
    throw new VulnError('FEED_INVALID', `${label}: not a readable zip: ${messageOf(err)}`, { cause: err });
  });
  let read = 0;
  try {
    for (;;) {
      let entry: YauzlT.Entry | undefined;
      try {
        entry = await nextEntry(zip, label);
      } catch (err) {
        // Entries before a corrupt one are in the DB already: say so, rather than "skipped".
        if (read === 0) throw err;
        yield { file: label, format: 'unknown', records: { vulnerabilities: [], affected: [], errors: [`${messageOf(err)}${restSkipped(read, 'entries')}`], skipped: {} } };
        return;
      }
      if (entry === undefined) return;
      if (entry.fileName.endsWith('/') || !/\.(json|ya?ml)$/i.test(entry.fileName)) continue;
      const file = `${label}!${entry.fileName}`;
      if (entry.uncompressedSize > maxBytes) {
        yield { file, format: 'unknown', records: { vulnerabilities: [], affected: [], errors: [`${file}: ${entry.uncompressedSize} bytes, more than the ${maxBytes} allowed: skipped`], skipped: {} } };
        continue;
      }
      let text: string;
      try {
        text = (await readEntry(zip, entry, file)).toString('utf8');
      } catch (err) {
        if (!(err instanceof VulnError)) throw err;
        yield { file, format: 'unknown', records: { vulnerabilities: [], affected: [], errors: [`${err.message}: skipped`], skipped: {} } };
        continue;
      }
      read += 1;
      const out = new FeedCollector();
      try {
        const doc = parseText(text, /\.json$/i.test(entry.fileName) ? 'json' : 'yaml', file);
        const records = Array.isArray(doc) ? doc : [doc];
        // osv.dev's zips hold OSV records; the CVE list's (cvelistV5) CVE JSON 5 records.
        if (records.every(isOsvRecord)) records.forEach((r, i) => parseOsvInto(r, Array.isArray(doc) ? `${file}[${i}]` : file, out));
        else if (!Array.isArray(doc) && isCve5Record(doc)) parseCve5Record(doc, file, out);
        else out.errors.push(`${file}: not an OSV record or a CVE record: skipped`);
      } catch (err) {
        if (!(err instanceof VulnError)) throw err;
        out.errors.push(`${err.message}: skipped`);
      }
      yield { file, format: 'osv-zip', records: out.result() };
    }
  } finally {
    zip.close();
  }
}

function nextEntry(zip: YauzlT.ZipFile, label: string): Promise<YauzlT.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: YauzlT.Entry): void => (done(), resolve(e));
    const onEnd = (): void => (done(), resolve(undefined));
    const onError = (err: Error): void => (done(), reject(new VulnError('FEED_INVALID', `${label}: corrupt zip: ${err.message}`, { cause: err })));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function readEntry(zip: YauzlT.ZipFile, entry: YauzlT.Entry, file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) {
        reject(new VulnError('FEED_INVALID', `${file}: cannot read the zip entry: ${err.message}`, { cause: err }));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e: Error) => reject(new VulnError('FEED_INVALID', `${file}: corrupt zip entry: ${e.message}`, { cause: e })));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/** Downloads `url` to `path`, failing with FEED_UNREADABLE on an HTTP error, a timeout or more than `maxBytes`. */
async function download(url: string, path: string, fetchFn: typeof fetch, maxBytes: number, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetchFn(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw failed(url, err, signal, timeoutMs);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new VulnError('FEED_UNREADABLE', `${url}: ${describeStatus(res.status)}`, { detail: { url, status: res.status } });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(url, maxBytes);
  }
  if (res.body === null) throw new VulnError('FEED_UNREADABLE', `${url}: empty response`);
  let total = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      cb(total > maxBytes ? tooLarge(url, maxBytes) : null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>, { signal }), cap, createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    if (err instanceof VulnError) throw err;
    throw failed(url, err, signal, timeoutMs);
  }
}

function failed(url: string, err: unknown, signal: AbortSignal, timeoutMs: number): VulnError {
  const why = signal.aborted ? `timed out after ${timeoutMs} ms` : `download failed: ${describeNetworkFailure(err)}`;
  return new VulnError('FEED_UNREADABLE', `${url}: ${why}`, { cause: err, detail: { url } });
}

function tooLarge(url: string, maxBytes: number): VulnError {
  return new VulnError('FEED_UNREADABLE', `${url}: larger than the ${maxBytes} bytes allowed`, { detail: { url, maxBytes } });
}

/** A file name for a download that keeps the URL's last path segment (a hint for YAML) and nothing unsafe. */
function safeName(url: string): string {
  const last = basename(new URL(url).pathname) || 'feed';
  return last.replace(/[^A-Za-z0-9._-]/g, '_').slice(-100) || 'feed';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What happened to a file that could not be read at all, in its error line: every line of a
 * build says what became of what it names (skipped, kept, dropped, ignored), never two of them.
 */
function wholeFileSkipped(message: string): string {
  return /: (?:the file is )?skipped$/.test(message) ? message : `${message}: the file is skipped`;
}
