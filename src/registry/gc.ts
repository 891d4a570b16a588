import type { Digest } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import { isBlobLister, isStagingSweeper, type BlobStore, type ManifestNode, type MetadataStore, type UploadStore } from '../storage/index.js';

export interface GcOptions {
  readonly dryRun: boolean;
  /** Also delete manifests that no tag, index or live subject reaches (and are older than the grace period). */
  readonly deleteUntagged: boolean;
  /** Blobs and manifests younger than this are never deleted: pushes in flight upload them first. */
  readonly graceMs: number;
  /** Upload sessions idle for longer than this are abandoned. */
  readonly uploadTtlMs: number;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly blobsDeleted: number;
  readonly bytesFreed: number;
  readonly manifestsDeleted: number;
  readonly uploadsDeleted: number;
  /** Staging files of writes whose process died (older than the upload TTL); counted, not listed. */
  readonly stagingFilesDeleted: number;
  /** What was (or, in a dry run, would be) deleted; lists are capped at 1000 entries each. */
  readonly blobs: readonly { digest: Digest; size: number }[];
  readonly manifests: readonly { repository: string; digest: Digest }[];
}

export interface GcDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  /** The upload area; `list` (when present) finds staged data whose session record is gone. */
  readonly uploads: UploadStore & { list?: () => AsyncIterable<{ id: string; modifiedAt: number }> };
  readonly now: () => number;
  readonly log: Logger;
}

const LIST_CAP = 1000;

/**
 * Manifests to delete: those not reachable from a root. Roots are tagged manifests and manifests
 * pushed within the grace period; reachability follows index children and referrers (a manifest
 * whose subject is reachable). Pure. The result is ordered so an index comes before its children.
 */
export function unreachableManifests(graph: readonly ManifestNode[], cutoff: number): ManifestNode[] {
  const key = (repository: string, digest: string) => `${repository}@${digest}`;
  const byKey = new Map(graph.map((n) => [key(n.repository, n.digest), n]));
  const referrersOf = new Map<string, ManifestNode[]>();
  for (const n of graph) {
    if (n.subject === null) continue;
    const k = key(n.repository, n.subject);
    referrersOf.set(k, [...(referrersOf.get(k) ?? []), n]);
  }
  const live = new Set<string>();
  const stack = graph.filter((n) => n.tagged || n.pushedAt >= cutoff).map((n) => key(n.repository, n.digest));
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (live.has(k)) continue;
    live.add(k);
    const node = byKey.get(k);
    if (node === undefined) continue;
    for (const c of node.children) stack.push(key(node.repository, c));
    for (const r of referrersOf.get(k) ?? []) stack.push(key(r.repository, r.digest));
  }
  const dead = graph.filter((n) => !live.has(key(n.repository, n.digest)));
  // Parents before children: a child is deleted only once every dead index holding it is gone.
  const deadKeys = new Set(dead.map((n) => key(n.repository, n.digest)));
  const parents = new Map<string, number>();
  for (const n of dead) for (const c of n.children) if (deadKeys.has(key(n.repository, c))) parents.set(key(n.repository, c), (parents.get(key(n.repository, c)) ?? 0) + 1);
  const ordered: ManifestNode[] = [];
  const ready = dead.filter((n) => (parents.get(key(n.repository, n.digest)) ?? 0) === 0);
  while (ready.length > 0) {
    const n = ready.shift()!;
    ordered.push(n);
    for (const c of n.children) {
      const ck = key(n.repository, c);
      if (!deadKeys.has(ck)) continue;
      const left = (parents.get(ck) ?? 0) - 1;
      parents.set(ck, left);
      if (left === 0) ready.push(byKey.get(ck)!);
    }
  }
  return ordered;
}

/**
 * Collects garbage while the registry keeps serving. Every deletion goes through a claim in the
 * metadata store (live → deleting) that a concurrent push cannot cross: a push reserves its blob
 * before placing it and waits while a claim is held; a manifest PUT locks the blobs it references.
 */
export async function collectGarbage(deps: GcDeps, options: GcOptions): Promise<GcReport> {
  const { meta, blobs, uploads, log } = deps;
  const startedAt = new Date(deps.now()).toISOString();
  const cutoff = deps.now() - options.graceMs;
  const report = { blobsDeleted: 0, bytesFreed: 0, manifestsDeleted: 0, uploadsDeleted: 0, stagingFilesDeleted: 0, blobs: [] as { digest: Digest; size: number }[], manifests: [] as { repository: string; digest: Digest }[] };

  if (!options.dryRun) {
    // Deletions an interrupted run claimed but did not finish.
    for (const digest of await meta.gc.claimed()) {
      await blobs.delete(digest);
      await meta.gc.forget(digest);
    }
  }

  if (options.deleteUntagged) {
    const dead = unreachableManifests(await meta.gc.manifestGraph(), cutoff);
    const items = dead.map((n) => ({ repository: n.repository, digest: n.digest }));
    report.manifestsDeleted = options.dryRun ? items.length : await meta.gc.deleteManifests(items);
    report.manifests.push(...items.slice(0, LIST_CAP));
  }

  for (const { digest, size } of await meta.gc.unreferencedBlobs(cutoff)) {
    if (options.dryRun) {
      record(report, digest, size);
      continue;
    }
    if (!(await meta.gc.claim(digest, cutoff))) continue;
    const stored = (await blobs.stat(digest)) ?? 0;
    await blobs.delete(digest);
    await meta.gc.forget(digest);
    record(report, digest, stored || size);
  }

  // Content in storage that the metadata store does not know (a crash between placing and recording).
  if (isBlobLister(blobs)) {
    const known = new Set<string>(await meta.gc.knownBlobs());
    for await (const file of blobs.list()) {
      if (known.has(file.digest) || file.modifiedAt >= cutoff) continue;
      if (options.dryRun) {
        record(report, file.digest, file.size);
        continue;
      }
      if (!(await meta.gc.claimOrphan(file.digest, file.size))) continue;
      await blobs.delete(file.digest);
      await meta.gc.forget(file.digest);
      record(report, file.digest, file.size);
    }
  }

  const uploadCutoff = deps.now() - options.uploadTtlMs;
  for (const id of await meta.uploads.stale(uploadCutoff)) {
    report.uploadsDeleted++;
    if (options.dryRun) continue;
    await uploads.abort(id);
    await meta.uploads.delete(id);
  }
  if (uploads.list !== undefined) {
    for await (const staged of uploads.list()) {
      if (staged.modifiedAt >= uploadCutoff || (await meta.uploads.get(staged.id)) !== undefined) continue;
      report.uploadsDeleted++;
      if (!options.dryRun) await uploads.abort(staged.id);
    }
  }

  if (!options.dryRun && isStagingSweeper(blobs)) report.stagingFilesDeleted = await blobs.sweepStaging(uploadCutoff);

  const finished: GcReport = { dryRun: options.dryRun, startedAt, finishedAt: new Date(deps.now()).toISOString(), ...report };
  log.info({ dryRun: options.dryRun, blobsDeleted: finished.blobsDeleted, bytesFreed: finished.bytesFreed, manifestsDeleted: finished.manifestsDeleted, uploadsDeleted: finished.uploadsDeleted, stagingFilesDeleted: finished.stagingFilesDeleted }, 'garbage collection finished');
  return finished;
}

function record(report: { blobsDeleted: number; bytesFreed: number; blobs: { digest: Digest; size: number }[] }, digest: Digest, size: number): void {
  report.blobsDeleted++;
  report.bytesFreed += size;
  if (report.blobs.length < LIST_CAP) report.blobs.push({ digest, size });
}
