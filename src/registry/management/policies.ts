import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PolicyError } from '../../policy/index.js';
import { loadPublicKey, publicKeyPem } from '../../sign/index.js';
import { demand, emitEvent, parse, projectAccess, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

type ProjectParams = { Params: { project: string } };

const actorOf = (req: FastifyRequest): string | null => (req.principal.kind === 'anonymous' ? null : req.principal.name);

const trustedKeyBody = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits and . _ -, at most 64, starting with a letter or digit'),
    publicKey: z.string().min(1).max(16_384),
  })
  .strict();

/**
 * A project's policy (members read it; project admins replace it) and the public keys it trusts
 * for signatures (members read them; project admins add and remove them).
 */
export function registerPolicyRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta, policies } = deps;

  app.get<ProjectParams>('/api/v1/projects/:project/policy', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const stored = await policies.documentOf(access.project.name);
    if (stored === undefined) return { policy: {}, updatedAt: null, updatedBy: null };
    return { policy: stored.document, updatedAt: new Date(stored.updatedAt).toISOString(), updatedBy: stored.updatedBy };
  });

  app.put<ProjectParams>('/api/v1/projects/:project/policy', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    const project = access.project.name;
    try {
      await policies.put(project, req.body ?? {}, actorOf(req));
    } catch (err) {
      if (err instanceof PolicyError) throw new ApiError('BAD_REQUEST', `the policy does not validate: ${err.message}`);
      throw err;
    }
    await emitEvent(deps, req, { action: 'policy.update', project, resource: `project ${project}`, outcome: 'succeeded', detail: { policy: req.body ?? {} } });
    deps.log.info({ actor: actorOf(req), project }, 'project policy replaced');
    const stored = await policies.documentOf(project);
    return { policy: stored?.document ?? {}, updatedAt: stored === undefined ? null : new Date(stored.updatedAt).toISOString(), updatedBy: stored?.updatedBy ?? null };
  });

  app.get<ProjectParams>('/api/v1/projects/:project/trusted-keys', async (req) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    return (await meta.trustedKeys.list(access.project.name)).map((k) => ({ name: k.name, publicKey: k.publicKey, createdAt: new Date(k.createdAt).toISOString(), createdBy: k.createdBy }));
  });

  app.post<ProjectParams>('/api/v1/projects/:project/trusted-keys', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    const body = parse(trustedKeyBody, req.body);
    let pem: string;
    try {
      // Stored as PKIX PEM whatever form it came in, so every key reads the same way later.
      pem = publicKeyPem(loadPublicKey(body.publicKey, `key "${body.name}"`));
    } catch (err) {
      throw new ApiError('BAD_REQUEST', `publicKey: ${(err as Error).message}`);
    }
    const project = access.project.name;
    const added = await meta.trustedKeys.add({ project, name: body.name, publicKey: pem, createdAt: deps.now(), createdBy: actorOf(req) });
    if (added === 'exists') throw new ApiError('CONFLICT', `project ${project} already trusts a key named "${body.name}": delete it first to replace it`);
    if (added === 'no-project') throw new ApiError('NOT_FOUND', `project "${project}" not found`);
    deps.gates.invalidate();
    await emitEvent(deps, req, { action: 'trusted-key.add', project, resource: `trusted key ${project}/${body.name}`, outcome: 'succeeded' });
    return reply.code(201).send({ name: body.name, publicKey: pem });
  });

  app.delete<{ Params: { project: string; name: string } }>('/api/v1/projects/:project/trusted-keys/:name', async (req, reply) => {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'admin');
    const project = access.project.name;
    if (!(await meta.trustedKeys.delete(project, req.params.name))) throw new ApiError('NOT_FOUND', `project ${project} trusts no key named "${req.params.name}"`);
    deps.gates.invalidate();
    await emitEvent(deps, req, { action: 'trusted-key.delete', project, resource: `trusted key ${project}/${req.params.name}`, outcome: 'succeeded' });
    return reply.code(204).send();
  });
}
