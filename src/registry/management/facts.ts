import type { FastifyInstance } from 'fastify';
import type { Digest } from '../../oci/index.js';
import { openFindings } from '../../policy/index.js';
import { isImageArtifact } from '../scan-summary.js';
import { demand, projectAccess, repositoryName, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

type ArtifactParams = { Params: { project: string; repo: string; reference: string } };

/**
 * What an admission controller asks of an image's digest, in one call (pull right): its open
 * findings (the latest scan's, approved waivers aside) by severity, whether Portcullis holds its
 * SBOM, and the projects it was promoted into (those the caller may see).
 */
export function registerFactRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta } = deps;
  app.get<ArtifactParams>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/facts', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const name = repositoryName(access.project.name, req.params.repo);
    const artifact = await meta.artifacts.getArtifact(name, req.params.reference);
    if (artifact === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
    if (!isImageArtifact(artifact)) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} is not a container image`);
    const digest = artifact.digest as Digest;
    const facts = await deps.gates.factsOf(name, digest, []);
    const open = facts.scan === undefined ? undefined : openFindings(facts);
    const promotions = await meta.promotions.list({ digest, limit: 100 });
    const visible: string[] = [];
    for (const project of new Set(promotions.filter((p) => p.outcome === 'promoted').map((p) => p.targetProject))) {
      const seen = await projectAccess(deps, req, project).catch(() => undefined);
      if (seen !== undefined && seen.actions.has('pull')) visible.push(project);
    }
    return {
      digest,
      scan:
        facts.scan === undefined || open === undefined
          ? null
          : { scannedAt: new Date(facts.scan.scannedAt).toISOString(), dbBuiltAt: facts.scan.dbBuiltAt, findings: open.counts, ids: open.ids.slice(0, 50), waivers: facts.waivers.map((w) => w.id) },
      sbom: facts.hasSbom,
      promotedTo: visible.sort(),
    };
  });
}
