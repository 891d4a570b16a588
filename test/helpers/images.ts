/**
 * OCI image layouts built in code, without a daemon: real gzip tar layers (tar-stream + zlib), a
 * config whose rootfs.diff_ids are the digests of the uncompressed layers, and an `index.json`
 * whose entries carry `org.opencontainers.image.ref.name`, so `skopeo copy oci:DIR:TAG` reads them.
 * Content is derived from a seed only (file data, tar headers and gzip output are deterministic),
 * so the same seed gives the same digests on every run.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
  readonly platform?: Platform;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface BuiltImage extends Descriptor {
  /** The manifest's exact bytes. */
  readonly bytes: Buffer;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  /** Digests of the uncompressed layers, as in the config's rootfs.diff_ids. */
  readonly diffIds: readonly string[];
  readonly platform: Platform;
}

export interface BuiltIndex extends Descriptor {
  readonly bytes: Buffer;
  readonly manifests: readonly BuiltImage[];
}

export interface OciLayout {
  readonly dir: string;
  /** The multi-layer image, under `imageTag`. */
  readonly image: BuiltImage & { readonly tag: string };
  /** The linux/amd64 + linux/arm64 index, under `indexTag`. */
  readonly index: BuiltIndex & { readonly tag: string };
  /** Every blob written (manifests and index included): digest → size. */
  readonly blobs: ReadonlyMap<string, number>;
}

