/**
 * Local image sources: an OCI image layout in a directory (`oci-dir:PATH[:TAG]`) or in a tar
 * archive (`oci-archive:FILE[:TAG]`), and `docker save` archives (`docker-archive:FILE[:NAME:TAG]`).
 * Archives are indexed once (names → offsets) and their members streamed straight from the file:
 * nothing is unpacked to disk.
 *
 * An archive may also be gzip-compressed as a whole (`docker save img | gzip`, what Trivy's
 * `--input image.tar.gz` reads), known by its magic bytes. A gzip stream cannot be entered at an
 * offset, so the indexing pass keeps the small members (manifest.json, index.json, the config, a
 * small layer: at most `GZIP_KEPT_MEMBER` each, `GZIP_KEPT_TOTAL` in all), and a larger member is
 * read by inflating the archive again from its start and passing over what precedes it, as
 * go-containerregistry's tarball reader does. Memory stays bounded; the cost is inflating up to
 * a layer's end once per layer.
 */
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { MediaType, digestOf, isDigest, parseDigest, type Descriptor } from '../oci/index.js';
import { ImageError } from './errors.js';
import { readAll, type ContentSource, type FetchedManifest } from './image.js';
import { normalizePath } from './layer.js';
import { readTar } from './tar.js';

/** Read access to the files of a layout, wherever they live. */
interface Files {
  /** Undefined when absent. */
  size(name: string): Promise<number | undefined>;
  stream(name: string): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

const READ_CHUNK = 1 << 20;

function directoryFiles(root: string): Files {
  return {
    async size(name) {
      try {
        const st = await fsp.stat(join(root, name));
        return st.isFile() ? st.size : undefined;
      } catch {
        return undefined;
      }
    },
    stream: (name) => createReadStream(join(root, name), { highWaterMark: READ_CHUNK }),
    close: () => Promise.resolve(),
  };
}

/** Members of a gzip-compressed archive kept from the indexing pass: the JSON documents (and layers as small). */
const GZIP_KEPT_MEMBER = 4 * 1024 * 1024;
const GZIP_KEPT_TOTAL = 32 * 1024 * 1024;

/** Whether the file starts with gzip's magic bytes (1f 8b). */
async function isGzipFile(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** The inflated content of a gzip file, streamed; an error of the file or of the data ends the iteration with it. */
function gunzipped(file: string): AsyncIterable<Uint8Array> {
  return pipeline(createReadStream(file, { highWaterMark: READ_CHUNK }), createGunzip({ chunkSize: READ_CHUNK }), () => {});
}

/** Bytes [offset, offset + size) of a stream, read from its start; the stream is dropped once they are out. */
async function* sliceOf(source: AsyncIterable<Uint8Array>, offset: number, size: number, what: string): AsyncGenerator<Uint8Array> {
  let position = 0;
  const end = offset + size;
  for await (const chunk of source) {
    const next = position + chunk.length;
    if (next > offset) yield chunk.subarray(Math.max(0, offset - position), Math.min(chunk.length, end - position));
    position = next;
    if (position >= end) return;
  }
  throw new ImageError('LAYER_TRUNCATED', `${what} ends before its member ends`);
}

/** Indexes a tar archive's members by normalized name; a later member of the same name wins. */
async function archiveFiles(file: string): Promise<Files> {
  const members = new Map<string, { offset: number; size: number }>();
  let gzip: boolean;
  try {
    gzip = await isGzipFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('NOT_FOUND', `${file}: no such file`);
    throw err;
  }
  const kept = new Map<string, Uint8Array>();
  let keptBytes = 0;
  try {
    await readTar(gzip ? gunzipped(file) : createReadStream(file, { highWaterMark: READ_CHUNK }), (h) => {
      const name = normalizePath(h.name);
      if (name === undefined || h.type !== 'file' || h.sparse) return undefined;
      members.set(name, { offset: h.offset, size: h.size });
      kept.delete(name);
      if (!gzip || h.size > GZIP_KEPT_MEMBER || keptBytes + h.size > GZIP_KEPT_TOTAL) return undefined;
      const parts: Uint8Array[] = [];
      return {
        write: (chunk) => void parts.push(Buffer.from(chunk)),
        end: () => {
          const bytes = Buffer.concat(parts);
          kept.set(name, bytes);
          keptBytes += bytes.length;
        },
      };
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('NOT_FOUND', `${file}: no such file`);
    if (err instanceof ImageError) throw new ImageError('SOURCE_INVALID', `${file} is not a readable tar archive: ${err.message}`, { cause: err });
    if (gzip && (err as NodeJS.ErrnoException).code?.startsWith('Z_') === true) throw new ImageError('SOURCE_INVALID', `${file} is not a readable gzip archive: ${(err as Error).message}`, { cause: err });
    throw err;
  }
  return {
    size: (name) => Promise.resolve(members.get(name)?.size),
    stream(name) {
      const m = members.get(name);
      if (m === undefined) throw new ImageError('NOT_FOUND', `${file} has no member ${name}`);
      const bytes = kept.get(name);
      if (bytes !== undefined) return (async function* () { yield bytes; })();
      if (m.size === 0) return (async function* () {})();
      if (gzip) return sliceOf(gunzipped(file), m.offset, m.size, `${file} (${name})`);
      return createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: READ_CHUNK });
    },
    close: () => Promise.resolve(),
  };
}

async function readJson(files: Files, name: string, what: string): Promise<unknown> {
  if ((await files.size(name)) === undefined) throw new ImageError('SOURCE_INVALID', `no ${name}: this is not ${what}`);
  const bytes = await readAll(files.stream(name), 64 * 1024 * 1024, name);
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ImageError('MANIFEST_INVALID', `${name} is not JSON: ${(err as Error).message}`);
  }
}

function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/** An OCI image layout (directory or archive) as a content source; `tag` picks from index.json. */
async function layoutSource(files: Files, where: string, tag: string | undefined): Promise<{ source: ContentSource; reference: string }> {
  const layout = (await readJson(files, 'oci-layout', 'an OCI image layout')) as { imageLayoutVersion?: unknown };
  if (typeof layout?.imageLayoutVersion !== 'string') throw new ImageError('SOURCE_INVALID', `${where}: oci-layout has no imageLayoutVersion`);
  const index = (await readJson(files, 'index.json', 'an OCI image layout')) as { manifests?: Descriptor[] };
  const manifests = Array.isArray(index?.manifests) ? index.manifests : [];
  let chosen: Descriptor | undefined;
  if (tag !== undefined) {
    chosen = manifests.find((m) => m.annotations?.[REF_NAME] === tag) ?? (isDigest(tag) ? manifests.find((m) => m.digest === tag) : undefined);
    if (chosen === undefined) {
      const tags = manifests.map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => t !== undefined);
      throw new ImageError('NOT_FOUND', `${where} has no image tagged "${tag}"; it has: ${tags.join(', ') || 'no tags'}`);
    }
  } else if (manifests.length === 1) {
    chosen = manifests[0];
  } else {
    const tags = manifests.map((m) => m.annotations?.[REF_NAME] ?? m.digest);
    throw new ImageError('SOURCE_INVALID', `${where} holds ${manifests.length} images: name one with :TAG (${tags.join(', ') || 'none'})`);
  }
  const top = chosen!;
  const source: ContentSource = {
    async manifest(reference) {
      const digest = reference;
      if (!isDigest(digest)) throw new ImageError('NOT_FOUND', `${where}: no manifest ${reference}`);
      const path = blobPath(digest);
      if ((await files.size(path)) === undefined) throw new ImageError('NOT_FOUND', `${where} lacks the manifest blob ${digest}`);
      const bytes = await readAll(files.stream(path), 4 * 1024 * 1024, `manifest ${digest}`);
      return digest === top.digest ? { bytes, mediaType: top.mediaType } : { bytes };
    },
    async blob(d) {
      const path = blobPath(d.digest);
      if ((await files.size(path)) === undefined) throw new ImageError('NOT_FOUND', `${where} lacks the blob ${d.digest}`);
      return files.stream(path);
    },
    close: () => files.close(),
  };
  return { source, reference: top.digest };
}

