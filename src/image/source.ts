/**
 * One source syntax for every command:
 *   REGISTRY/REPO[:TAG|@DIGEST]      (or registry:REF) any OCI / Docker v2 registry
 *   oci-dir:PATH[:TAG]               an OCI image layout directory
 *   oci-archive:FILE[:TAG]           an OCI image layout in a tar file
 *   docker-archive:FILE[:NAME:TAG]   a `docker save` archive, plain or gzip-compressed
 *   dir:PATH                         a directory taken as an image root filesystem
 */
import { statSync } from 'node:fs';
import type { Platform } from '../oci/index.js';
import { ImageError } from './errors.js';
import { openImage, type Image } from './image.js';
import { dockerArchiveSource, ociArchiveSource, ociDirSource } from './layout.js';
import { RegistrySource, formatRegistryReference, parseRegistryReference, type RegistryOptions } from './registry.js';

export type SourceSpec =
  | { readonly kind: 'registry'; readonly text: string; readonly reference: string }
  | { readonly kind: 'oci-dir'; readonly text: string; readonly path: string; readonly tag?: string }
  | { readonly kind: 'oci-archive'; readonly text: string; readonly path: string; readonly tag?: string }
  | { readonly kind: 'docker-archive'; readonly text: string; readonly path: string; readonly tag?: string }
  | { readonly kind: 'dir'; readonly text: string; readonly path: string };

export const SOURCE_KINDS = ['registry', 'oci-dir', 'oci-archive', 'docker-archive', 'dir'] as const;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Splits `PATH[:SUFFIX]`: the longest prefix that names an existing file (or directory) is the
 * path, so paths holding colons work; when none exists the first colon after the last slash splits.
 */
function splitPathSuffix(rest: string, exists: (p: string) => boolean): { path: string; suffix?: string } {
  if (exists(rest)) return { path: rest };
  for (let i = rest.length - 1; i > 0; i--) {
    if (rest[i] === ':' && exists(rest.slice(0, i))) return { path: rest.slice(0, i), suffix: rest.slice(i + 1) };
  }
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  return colon > 0 ? { path: rest.slice(0, colon), suffix: rest.slice(colon + 1) } : { path: rest };
}

export function parseSource(text: string): SourceSpec {
  const m = /^([a-z-]+):(.*)$/s.exec(text);
  const kind = m?.[1];
  const rest = m?.[2] ?? '';
  switch (kind) {
    case 'oci-dir':
    case 'oci': {
      const { path, suffix } = splitPathSuffix(rest, isDirectory);
      if (path === '') throw new ImageError('SOURCE_INVALID', `${text}: give a directory, as oci-dir:PATH[:TAG]`);
      return { kind: 'oci-dir', text, path, ...(suffix !== undefined && suffix !== '' ? { tag: suffix } : {}) };
    }
    case 'oci-archive': {
      const { path, suffix } = splitPathSuffix(rest, isFile);
      if (path === '') throw new ImageError('SOURCE_INVALID', `${text}: give a file, as oci-archive:FILE[:TAG]`);
      return { kind: 'oci-archive', text, path, ...(suffix !== undefined && suffix !== '' ? { tag: suffix } : {}) };
    }
    case 'docker-archive': {
      const { path, suffix } = splitPathSuffix(rest, isFile);
      if (path === '') throw new ImageError('SOURCE_INVALID', `${text}: give a file, as docker-archive:FILE[:NAME:TAG]`);
      return { kind: 'docker-archive', text, path, ...(suffix !== undefined && suffix !== '' ? { tag: suffix } : {}) };
    }
    case 'dir':
      if (rest === '') throw new ImageError('SOURCE_INVALID', `${text}: give a directory, as dir:PATH`);
      return { kind: 'dir', text, path: rest };
    case 'docker':
      // Only `docker://REF` is the transport; `docker:27-dind` is Docker Hub's docker image.
      if (!rest.startsWith('//')) return { kind: 'registry', text, reference: text };
      return { kind: 'registry', text, reference: rest.slice(2) };
    case 'registry':
      return { kind: 'registry', text, reference: rest.replace(/^\/\//, '') };
    default:
      // A bare reference: `localhost:5000/repo` and `ubuntu:22.04` look like KIND:REST but are
      // images; `KIND:/path` or `KIND:./path` with an unknown KIND is a typo of a source kind.
      if (kind !== undefined && /^[./~]/.test(rest)) {
        throw new ImageError('SOURCE_INVALID', `unknown source kind "${kind}:"; use one of oci-dir:, oci-archive:, docker-archive:, dir:, registry: or a registry reference`);
      }
      return { kind: 'registry', text, reference: text };
  }
}

export interface OpenSourceOptions extends RegistryOptions {
  readonly platform?: Platform;
}

/** Opens an image source (every kind but `dir:`, which is a directory and not an image). */
export async function openImageSource(spec: Exclude<SourceSpec, { kind: 'dir' }>, options: OpenSourceOptions = {}): Promise<Image> {
  const open = options.platform !== undefined ? { platform: options.platform } : {};
  switch (spec.kind) {
    case 'registry': {
      const ref = parseRegistryReference(spec.reference);
      const source = new RegistrySource(ref, options);
      const name = `${ref.registry}/${ref.repository}`;
      return openImage(source, ref.digest ?? ref.tag ?? 'latest', { reference: formatRegistryReference(ref), name, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) }, open);
    }
    case 'oci-dir': {
      const { source, reference } = await ociDirSource(spec.path, spec.tag);
      return openImage(source, reference, { reference: spec.text, ...(spec.tag !== undefined ? { tag: spec.tag } : {}) }, open);
    }
    case 'oci-archive': {
      const { source, reference } = await ociArchiveSource(spec.path, spec.tag);
      return openImage(source, reference, { reference: spec.text, ...(spec.tag !== undefined ? { tag: spec.tag } : {}) }, open);
    }
    case 'docker-archive': {
      const { source, reference, tag } = await dockerArchiveSource(spec.path, spec.tag);
      const name = tag?.replace(/:[^:/]*$/, '');
      return openImage(source, reference, { reference: spec.text, ...(name !== undefined ? { name } : {}), ...(tag !== undefined ? { tag: tag.slice((name?.length ?? 0) + 1) } : {}) }, open);
    }
  }
}