export interface OciLayoutOptions {
  /** Everything derives from this; the default gives the project's standard fixture. */
  readonly seed?: string;
  readonly imageTag?: string;
  readonly indexTag?: string;
  /** Multiplies the random (incompressible) file sizes; 1 makes about 3 MB of blobs in all. */
  readonly scale?: number;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Deterministic pseudo-random bytes: AES-128-CTR over zeros, keyed by the seed. Fast (GB/s),
 * incompressible, and the same for the same seed everywhere.
 */
export function seededBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(`key:${seed}`).digest().subarray(0, 16);
  const iv = createHash('sha256').update(`iv:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');

/** Deterministic, compressible text of roughly `length` bytes. */
export function seededText(seed: string, length: number): string {
  const r = seededBytes(`text:${seed}`, Math.ceil(length / 4) + 16);
  const out: string[] = [];
  let n = 0;
  for (let i = 0; n < length; i++) {
    const w = WORDS[r[i % r.length]! % WORDS.length]!;
    const sep = r[(i + 7) % r.length]! % 11 === 0 ? '\n' : ' ';
    out.push(w + sep);
    n += w.length + 1;
  }
  return out.join('').slice(0, length);
}

/** A file system entry of a layer. */
export type LayerEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'file'; readonly path: string; readonly data: Buffer | string; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

/** Fixed mtime for every entry: reproducible layers. */
const MTIME = new Date('2024-01-02T03:04:05Z');
const CREATED = '2024-01-02T03:04:05Z';

/** An uncompressed tar of `entries`, with standard end-of-archive blocks. */
export async function makeTar(entries: readonly LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const base: Partial<Header> & { name: string } = { name: e.path, mtime: MTIME, uid: 0, gid: 0, uname: 'root', gname: 'root' };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      switch (e.type) {
        case 'dir':
          p.entry({ ...base, type: 'directory', mode: e.mode ?? 0o755 }, cb);
          break;
        case 'symlink':
          p.entry({ ...base, type: 'symlink', linkname: e.target, mode: 0o777 }, cb);
          break;
        case 'file': {
          const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
          p.entry({ ...base, type: 'file', mode: e.mode ?? 0o644, size: data.byteLength }, data, cb);
          break;
        }
      }
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

interface BuiltLayer {
  readonly descriptor: Descriptor;
  readonly diffId: string;
  readonly gz: Buffer;
  readonly createdBy: string;
}

async function buildLayer(entries: readonly LayerEntry[], createdBy: string): Promise<BuiltLayer> {
  const tar = await makeTar(entries);
  const gz = gzipSync(tar, { level: 6 });
  return { descriptor: { mediaType: OCI_LAYER_GZIP, digest: sha256(gz), size: gz.byteLength }, diffId: sha256(tar), gz, createdBy };
}

/** Collects blobs as they are made; writes them under `<dir>/blobs/sha256/`. */
class BlobSink {
  readonly sizes = new Map<string, number>();
  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  }
  put(bytes: Buffer): string {
    const digest = sha256(bytes);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    this.sizes.set(digest, bytes.byteLength);
    return digest;
  }
}

function buildImage(sink: BlobSink, layers: readonly BuiltLayer[], platform: Platform, extra: { env: string[]; cmd: string[]; label: string }): BuiltImage {
  for (const l of layers) sink.put(l.gz);
  const history: Record<string, unknown>[] = [];
  layers.forEach((l, i) => {
    history.push({ created: CREATED, created_by: l.createdBy, comment: 'built by test/helpers/images.ts' });
    // One metadata-only step, as real builds have: it must not count against diff_ids.
    if (i === 0) history.push({ created: CREATED, created_by: `/bin/sh -c #(nop) ENV ${extra.env[0] ?? 'A=B'}`, empty_layer: true });
  });
  const config = {
    created: CREATED,
    author: 'portcullis integration tests',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
    config: { Env: extra.env, Cmd: extra.cmd, WorkingDir: '/app', Labels: { 'org.opencontainers.image.title': extra.label } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDesc: Descriptor = { mediaType: OCI_CONFIG, digest: sink.put(configBytes), size: configBytes.byteLength };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers: layers.map((l) => l.descriptor),
    annotations: { 'org.opencontainers.image.created': CREATED, 'org.opencontainers.image.title': extra.label },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sink.put(bytes);
  return { mediaType: OCI_MANIFEST, digest, size: bytes.byteLength, bytes, config: configDesc, layers: layers.map((l) => l.descriptor), diffIds: layers.map((l) => l.diffId), platform };
}

function baseEntries(seed: string, scale: number): LayerEntry[] {
  return [
    { type: 'dir', path: 'bin' },
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'usr' },
    { type: 'dir', path: 'usr/share' },
    { type: 'dir', path: 'usr/share/doc' },
    { type: 'file', path: 'etc/os-release', data: `NAME="Portcullis Test Linux"\nID=pctest\nVERSION_ID="${seed}"\n` },
    { type: 'file', path: 'etc/motd', data: 'welcome\n' },
    { type: 'file', path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' },
    { type: 'file', path: 'bin/busybox', data: seededBytes(`${seed}/busybox`, Math.round(900_000 * scale)), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'usr/share/doc/README', data: seededText(`${seed}/readme`, 200_000) },
  ];
}

/**
 * Writes an OCI image layout to `dir` (created if needed) holding a 3-layer image and a
 * two-platform index whose images share their base layer.
 */
export async function writeOciLayout(dir: string, options: OciLayoutOptions = {}): Promise<OciLayout> {
  const seed = options.seed ?? 'portcullis-fixture-1';
  const scale = options.scale ?? 1;
  const imageTag = options.imageTag ?? 'multilayer';
  const indexTag = options.indexTag ?? 'multiarch';
  mkdirSync(dir, { recursive: true });
  const sink = new BlobSink(dir);

  // The multi-layer image: base, an application layer, and a small top layer with a whiteout.
  const base = await buildLayer(baseEntries(seed, scale), '/bin/sh -c #(nop) ADD rootfs.tar /');
  const app = await buildLayer(
    [
      { type: 'dir', path: 'app' },
      { type: 'dir', path: 'app/lib' },
      { type: 'file', path: 'app/lib/data.bin', data: seededBytes(`${seed}/app-data`, Math.round(600_000 * scale)) },
      { type: 'file', path: 'app/config.json', data: JSON.stringify({ seed, listen: ':8080', workers: 4 }, null, 2) },
      { type: 'file', path: 'app/server', data: seededBytes(`${seed}/app-server`, Math.round(300_000 * scale)), mode: 0o755 },
    ],
    '/bin/sh -c #(nop) COPY app/ /app/',
  );
  const top = await buildLayer(
    [
      { type: 'dir', path: 'etc' },
      { type: 'file', path: 'etc/.wh.motd', data: '' },
      { type: 'file', path: 'app/VERSION', data: `1.0.0+${seed}\n` },
      { type: 'file', path: 'app/NOTICE', data: seededText(`${seed}/notice`, 50_000) },
    ],
    '/bin/sh -c rm /etc/motd && echo 1.0.0 > /app/VERSION',
  );
  const image = buildImage(sink, [base, app, top], { os: 'linux', architecture: 'amd64' }, { env: ['PATH=/bin:/usr/bin', 'APP_MODE=test'], cmd: ['/app/server'], label: `multilayer ${seed}` });

  // The index: amd64 and arm64 images on the same base layer, each with its own top layer.
  const platforms: Platform[] = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
  ];
  const children: BuiltImage[] = [];
  for (const platform of platforms) {
    const own = await buildLayer(
      [
        { type: 'dir', path: 'opt' },
        { type: 'file', path: `opt/tool-${platform.architecture}`, data: seededBytes(`${seed}/tool-${platform.architecture}`, Math.round(250_000 * scale)), mode: 0o755 },
        { type: 'file', path: 'opt/ARCH', data: `${platform.architecture}\n` },
      ],
      `/bin/sh -c #(nop) COPY tool-${platform.architecture} /opt/`,
    );
    children.push(buildImage(sink, [base, own], platform, { env: ['PATH=/bin:/usr/bin:/opt'], cmd: [`/opt/tool-${platform.architecture}`], label: `multiarch ${platform.architecture} ${seed}` }));
  }
  const indexDoc = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: c.platform })),
    annotations: { 'org.opencontainers.image.created': CREATED },
  };
  const indexBytes = Buffer.from(JSON.stringify(indexDoc));
  const indexDigest = sink.put(indexBytes);

  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const entries: Descriptor[] = [
    { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size, annotations: { [REF_NAME]: imageTag } },
    { mediaType: OCI_INDEX, digest: indexDigest, size: indexBytes.byteLength, annotations: { [REF_NAME]: indexTag } },
  ];
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));

  return {
    dir,
    image: { ...image, tag: imageTag },
    index: { mediaType: OCI_INDEX, digest: indexDigest, size: indexBytes.byteLength, bytes: indexBytes, manifests: children, tag: indexTag },
    blobs: sink.sizes,
  };
}