export async function ociDirSource(path: string, tag: string | undefined): Promise<{ source: ContentSource; reference: string }> {
  const st = await fsp.stat(path).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) throw new ImageError('NOT_FOUND', `oci-dir:${path}: no such directory`);
  return layoutSource(directoryFiles(path), `oci-dir:${path}`, tag);
}

export async function ociArchiveSource(file: string, tag: string | undefined): Promise<{ source: ContentSource; reference: string }> {
  return layoutSource(await archiveFiles(file), `oci-archive:${file}`, tag);
}

interface DockerSaveEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/**
 * A `docker save` archive. It holds no registry manifest, so one is made from manifest.json: the
 * config by its hash, each layer by its diff_id (the layers are uncompressed tars, so the diff_id
 * is the hash of the member; it is checked as it streams).
 */
export async function dockerArchiveSource(file: string, repoTag: string | undefined): Promise<{ source: ContentSource; reference: string; tag?: string }> {
  const files = await archiveFiles(file);
  const entries = (await readJson(files, 'manifest.json', 'a docker save archive')) as DockerSaveEntry[];
  if (!Array.isArray(entries) || entries.length === 0) throw new ImageError('SOURCE_INVALID', `docker-archive:${file}: manifest.json lists no image`);
  let entry: DockerSaveEntry | undefined;
  if (repoTag !== undefined) {
    entry = entries.find((e) => (e.RepoTags ?? []).some((t) => t === repoTag || t === `docker.io/${repoTag}` || t === `docker.io/library/${repoTag}`));
    if (entry === undefined) throw new ImageError('NOT_FOUND', `docker-archive:${file} has no image ${repoTag}; it has: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'untagged images only'}`);
  } else if (entries.length === 1) {
    entry = entries[0];
  } else {
    throw new ImageError('SOURCE_INVALID', `docker-archive:${file} holds ${entries.length} images: name one with :NAME:TAG`);
  }
  const chosen = entry!;
  if (typeof chosen.Config !== 'string' || !Array.isArray(chosen.Layers)) throw new ImageError('MANIFEST_INVALID', `docker-archive:${file}: manifest.json entry lacks Config or Layers`);
  const configName = normalizePath(chosen.Config) ?? '';
  const configBytes = await readAll(files.stream(configName), 8 * 1024 * 1024, 'config');
  const config = JSON.parse(Buffer.from(configBytes).toString('utf8')) as { rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== chosen.Layers.length) throw new ImageError('MANIFEST_INVALID', `docker-archive:${file}: ${chosen.Layers.length} layers but ${diffIds.length} diff_ids in the config`);
  const byDigest = new Map<string, string>();
  const configDigest = digestOf(configBytes);
  byDigest.set(configDigest, configName);
  const layers: Descriptor[] = [];
  for (const [i, layer] of chosen.Layers.entries()) {
    const name = normalizePath(layer) ?? '';
    const size = await files.size(name);
    if (size === undefined) throw new ImageError('NOT_FOUND', `docker-archive:${file} lacks the layer ${layer}`);
    // Docker's containerd store saves compressed layers as blobs/<alg>/<hex> of the compressed
    // bytes: name those by their path; legacy `<id>/layer.tar` members are the diff_id's tar.
    const stored = /^blobs\/(sha256|sha512)\/([0-9a-f]{64}|[0-9a-f]{128})$/.exec(name);
    const digest = stored !== null ? `${stored[1]}:${stored[2]}` : diffIds[i]!;
    if (!isDigest(digest)) throw new ImageError('MANIFEST_INVALID', `docker-archive:${file}: diff_id ${digest} is not a digest`);
    byDigest.set(digest, name);
    layers.push({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest, size });
  }
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: { mediaType: MediaType.DockerConfig, digest: configDigest, size: configBytes.length }, layers }),
  );
  const manifestDigest = digestOf(manifest);
  const source: ContentSource = {
    manifest: (reference): Promise<FetchedManifest> => {
      if (reference !== manifestDigest) return Promise.reject(new ImageError('NOT_FOUND', `docker-archive:${file}: no manifest ${reference}`));
      return Promise.resolve({ bytes: manifest, mediaType: MediaType.DockerManifest });
    },
    blob(d) {
      const name = byDigest.get(d.digest);
      if (name === undefined) return Promise.reject(new ImageError('NOT_FOUND', `docker-archive:${file} has no blob ${d.digest}`));
      return Promise.resolve(files.stream(name));
    },
    close: () => files.close(),
  };
  const tag = repoTag ?? chosen.RepoTags?.[0];
  return { source, reference: manifestDigest, ...(tag !== undefined ? { tag } : {}) };
}
