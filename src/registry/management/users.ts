import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { UserRecord } from '../../storage/index.js';
import { ROBOT_PREFIX } from '../auth/access.js';
import { hashPassword } from '../auth/password.js';
import { ApiError } from './errors.js';
import { clientOf, emitEvent, parse, requireAdmin, requireSignedIn, requireUser, storageToApi, tooManyFailedLogins, type ManagementDeps } from './context.js';

const USERNAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._@-]{0,63}$/, 'lower-case letters, digits and . _ @ -, at most 64, starting with a letter or digit')
  .refine((u) => u.toLowerCase() !== 'anonymous' && !u.startsWith(ROBOT_PREFIX), 'this name is reserved');
const PASSWORD = z.string().min(8, 'at least 8 characters').max(256, 'at most 256 characters');
const EMAIL = z.email().max(254).nullable();

export function toUserJson(u: UserRecord): Record<string, unknown> {
  return { username: u.username, email: u.email, admin: u.admin, securityTeam: u.securityTeam, createdAt: new Date(u.createdAt).toISOString(), updatedAt: new Date(u.updatedAt).toISOString() };
}

export function registerUserRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta } = deps;

  app.get('/api/v1/users/current', async (req) => {
    const p = requireSignedIn(req);
    if (p.kind === 'robot') return { kind: 'robot', name: p.name, permissions: p.permissions };
    const user = await meta.users.get(p.name);
    if (user === undefined) throw new ApiError('UNAUTHORIZED', 'this account no longer exists');
    return { kind: 'user', ...toUserJson(user), memberships: await meta.projects.membershipsOf(p.name) };
  });

  app.get('/api/v1/users', async (req) => {
    requireAdmin(req);
    return (await meta.users.list()).map(toUserJson);
  });

  app.post('/api/v1/users', async (req, reply) => {
    requireAdmin(req);
    const body = parse(z.object({ username: USERNAME, password: PASSWORD, email: EMAIL.optional(), admin: z.boolean().optional(), securityTeam: z.boolean().optional() }).strict(), req.body);
    const user = await meta.users
      .create({ username: body.username, email: body.email ?? null, admin: body.admin ?? false, securityTeam: body.securityTeam ?? false, passwordHash: await hashPassword(body.password), now: deps.now() })
      .catch(storageToApi);
    deps.log.info({ actor: req.principal.kind === 'user' ? req.principal.name : undefined, user: user.username, admin: user.admin }, 'user created');
    await emitEvent(deps, req, { action: 'user.create', project: null, resource: `user ${user.username}`, outcome: 'succeeded', detail: { admin: user.admin, securityTeam: user.securityTeam } });
    return reply.code(201).send(toUserJson(user));
  });

  app.get<{ Params: { username: string } }>('/api/v1/users/:username', async (req) => {
    const p = requireUser(req);
    if (!p.admin && p.name !== req.params.username) throw new ApiError('FORBIDDEN', 'only administrators may look at other users');
    const user = await meta.users.get(req.params.username);
    if (user === undefined) throw new ApiError('NOT_FOUND', `user "${req.params.username}" not found`);
    return toUserJson(user);
  });

  app.patch<{ Params: { username: string } }>('/api/v1/users/:username', async (req) => {
    const p = requireUser(req);
    const self = p.name === req.params.username;
    if (!p.admin && !self) throw new ApiError('FORBIDDEN', 'only administrators may change other users');
    const body = parse(z.object({ email: EMAIL.optional(), admin: z.boolean().optional(), securityTeam: z.boolean().optional() }).strict(), req.body);
    if (body.admin !== undefined && !p.admin) throw new ApiError('FORBIDDEN', 'only administrators may grant or revoke admin');
    if (body.securityTeam !== undefined && !p.admin) throw new ApiError('FORBIDDEN', 'only administrators may add to or remove from the security team');
    const user = await meta.users
      .update(req.params.username, { ...(body.email !== undefined ? { email: body.email } : {}), ...(body.admin !== undefined ? { admin: body.admin } : {}), ...(body.securityTeam !== undefined ? { securityTeam: body.securityTeam } : {}), now: deps.now() })
      .catch(storageToApi);
    deps.auth.invalidate();
    await emitEvent(deps, req, { action: 'user.update', project: null, resource: `user ${user.username}`, outcome: 'succeeded', detail: body });
    return toUserJson(user);
  });

  app.put<{ Params: { username: string } }>('/api/v1/users/:username/password', async (req, reply) => {
    const p = requireUser(req);
    const self = p.name === req.params.username;
    if (!p.admin && !self) throw new ApiError('FORBIDDEN', 'only administrators may set other users\' passwords');
    const body = parse(z.object({ oldPassword: z.string().optional(), newPassword: PASSWORD }).strict(), req.body);
    if (!p.admin) {
      if (body.oldPassword === undefined) throw new ApiError('FORBIDDEN', 'oldPassword is wrong');
      // A login in all but name: a stolen bearer token must not buy unlimited password guesses.
      const check = await deps.auth.login(p.name, body.oldPassword, clientOf(req, deps.options.trustProxy));
      if (check.kind === 'locked') throw tooManyFailedLogins(check.retryAfterMs);
      if (check.kind === 'invalid' || check.principal.kind !== 'user' || check.principal.name !== p.name) throw new ApiError('FORBIDDEN', 'oldPassword is wrong');
    }
    await meta.users.update(req.params.username, { passwordHash: await hashPassword(body.newPassword), now: deps.now() }).catch(storageToApi);
    deps.auth.invalidate();
    deps.log.info({ actor: p.name, user: req.params.username }, 'password changed');
    await emitEvent(deps, req, { action: 'user.update', project: null, resource: `user ${req.params.username}`, outcome: 'succeeded', detail: { password: 'changed' } });
    return reply.code(204).send();
  });

  app.delete<{ Params: { username: string } }>('/api/v1/users/:username', async (req, reply) => {
    const p = requireAdmin(req);
    if (p.name === req.params.username) throw new ApiError('CONFLICT', 'you cannot delete your own account');
    if (!(await meta.users.delete(req.params.username).catch(storageToApi))) throw new ApiError('NOT_FOUND', `user "${req.params.username}" not found`);
    deps.auth.invalidate();
    deps.log.info({ actor: p.name, user: req.params.username }, 'user deleted');
    await emitEvent(deps, req, { action: 'user.delete', project: null, resource: `user ${req.params.username}`, outcome: 'succeeded' });
    return reply.code(204).send();
  });
}
