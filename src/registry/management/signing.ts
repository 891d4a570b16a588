import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MediaType, parseManifest, type Digest } from '../../oci/index.js';
import { evaluatePromotion } from '../../policy/index.js';
import { isContainerImage } from '../sbom.js';
import { refused } from './promotions.js';
import { demand, emitEvent, hostOf as registryHostOf, parse, projectAccess, repositoryName, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

type ProjectParams = { Params: { project: string } };

const actorOf = (req: FastifyRequest): string => (req.principal.kind === 'anonymous' ? 'anonymous' : req.principal.name);
type ArtifactParams = { Params: { project: string; repo: string; reference: string } };

const signBody = z
  .object({
    /** Claims signed with the image (`optional` in the payload), as `cosign sign -a key=value`. */
    annotations: z.record(z.string().min(1).max(256), z.string().max(4096)).refine((a) => Object.keys(a).length <= 64, 'at most 64 annotations').optional(),
  })
  .strict();

/**
 * A project's server-side signing key (project administrators create and delete it; members read
 * its public key), signing an image with it (push right on the repository: what CI robots hold),
 * and the signatures and attestations stored for an image (pull right).
 */
export function registerSigningRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta, signing } = deps;
  const hostOf = (req: FastifyRequest): string => registryHostOf(deps, req);

  app.post<ProjectParams>('/api/v1/projects/:project/signing-key', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    parse(z.object({}).strict(), req.body ?? {});
    const created = await signing.createKey(access.project.name);
    if (created === undefined) throw new ApiError('NOT_FOUND', `project ${access.project.name} not found`);
    deps.log.info({ actor: actorOf(req), project: access.project.name }, 'project signing key replaced or created');
    await emitEvent(deps, req, { action: 'signing-key.create', project: access.project.name, resource: `signing key of ${access.project.name}`, outcome: 'succeeded' });
    return reply.code(201).send({ publicKey: created.publicKey, createdAt: new Date(created.createdAt).toISOString() });
  });

  app.get<ProjectParams>('/api/v1/projects/:project/signing-key', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const key = await signing.publicKey(access.project.name);
    if (key === undefined) throw new ApiError('NOT_FOUND', `project ${access.project.name} has no signing key: a project administrator creates one with POST`);
    return { publicKey: key.publicKey, createdAt: new Date(key.createdAt).toISOString() };
  });

  app.delete<ProjectParams>('/api/v1/projects/:project/signing-key', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    if (!(await signing.deleteKey(access.project.name))) throw new ApiError('NOT_FOUND', `project ${access.project.name} has no signing key`);
    deps.log.info({ actor: actorOf(req), project: access.project.name }, 'project signing key deleted');
    await emitEvent(deps, req, { action: 'signing-key.delete', project: access.project.name, resource: `signing key of ${access.project.name}`, outcome: 'succeeded' });
    return reply.code(204).send();
  });

  app.post<ArtifactParams>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/sign', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'push');
    const body = parse(signBody, req.body ?? {});
    const name = repositoryName(access.project.name, req.params.repo);
    const m = await meta.artifacts.getManifest(name, req.params.reference, true);
    if (m?.content === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found: only a stored image can be signed`);
    const manifest = parseManifest(m.content, m.mediaType);
    // Cosign's .sig/.att manifests have an image config and no image: signing them signs nothing.
    if (manifest.kind === 'image' && (manifest.config.mediaType === MediaType.OciConfig || manifest.config.mediaType === MediaType.DockerConfig) && !isContainerImage(manifest)) {
      throw new ApiError('BAD_REQUEST', `${name}@${m.digest} is a signature or attestation, not an artifact to sign`);
    }
    // Signing is what a promotion does: in a project with promotion gates, the image passes them first.
    const policy = await deps.policies.policyOf(access.project.name);
    if (policy.promotion !== undefined) {
      const facts = await deps.gates.factsOf(name, m.digest as Digest, policy.promotion.requireSignature?.keys ?? []);
      const decision = evaluatePromotion(policy.promotion, facts, deps.now());
      if (!decision.allowed) {
        const failed = decision.gates.filter((g) => !g.passed).map((g) => ({ gate: g.gate, reason: g.reason, ids: g.ids }));
        await emitEvent(deps, req, { action: 'artifact.sign', project: access.project.name, resource: `${name}@${m.digest}`, outcome: 'refused', detail: { repository: name, digest: m.digest, gates: failed } });
        throw refused(`signing ${name}@${m.digest} with the key of ${access.project.name}`, decision.gates);
      }
    }
    const host = hostOf(req);
    const signed = await signing.sign(access.project.name, host, name, { mediaType: m.mediaType, digest: m.digest as Digest, size: m.size }, body.annotations ?? {});
    if (signed === undefined) throw new ApiError('CONFLICT', `project ${access.project.name} has no signing key: a project administrator creates one with POST /api/v1/projects/${access.project.name}/signing-key`);
    deps.log.info({ actor: actorOf(req), repository: name, digest: m.digest, signature: signed.signature }, 'image signed with the project key');
    await emitEvent(deps, req, { action: 'artifact.sign', project: access.project.name, resource: `${name}@${m.digest}`, outcome: 'succeeded', detail: { repository: name, digest: m.digest, tag: signed.tag, signature: signed.signature } });
    return reply.code(201).send({ digest: m.digest, dockerReference: `${host}/${name}`, tag: signed.tag, signature: signed.signature });
  });

  app.get<ArtifactParams>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/signatures', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const name = repositoryName(access.project.name, req.params.repo);
    const artifact = await meta.artifacts.getArtifact(name, req.params.reference);
    if (artifact === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
    return { digest: artifact.digest, ...(await signing.list(access.project.name, hostOf(req), name, artifact.digest as Digest)) };
  });
}
