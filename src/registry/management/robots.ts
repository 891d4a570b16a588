import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isProjectName } from '../../oci/index.js';
import { REPOSITORY_ACTIONS, type RobotPermission, type RobotRecord } from '../../storage/index.js';
import { ROBOT_PREFIX } from '../auth/access.js';
import { generateSecret, hashSecret } from '../auth/password.js';
import { ApiError } from './errors.js';
import { emitEvent, isAdmin, parse, requireUser, storageToApi, type ManagementDeps } from './context.js';

/** A robot's project, for the audit log: its only one, or none when it has several. */
const projectOf = (r: RobotRecord): string | null => (r.permissions.length === 1 ? r.permissions[0]!.project : null);

const NAME = z.string().regex(/^[a-z0-9][a-z0-9._+-]{0,63}$/, 'lower-case letters, digits and . _ + -, at most 64');
const PERMISSION = z
  .object({
    project: z.string().refine(isProjectName, 'not a project name'),
    actions: z
      .array(z.enum(REPOSITORY_ACTIONS))
      .min(1, 'give at least one of pull, push, delete')
      .transform((xs) => REPOSITORY_ACTIONS.filter((a) => xs.includes(a))),
  })
  .strict();

function toRobotJson(r: RobotRecord, now: number): Record<string, unknown> {
  return {
    name: r.name,
    description: r.description,
    permissions: r.permissions,
    disabled: r.disabled,
    expired: r.expiresAt !== null && r.expiresAt <= now,
    createdBy: r.createdBy,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
  };
}

/** Robot names in URLs may come with or without the `robot$` prefix. */
function robotName(param: string): string {
  return param.startsWith(ROBOT_PREFIX) ? param : `${ROBOT_PREFIX}${param}`;
}

export function registerRobotRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta } = deps;

  /** Admins manage every robot; project admins the robots whose permissions lie wholly in their projects. */
  async function manageable(req: FastifyRequest): Promise<(permissions: readonly RobotPermission[]) => boolean> {
    const p = requireUser(req);
    if (p.admin) return () => true;
    const adminOf = new Set((await meta.projects.membershipsOf(p.name)).filter((m) => m.role === 'project-admin').map((m) => m.project));
    return (permissions) => permissions.length > 0 && permissions.every((x) => adminOf.has(x.project));
  }

  async function load(req: FastifyRequest, name: string): Promise<RobotRecord> {
    const can = await manageable(req);
    const robot = await meta.robots.get(robotName(name));
    if (robot === undefined || !can(robot.permissions)) throw new ApiError('NOT_FOUND', `robot account "${robotName(name)}" not found`);
    return robot;
  }

  app.get('/api/v1/robots', async (req) => {
    const can = await manageable(req);
    return (await meta.robots.list()).filter((r) => can(r.permissions)).map((r) => toRobotJson(r, deps.now()));
  });

  app.post('/api/v1/robots', async (req, reply) => {
    const p = requireUser(req);
    const can = await manageable(req);
    const body = parse(
      z
        .object({
          name: NAME,
          description: z.string().max(1000).default(''),
          permissions: z
            .array(PERMISSION)
            .min(1, 'a robot needs at least one project permission')
            .refine((ps) => new Set(ps.map((p) => p.project)).size === ps.length, 'name each project once, with all its actions'),
          expiresInDays: z.number().int().min(1).max(3650).nullable().default(null),
        })
        .strict(),
      req.body,
    );
    if (!can(body.permissions)) throw new ApiError('FORBIDDEN', 'you may only give robots permissions on projects you administer');
    const secret = generateSecret();
    const now = deps.now();
    const robot = await meta.robots
      .create({
        name: `${ROBOT_PREFIX}${body.name}`,
        description: body.description,
        secretHash: hashSecret(secret),
        permissions: body.permissions,
        createdBy: p.name,
        expiresAt: body.expiresInDays === null ? null : now + body.expiresInDays * 86_400_000,
        now,
      })
      .catch(storageToApi);
    deps.log.info({ actor: p.name, robot: robot.name, permissions: robot.permissions }, 'robot account created');
    await emitEvent(deps, req, { action: 'robot.create', project: projectOf(robot), resource: robot.name, outcome: 'succeeded', detail: { permissions: robot.permissions, expiresAt: robot.expiresAt } });
    // The secret is shown here once and never again; only its hash is kept.
    return reply.code(201).send({ ...toRobotJson(robot, now), secret });
  });

  app.get<{ Params: { name: string } }>('/api/v1/robots/:name', async (req) => toRobotJson(await load(req, req.params.name), deps.now()));

  app.patch<{ Params: { name: string } }>('/api/v1/robots/:name', async (req) => {
    const robot = await load(req, req.params.name);
    const body = parse(z.object({ disabled: z.boolean().optional(), description: z.string().max(1000).optional() }).strict(), req.body);
    const updated = await meta.robots
      .update(robot.name, { ...(body.disabled !== undefined ? { disabled: body.disabled } : {}), ...(body.description !== undefined ? { description: body.description } : {}) })
      .catch(storageToApi);
    deps.auth.invalidate();
    await emitEvent(deps, req, { action: 'robot.update', project: projectOf(updated), resource: updated.name, outcome: 'succeeded', detail: body });
    return toRobotJson(updated, deps.now());
  });

  app.post<{ Params: { name: string } }>('/api/v1/robots/:name/secret', async (req) => {
    const robot = await load(req, req.params.name);
    const secret = generateSecret();
    await meta.robots.update(robot.name, { secretHash: hashSecret(secret) }).catch(storageToApi);
    deps.auth.invalidate();
    deps.log.info({ robot: robot.name }, 'robot secret rotated');
    await emitEvent(deps, req, { action: 'robot.update', project: projectOf(robot), resource: robot.name, outcome: 'succeeded', detail: { secret: 'rotated' } });
    return { name: robot.name, secret };
  });

  app.delete<{ Params: { name: string } }>('/api/v1/robots/:name', async (req, reply) => {
    const robot = await load(req, req.params.name);
    await meta.robots.delete(robot.name);
    deps.auth.invalidate();
    deps.log.info({ actor: isAdmin(req.principal) ? 'admin' : undefined, robot: robot.name }, 'robot account deleted');
    await emitEvent(deps, req, { action: 'robot.delete', project: projectOf(robot), resource: robot.name, outcome: 'succeeded' });
    return reply.code(204).send();
  });
}
