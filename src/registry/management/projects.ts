import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isProjectName } from '../../oci/index.js';
import { PROJECT_ROLES, type ArtifactRecord, type ProjectRecord, type RepositoryRecord } from '../../storage/index.js';
import { RepositoryContent } from '../repository-content.js';
import { SBOM_ARTIFACT_TYPES, SBOM_JOB } from '../sbom.js';
import { isImageArtifact } from '../scan-summary.js';
import { forPlatform } from './platform.js';
import { ApiError } from './errors.js';
import { clientOrigin, demand, emitEvent, isAdmin, parse, projectAccess, repositoryName, requireSignedIn, storageToApi, writeToApi, type ManagementDeps } from './context.js';

const PROJECT_NAME = z.string().refine(isProjectName, 'lower-case letters, digits and . _ -, at most 64, starting with a letter or digit');
const ROLE = z.enum(PROJECT_ROLES);
const PAGE = z.object({ page_size: z.coerce.number().int().min(1).max(1000).default(100), last: z.string().max(300).optional() }).strict();

function toProjectJson(p: ProjectRecord): Record<string, unknown> {
  return { name: p.name, public: p.public, repositoryCount: p.repositoryCount, createdAt: new Date(p.createdAt).toISOString() };
}

function toRepositoryJson(r: RepositoryRecord): Record<string, unknown> {
  return { name: r.name, project: r.project, artifactCount: r.artifactCount, createdAt: new Date(r.createdAt).toISOString(), updatedAt: new Date(r.updatedAt).toISOString() };
}

export function toArtifactJson(a: ArtifactRecord): Record<string, unknown> {
  return {
    digest: a.digest,
    mediaType: a.mediaType,
    artifactType: a.artifactType,
    subject: a.subject,
    size: a.size,
    tags: a.tags,
    pushedAt: new Date(a.pushedAt).toISOString(),
    annotations: a.annotations ?? {},
  };
}

