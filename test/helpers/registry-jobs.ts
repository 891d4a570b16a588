/**
 * Waiting for the registry's background jobs through its API, as a client would: the SBOM and
 * the scan of an image answer 202 while they are queued or running.
 */
import { gzipSync } from 'node:zlib';
import { makeTar, type LayerEntry } from './images.js';
import { digestOf, pushBlob, pushManifest, type Target } from './push.js';

/** `/api/v1/projects/P/repositories/R/artifacts/REF` of `P/R`. */
export const artifactPath = (repo: string, ref: string): string => `/api/v1/projects/${repo.split('/')[0]}/repositories/${repo.split('/').slice(1).join('/')}/artifacts/${ref}`;

/** GETs `path` until it answers anything but 202. */
export async function settled(url: string, path: string, auth: string, timeoutMs = 30_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}${path}`, { headers: { Authorization: auth } });
    if (res.status !== 202) return res;
    await res.arrayBuffer();
    if (Date.now() > deadline) throw new Error(`${path} still answered 202 after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ScanStatus {
  readonly status: 'done' | 'failed';
  readonly summary?: Record<string, number>;
  readonly warnings?: string[];
  readonly error?: string;
}

/** The scan status of an image once its scan has ended (done or failed). */
export async function scanStatus(url: string, repo: string, ref: string, auth: string, timeoutMs?: number): Promise<ScanStatus> {
  const res = await settled(url, `${artifactPath(repo, ref)}/scan`, auth, timeoutMs);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`scan status of ${repo}:${ref}: ${res.status} ${text}`);
  return JSON.parse(text) as ScanStatus;
}

/** Pushes an image of gzipped layers with the given entries and config (linux/amd64 unless told), under `tag` or (undefined) by digest; resolves to its digest. */
export async function pushLayeredImage(
  target: Target,
  repo: string,
  tag: string | undefined,
  layerEntries: readonly (readonly LayerEntry[])[],
  config: Record<string, unknown> = {},
  platform: { os: string; architecture: string; variant?: string } = { os: 'linux', architecture: 'amd64' },
): Promise<{ digest: string; size: number; layers: { digest: string; size: number }[] }> {
  const tars = await Promise.all(layerEntries.map((entries) => makeTar(entries)));
  const gz = tars.map((t) => gzipSync(t));
  const configBlob = Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: tars.map((t) => digestOf(t)) }, config }));
  for (const l of gz) await pushBlob(target, repo, l);
  await pushBlob(target, repo, configBlob);
  const layers = gz.map((l) => ({ digest: digestOf(l), size: l.length }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(configBlob), size: configBlob.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  });
  return { digest: await pushManifest(target, repo, tag ?? digestOf(manifest), manifest, 'application/vnd.oci.image.manifest.v1+json'), size: Buffer.byteLength(manifest), layers };
}
