/**
 * An image as every source yields it: manifest, config and layers that stream on demand. Sources
 * differ only in how they fetch a manifest and a blob (`ContentSource`); resolving an index to one
 * platform, checking digests and reading the config is shared here.
 */
import { Digester, MediaType, digestOf, isDigest, parseDigest, parseManifest, type Descriptor, type ImageManifest, type Platform } from '../oci/index.js';
import { ImageError } from './errors.js';

/** The image config (OCI image spec `config.json`), the fields Portcullis reads. */
export interface ImageConfig {
  readonly architecture?: string;
  readonly os?: string;
  readonly variant?: string;
  readonly created?: string;
  readonly config?: {
    readonly User?: string;
    readonly Env?: readonly string[];
    readonly Entrypoint?: readonly string[] | null;
    readonly Cmd?: readonly string[] | null;
    readonly WorkingDir?: string;
    readonly Labels?: Readonly<Record<string, string>> | null;
    readonly Healthcheck?: { readonly Test?: readonly string[] } | null;
    readonly ExposedPorts?: Readonly<Record<string, unknown>> | null;
  };
  readonly rootfs?: { readonly type?: string; readonly diff_ids?: readonly string[] };
  readonly history?: readonly { readonly created_by?: string; readonly empty_layer?: boolean; readonly comment?: string }[];
}

export interface ImageLayer {
  /** Digest of the blob as stored (compressed), the key of the per-layer cache. */
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** Digest of the uncompressed tar, from the config's rootfs.diff_ids. */
  readonly diffId?: string;
  /** Why the source cannot serve this layer (see `ContentSource.absent`); readers take it as empty. */
  readonly absent?: string;
  /** The blob's bytes, checked against `digest` as they stream (a mismatch rejects at the end). */
  open(): Promise<AsyncIterable<Uint8Array>>;
}

export interface Image {
  /** The source as the user wrote it. */
  readonly reference: string;
  /** Repository (registry/repo), when the source has one. */
  readonly name?: string;
  readonly tag?: string;
  /** Digest of the image manifest (for an index: of the platform's manifest). */
  readonly digest: string;
  /** Digest of the index the manifest was chosen from, when there was one. */
  readonly indexDigest?: string;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Uint8Array;
  readonly config: ImageConfig;
  readonly configBytes: Uint8Array;
  readonly platform: Platform;
  readonly layers: readonly ImageLayer[];
  close(): Promise<void>;
}

export interface FetchedManifest {
  readonly bytes: Uint8Array;
  /** Content-Type as served, when the source has one. */
  readonly mediaType?: string;
}

/** What a source is asked for a blob by: its descriptor as the manifest gives it. */
export interface BlobDescriptor {
  readonly digest: string;
  readonly size?: number;
  readonly mediaType?: string;
  /** Where a non-distributable ("foreign") layer may be fetched from; not followed by Portcullis. */
  readonly urls?: readonly string[];
}

/** How a source reaches content: the one port each source implements. */
export interface ContentSource {
  /** A manifest by tag or digest. */
  manifest(reference: string): Promise<FetchedManifest>;
  /** A blob's bytes as stored. */
  blob(descriptor: BlobDescriptor): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Optional: why this source will not serve a layer (say, a foreign layer the repository does
   * not hold), or undefined when it will. Such a layer is read as absent: empty, with a warning,
   * and never from a cache. Without this method every layer is served, or fails.
   */
  absent?(descriptor: BlobDescriptor): Promise<string | undefined>;
  close(): Promise<void>;
}

/** `linux/amd64`, `linux/arm64/v8`: the `--platform` syntax. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (os === undefined || os === '' || architecture === undefined || architecture === '' || rest.length > 0 || variant === '') {
    throw new ImageError('SOURCE_INVALID', `platform "${text}" is not OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8`);
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ''}`;
}

/** containerd's default variants: arm64 means v8, arm means v7 when the index leaves it out. */
function normalizedVariant(p: Platform): string | undefined {
  if (p.variant !== undefined) return p.variant;
  if (p.architecture === 'arm64') return 'v8';
  if (p.architecture === 'arm') return 'v7';
  return undefined;
}

/** Whether an image of platform `have` serves `want`; `want` without a variant takes any. */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (have === undefined) return false;
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  return want.variant === undefined || normalizedVariant(want) === normalizedVariant(have);
}

export interface OpenOptions {
  readonly platform?: Platform;
  /** Checks digests of manifests and blobs (always for registries; local layouts too by default). */
  readonly verify?: boolean;
}

/**
 * Resolves `reference` in `source` to one image: an index is narrowed to the platform (default
 * linux/amd64), the config is fetched and checked. The source is closed with the image.
 */