export function registerProjectRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta } = deps;

  app.get('/api/v1/projects', async (req) => {
    return (await meta.projects.list(await deps.auth.visibility(req.principal))).map(toProjectJson);
  });

  app.post('/api/v1/projects', async (req, reply) => {
    const p = requireSignedIn(req);
    if (p.kind !== 'user') throw new ApiError('FORBIDDEN', 'robot accounts cannot create projects');
    if (deps.options.projectCreation === 'adminonly' && !p.admin) throw new ApiError('FORBIDDEN', 'only administrators may create projects on this registry');
    const body = parse(z.object({ name: PROJECT_NAME, public: z.boolean().default(false) }).strict(), req.body);
    const project = await meta.projects.create({ name: body.name, public: body.public, now: deps.now() }).catch(storageToApi);
    if (!p.admin) await meta.projects.setMember(project.name, p.name, 'project-admin');
    deps.log.info({ actor: p.name, project: project.name, public: project.public }, 'project created');
    await emitEvent(deps, req, { action: 'project.create', project: project.name, resource: `project ${project.name}`, outcome: 'succeeded', detail: { public: project.public } });
    return reply.code(201).send(toProjectJson(project));
  });

  app.get<{ Params: { project: string } }>('/api/v1/projects/:project', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    return { ...toProjectJson(access.project), role: access.role ?? null, actions: [...access.actions] };
  });

  app.patch<{ Params: { project: string } }>('/api/v1/projects/:project', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    const body = parse(z.object({ public: z.boolean().optional() }).strict(), req.body);
    const project = await meta.projects.update(access.project.name, body.public === undefined ? {} : { public: body.public }).catch(storageToApi);
    deps.log.info({ project: project.name, public: project.public }, 'project updated');
    await emitEvent(deps, req, { action: 'project.update', project: project.name, resource: `project ${project.name}`, outcome: 'succeeded', detail: { public: project.public } });
    return toProjectJson(project);
  });

  app.delete<{ Params: { project: string } }>('/api/v1/projects/:project', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    if (access.project.repositoryCount > 0) throw new ApiError('CONFLICT', `project "${access.project.name}" still has ${access.project.repositoryCount} repositories: delete them first`);
    await meta.projects.delete(access.project.name);
    deps.log.info({ project: access.project.name }, 'project deleted');
    await emitEvent(deps, req, { action: 'project.delete', project: access.project.name, resource: `project ${access.project.name}`, outcome: 'succeeded' });
    return reply.code(204).send();
  });

  // Members
  app.get<{ Params: { project: string } }>('/api/v1/projects/:project/members', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    if (access.role === undefined && !isAdmin(req.principal)) {
      requireSignedIn(req);
      throw new ApiError('FORBIDDEN', 'only members see the member list');
    }
    return meta.projects.members(access.project.name);
  });

  const putMember = async (req: FastifyRequest, project: string, username: string, role: z.infer<typeof ROLE>) => {
    await meta.projects.setMember(project, username, role).catch(storageToApi);
    deps.log.info({ project, user: username, role }, 'member set');
    await emitEvent(deps, req, { action: 'member.set', project, resource: `member ${username} of ${project}`, outcome: 'succeeded', detail: { username, role } });
  };

  app.post<{ Params: { project: string } }>('/api/v1/projects/:project/members', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    const body = parse(z.object({ username: z.string().min(1), role: ROLE }).strict(), req.body);
    await putMember(req, access.project.name, body.username, body.role);
    return reply.code(201).send({ username: body.username, role: body.role });
  });

  app.put<{ Params: { project: string; username: string } }>('/api/v1/projects/:project/members/:username', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    const body = parse(z.object({ role: ROLE }).strict(), req.body);
    await putMember(req, access.project.name, req.params.username, body.role);
    return { username: req.params.username, role: body.role };
  });

  app.delete<{ Params: { project: string; username: string } }>('/api/v1/projects/:project/members/:username', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    if (!(await meta.projects.removeMember(access.project.name, req.params.username).catch(storageToApi))) throw new ApiError('NOT_FOUND', `"${req.params.username}" is not a member of "${access.project.name}"`);
    deps.log.info({ project: access.project.name, user: req.params.username }, 'member removed');
    await emitEvent(deps, req, { action: 'member.remove', project: access.project.name, resource: `member ${req.params.username} of ${access.project.name}`, outcome: 'succeeded', detail: { username: req.params.username } });
    return reply.code(204).send();
  });

  // Repositories and artifacts
  app.get<{ Params: { project: string } }>('/api/v1/projects/:project/repositories', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const page = parse(PAGE, req.query, 'query');
    return (await meta.artifacts.listRepositories(access.project.name, { kind: 'all' }, { limit: page.page_size, after: page.last })).map(toRepositoryJson);
  });

  app.get<{ Params: { project: string; repo: string } }>('/api/v1/projects/:project/repositories/:repo', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const repo = await meta.artifacts.getRepository(repositoryName(access.project.name, req.params.repo));
    if (repo === undefined || repo.artifactCount === 0) throw new ApiError('NOT_FOUND', `repository not found`);
    return toRepositoryJson(repo);
  });

  app.delete<{ Params: { project: string; repo: string } }>('/api/v1/projects/:project/repositories/:repo', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'delete');
    const name = repositoryName(access.project.name, req.params.repo);
    await deps.writer.deleteRepository(name, clientOrigin(req, deps)).catch(writeToApi);
    deps.log.info({ repository: name }, 'repository deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: { project: string; repo: string } }>('/api/v1/projects/:project/repositories/:repo/artifacts', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const name = repositoryName(access.project.name, req.params.repo);
    const repo = await meta.artifacts.getRepository(name);
    if (repo === undefined || repo.artifactCount === 0) throw new ApiError('NOT_FOUND', `repository ${name} not found`);
    return (await meta.artifacts.listArtifacts(name)).map(toArtifactJson);
  });

  app.get<{ Params: { project: string; repo: string; reference: string } }>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const name = repositoryName(access.project.name, req.params.repo);
    const artifact = await meta.artifacts.getArtifact(name, req.params.reference);
    if (artifact === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
    const referrers = await meta.artifacts.referrers(name, artifact.digest, null);
    return { ...toArtifactJson(artifact), referrers: referrers.map((r) => ({ digest: r.digest, mediaType: r.mediaType, artifactType: r.artifactType, size: r.size })) };
  });

  // The SBOM of an image as the SBOM worker made it (a referrer of the image; never one a client pushed).
  app.get<{ Params: { project: string; repo: string; reference: string }; Querystring: { format?: string; platform?: string } }>(
    '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/sbom',
    async (req, reply) => {
      const access = await projectAccess(deps, req, req.params.project);
      demand(req, access, 'pull');
      const format = req.query.format ?? 'cyclonedx-json';
      if (format !== 'cyclonedx-json' && format !== 'spdx-json') throw new ApiError('BAD_REQUEST', `format "${format.slice(0, 40)}" is not one of cyclonedx-json, spdx-json`);
      const name = repositoryName(access.project.name, req.params.repo);
      const named = await meta.artifacts.getArtifact(name, req.params.reference);
      if (named === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
      // A multi-platform index: the SBOM of the image of ?platform=.
      const artifact = await forPlatform(meta, name, named, req.query.platform, 'SBOM');
      const made = await meta.documents.get(name, artifact.digest, format);
      const doc = made === undefined ? undefined : await new RepositoryContent(meta, deps.blobs, name).openDocument(made);
      if (doc !== undefined) return reply.header('Content-Type', SBOM_ARTIFACT_TYPES[format]).header('Docker-Content-Digest', doc.digest).send(doc.stream);
      const job = await meta.jobs.get(SBOM_JOB, `${name}@${artifact.digest}`);
      if (job?.state === 'failed') throw new ApiError('NOT_FOUND', `the SBOM of ${name}@${artifact.digest} could not be built: ${job.error ?? 'unknown error'}`);
      if (job === undefined || job.state === 'done') {
        if (!isImageArtifact(artifact)) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} is not a container image: it has no SBOM`);
        // Done, yet no SBOM: it was deleted (or made before SBOMs were recorded): make it again.
        await deps.sbom.enqueue(name, artifact.digest, true);
      }
      return reply
        .code(202)
        .header('Retry-After', '5')
        .send({ status: job === undefined || job.state === 'done' ? 'queued' : job.state, attempts: job?.attempts ?? 0, ...(job?.error !== null && job?.error !== undefined ? { lastError: job.error } : {}) });
    },
  );

  app.delete<{ Params: { project: string; repo: string; reference: string } }>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'delete');
    const name = repositoryName(access.project.name, req.params.repo);
    const artifact = await meta.artifacts.getArtifact(name, req.params.reference);
    if (artifact === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
    await deps.writer.deleteManifest(name, artifact.digest, clientOrigin(req, deps)).catch(writeToApi);
    deps.log.info({ repository: name, digest: artifact.digest }, 'artifact deleted');
    return reply.code(204).send();
  });
}