/** The entries of a layout's `index.json`. */
export function layoutEntries(dir: string): Descriptor[] {
  const doc = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  return doc.manifests ?? [];
}

/** The descriptor a layout's `index.json` names `ref`; throws when there is none. */
export function layoutEntry(dir: string, ref: string): Descriptor {
  const found = layoutEntries(dir).filter((d) => d.annotations?.[REF_NAME] === ref);
  if (found.length !== 1) throw new Error(`${dir}/index.json has ${found.length} entries named ${ref}`);
  return found[0]!;
}

/** A blob's bytes from a layout. */
export function layoutBlob(dir: string, digest: string): Buffer {
  const [algorithm, hex] = digest.split(':');
  return readFileSync(join(dir, 'blobs', algorithm!, hex!));
}

/**
 * Every blob of a layout, digest → sha256 of its content (they differ only when a blob is
 * corrupt).
 */
export function layoutBlobs(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = join(dir, 'blobs');
  if (!existsSync(root)) return out;
  for (const algorithm of readdirSync(root)) {
    for (const hex of readdirSync(join(root, algorithm))) out.set(`${algorithm}:${hex}`, sha256(readFileSync(join(root, algorithm, hex))));
  }
  return out;
}

/** Digests of everything `manifest` (an image manifest or an index, by bytes) reaches in `dir`, itself included. */
export function reachableBlobs(dir: string, digest: string): Set<string> {
  const out = new Set<string>([digest]);
  const doc = JSON.parse(layoutBlob(dir, digest).toString('utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  for (const m of doc.manifests ?? []) for (const d of reachableBlobs(dir, m.digest)) out.add(d);
  if (doc.config !== undefined) out.add(doc.config.digest);
  for (const l of doc.layers ?? []) out.add(l.digest);
  return out;
}

/**
 * An OCI layout in `dir` holding one image of these layers, under each of `tags` (added to what
 * the layout holds already), with the config's Entrypoint/Cmd/User as given. For pushing real
 * scenarios with skopeo or podman.
 */
export async function writeImageLayout(dir: string, tag: string, layers: readonly (readonly LayerEntry[])[], config: { entrypoint?: string[]; cmd?: string[]; user?: string; label?: string } = {}): Promise<BuiltImage> {
  mkdirSync(dir, { recursive: true });
  const sink = new BlobSink(dir);
  const built = await Promise.all(layers.map((entries, i) => buildLayer(entries, `/bin/sh -c #(nop) layer ${i + 1}`)));
  const image = buildImage(sink, built, { os: 'linux', architecture: 'amd64' }, { env: ['PATH=/usr/bin:/bin'], cmd: config.cmd ?? [], label: config.label ?? tag });
  // The entrypoint and user go in a config of their own: rebuild the config and manifest with them.
  const cfg = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', image.config.digest.slice('sha256:'.length)), 'utf8')) as { config: Record<string, unknown> };
  if (config.entrypoint !== undefined) cfg.config['Entrypoint'] = config.entrypoint;
  if (config.user !== undefined) cfg.config['User'] = config.user;
  if (config.cmd === undefined) delete cfg.config['Cmd'];
  const configBytes = Buffer.from(JSON.stringify(cfg));
  const configDesc: Descriptor = { mediaType: OCI_CONFIG, digest: sink.put(configBytes), size: configBytes.byteLength };
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: image.layers };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sink.put(bytes);
  const indexPath = join(dir, 'index.json');
  const existing = existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests: Descriptor[] }).manifests.filter((m) => m.annotations?.[REF_NAME] !== tag) : [];
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(indexPath, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...existing, { mediaType: OCI_MANIFEST, digest, size: bytes.byteLength, annotations: { [REF_NAME]: tag } }] }));
  return { ...image, digest, size: bytes.byteLength, bytes, config: configDesc };
}