export async function openImage(
  source: ContentSource,
  reference: string,
  subject: { readonly reference: string; readonly name?: string; readonly tag?: string },
  options: OpenOptions = {},
): Promise<Image> {
  const verify = options.verify ?? true;
  const want = options.platform ?? { os: 'linux', architecture: 'amd64' };
  try {
    let fetched = await source.manifest(reference);
    let digest = digestOf(fetched.bytes, isDigest(reference) ? parseDigest(reference).algorithm : 'sha256');
    if (verify && isDigest(reference) && digest !== reference) {
      throw new ImageError('DIGEST_MISMATCH', `the manifest served for ${reference} hashes to ${digest}`);
    }
    let parsed = parseManifestOrThrow(fetched);
    let indexDigest: string | undefined;
    if (parsed.kind === 'index') {
      const choice = parsed.manifests.find((m) => isImageManifestType(m.mediaType) && platformMatches(want, m.platform));
      if (choice === undefined) {
        const offered = parsed.manifests.map((m) => (m.platform !== undefined ? formatPlatform(m.platform) : '?')).join(', ');
        throw new ImageError('PLATFORM_NOT_FOUND', `${subject.reference} has no image for ${formatPlatform(want)}; it offers: ${offered || 'nothing'} (choose one with --platform)`);
      }
      indexDigest = digest;
      fetched = await source.manifest(choice.digest);
      digest = digestOf(fetched.bytes, parseDigest(choice.digest).algorithm);
      if (verify && digest !== choice.digest) throw new ImageError('DIGEST_MISMATCH', `the manifest served for ${choice.digest} hashes to ${digest}`);
      parsed = parseManifestOrThrow(fetched);
      if (parsed.kind === 'index') throw new ImageError('MANIFEST_INVALID', `the index entry for ${formatPlatform(want)} is itself an index`);
    }
    const manifest = parsed;
    if (manifest.config.mediaType !== MediaType.OciConfig && manifest.config.mediaType !== MediaType.DockerConfig) {
      throw new ImageError('UNSUPPORTED', `${subject.reference} is not a container image: its config is ${manifest.config.mediaType}${manifest.artifactType !== undefined ? ` (artifact ${manifest.artifactType})` : ''}`);
    }
    const configBytes = await readAll(await source.blob(manifest.config), 8 * 1024 * 1024, 'config');
    if (verify) checkDigest(configBytes, manifest.config.digest, 'config');
    let config: ImageConfig;
    try {
      config = JSON.parse(Buffer.from(configBytes).toString('utf8')) as ImageConfig;
    } catch (err) {
      throw new ImageError('MANIFEST_INVALID', `the image config ${manifest.config.digest} is not JSON: ${(err as Error).message}`);
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    // Asked a few at a time: a manifest may list thousands of layers.
    const absent: (string | undefined)[] = [];
    if (source.absent !== undefined) {
      for (let i = 0; i < manifest.layers.length; i += 8) absent.push(...(await Promise.all(manifest.layers.slice(i, i + 8).map((d) => source.absent!(d)))));
    }
    const layers: ImageLayer[] = manifest.layers.map((d, i) => layerOf(source, d, diffIds[i], verify, absent[i]));
    const platform: Platform = { os: config.os ?? want.os, architecture: config.architecture ?? want.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) };
    return {
      ...subject,
      digest,
      ...(indexDigest !== undefined ? { indexDigest } : {}),
      manifest,
      manifestBytes: fetched.bytes,
      config,
      configBytes,
      platform,
      layers,
      close: () => source.close(),
    };
  } catch (err) {
    await source.close().catch(() => undefined);
    throw err;
  }
}

function layerOf(source: ContentSource, d: Descriptor, diffId: string | undefined, verify: boolean, absent: string | undefined): ImageLayer {
  return {
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    ...(diffId !== undefined ? { diffId } : {}),
    ...(absent !== undefined ? { absent } : {}),
    open: async () => {
      const body = await source.blob(d);
      return verify ? verified(body, d.digest) : body;
    },
  };
}

/**
 * What an image's content is known by, for caches of results about the whole image: its manifest
 * digest, and which layers the source would not serve. The same manifest read where a layer is
 * absent yields other results, and must never be answered from (or fill) the whole image's entry.
 */
export function imageContentKey(image: Pick<Image, 'digest' | 'layers'>): string {
  const absent = image.layers.flatMap((l, i) => (l.absent !== undefined ? [i] : []));
  return absent.length === 0 ? image.digest : `${image.digest}~absent:${absent.join(',')}`;
}

function isImageManifestType(mediaType: string): boolean {
  return mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest;
}

function parseManifestOrThrow(fetched: FetchedManifest): ReturnType<typeof parseManifest> {
  try {
    return parseManifest(fetched.bytes, fetched.mediaType);
  } catch (err) {
    throw new ImageError('MANIFEST_INVALID', (err as Error).message, { cause: err });
  }
}

function checkDigest(bytes: Uint8Array, expected: string, what: string): void {
  const got = digestOf(bytes, parseDigest(expected).algorithm);
  if (got !== expected) throw new ImageError('DIGEST_MISMATCH', `the ${what} blob hashes to ${got}, not ${expected}`);
}

/** Passes a blob through while hashing it; rejects at the end when it is not `expected`. */
export async function* verified(body: AsyncIterable<Uint8Array>, expected: string): AsyncGenerator<Uint8Array> {
  const d = new Digester(parseDigest(expected).algorithm);
  for await (const chunk of body) {
    d.update(chunk);
    yield chunk;
  }
  const got = d.digest();
  if (got !== expected) throw new ImageError('DIGEST_MISMATCH', `the blob ${expected} hashes to ${got}: it is corrupt or was tampered with`);
}

export async function readAll(body: AsyncIterable<Uint8Array>, limit: number, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > limit) throw new ImageError('MANIFEST_INVALID', `the ${what} is larger than ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
