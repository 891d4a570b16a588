import type { FastifyInstance } from 'fastify';
import { isIndexMediaType, type Digest } from '../../oci/index.js';
import { openFindings, type ImageFacts } from '../../policy/index.js';
import { platformImages } from '../platform-images.js';
import { isImageArtifact } from '../scan-summary.js';
import { demand, projectAccess, repositoryName, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

type ArtifactParams = { Params: { project: string; repo: string; reference: string } };

/**
 * What an admission controller asks of an image's digest, in one call (pull right): its open
 * findings (the latest scan's, approved waivers aside) by severity, whether Portcullis holds its
 * SBOM, and the projects it was promoted into (those the caller may see). A multi-platform index
 * (the digest a tag names) answers for all its platforms, as a node may pull any of them: findings
 * open on any, an SBOM only when every platform has one, unscanned while any platform is.
 */
export function registerFactRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta } = deps;
  app.get<ArtifactParams>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/facts', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const name = repositoryName(access.project.name, req.params.repo);
    const artifact = await meta.artifacts.getArtifact(name, req.params.reference);
    if (artifact === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
    const images = (await platformImages(meta, name, artifact)) ?? (isImageArtifact(artifact) ? [{ digest: artifact.digest as Digest }] : []);
    if (images.length === 0) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} is not a container image${isIndexMediaType(artifact.mediaType) ? ', nor an index of any' : ''}`);
    const digest = artifact.digest as Digest;
    const all: ImageFacts[] = [];
    for (const image of images) all.push(await deps.gates.factsOf(name, image.digest, []));
    const scans = all.flatMap((f) => (f.scan !== undefined ? [f.scan] : []));
    const open = scans.length < all.length ? undefined : openFindings(...all);
    const promotions = await meta.promotions.list({ digest, limit: 100 });
    const visible: string[] = [];
    for (const project of new Set(promotions.filter((p) => p.outcome === 'promoted').map((p) => p.targetProject))) {
      const seen = await projectAccess(deps, req, project).catch(() => undefined);
      if (seen !== undefined && seen.actions.has('pull')) visible.push(project);
    }
    // The least current platform speaks for the index.
    const oldest = scans.reduce<(typeof scans)[number] | undefined>((a, s) => (a === undefined || s.scannedAt < a.scannedAt ? s : a), undefined);
    return {
      digest,
      scan:
        open === undefined || oldest === undefined
          ? null
          : {
              scannedAt: new Date(oldest.scannedAt).toISOString(),
              dbBuiltAt: scans.some((s) => s.dbBuiltAt === null) ? null : scans.map((s) => s.dbBuiltAt!).sort()[0]!,
              findings: open.counts,
              ids: open.ids.slice(0, 50),
              waivers: [...new Set(all.flatMap((f) => f.waivers.map((w) => w.id)))],
            },
      sbom: all.every((f) => f.hasSbom),
      promotedTo: visible.sort(),
    };
  });
}
