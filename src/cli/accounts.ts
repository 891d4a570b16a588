/** Commands for users, projects with their members, robots, and browsing repositories. */
import { Option, type Command } from 'commander';
import { apiCommand, client, formatOption, newPassword, outputOf, outputOption, secretOutputOf } from './api-command.js';
import { CliError } from './errors.js';
import { humanBytes, render, stdoutOutput, type OutputFormat } from './output.js';
import type { CliIo } from './program.js';

export function registerAccountCommands(program: Command, io: CliIo): void {
  // ---- users
  const user = program.command('user').description('manage users (administrators)');
  apiCommand(user.command('create').argument('<username>').description('create a user'))
    .option('--admin', 'make the user a system administrator')
    .option('--security-team', 'make the user a member of the security team (decides waivers)')
    .option('--email <email>')
    .option('--password-stdin', "read the new user's password from stdin (else a prompt, or a generated one when not on a terminal)")
    .addOption(formatOption())
    .addOption(new Option('-o, --output <file>', 'write the result (with a generated password) to FILE, mode 0600, instead of stdout'))
    .action(async (username: string, o: { admin?: boolean; securityTeam?: boolean; email?: string; passwordStdin?: boolean; server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const { password, generated } = await newPassword(io, o.passwordStdin);
      const created = await (await client(io, o)).request<Record<string, unknown>>('POST', '/api/v1/users', { username, password, admin: o.admin === true, securityTeam: o.securityTeam === true, ...(o.email ? { email: o.email } : {}) });
      if (o.format === 'json') secretOutputOf(o).result(JSON.stringify(generated ? { ...created, password } : created, null, 2));
      else secretOutputOf(o).result(generated ? `created user ${username}; password: ${password}` : `created user ${username}`);
    });
  apiCommand(user.command('security-team').argument('<username>').argument('<member>', 'true or false').description('add a user to the security team, or remove them')).action(
    async (username: string, value: string, o: { server?: string; insecure?: boolean }) => {
      if (value !== 'true' && value !== 'false') throw new CliError('USAGE', `expected true or false, not "${value}"`);
      await (await client(io, o)).request('PATCH', `/api/v1/users/${encodeURIComponent(username)}`, { securityTeam: value === 'true' });
      stdoutOutput.result(value === 'true' ? `${username} is in the security team` : `${username} is no longer in the security team`);
    },
  );
  apiCommand(user.command('list').description('list users'))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (o: { server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const users = await (await client(io, o)).request<{ username: string; email: string | null; admin: boolean; securityTeam: boolean; createdAt: string }[]>('GET', '/api/v1/users');
      outputOf(o).result(render(o.format, users, ['USERNAME', 'ADMIN', 'SECURITY TEAM', 'EMAIL', 'CREATED'], (u: (typeof users)[number]) => [u.username, u.admin, u.securityTeam, u.email, u.createdAt]));
    });
  apiCommand(user.command('delete').argument('<username>').description('delete a user')).action(async (username: string, o: { server?: string; insecure?: boolean }) => {
    await (await client(io, o)).request('DELETE', `/api/v1/users/${encodeURIComponent(username)}`);
    stdoutOutput.result(`deleted user ${username}`);
  });
  apiCommand(user.command('passwd').argument('<username>').description("set a user's password (yours needs --old-password-stdin unless you are an administrator)"))
    .option('--password-stdin', 'read the new password from stdin')
    .action(async (username: string, o: { passwordStdin?: boolean; server?: string; insecure?: boolean }) => {
      const { password, generated } = await newPassword(io, o.passwordStdin);
      const c = await client(io, o);
      const body: Record<string, string> = { newPassword: password };
      if (io.env['PORTCULLIS_PASSWORD'] !== undefined) body['oldPassword'] = io.env['PORTCULLIS_PASSWORD'];
      await c.request('PUT', `/api/v1/users/${encodeURIComponent(username)}/password`, body);
      stdoutOutput.result(generated ? `password of ${username} set to: ${password}` : `password of ${username} changed`);
    });

  // ---- projects
  const project = program.command('project').description('manage projects and their members');
  apiCommand(project.command('create').argument('<name>').description('create a project (you become its project-admin)'))
    .option('--public', 'anyone, even anonymous, may pull')
    .action(async (name: string, o: { public?: boolean; server?: string; insecure?: boolean }) => {
      await (await client(io, o)).request('POST', '/api/v1/projects', { name, public: o.public === true });
      stdoutOutput.result(`created ${o.public ? 'public' : 'private'} project ${name}`);
    });
  apiCommand(project.command('list').description('list the projects you can see'))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (o: { server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const projects = await (await client(io, o)).request<{ name: string; public: boolean; repositoryCount: number; createdAt: string }[]>('GET', '/api/v1/projects');
      outputOf(o).result(render(o.format, projects, ['NAME', 'PUBLIC', 'REPOSITORIES', 'CREATED'], (p: (typeof projects)[number]) => [p.name, p.public, p.repositoryCount, p.createdAt]));
    });
  apiCommand(project.command('delete').argument('<name>').description('delete an empty project')).action(async (name: string, o: { server?: string; insecure?: boolean }) => {
    await (await client(io, o)).request('DELETE', `/api/v1/projects/${encodeURIComponent(name)}`);
    stdoutOutput.result(`deleted project ${name}`);
  });
  apiCommand(project.command('set-public').argument('<name>').argument('<public>', 'true or false').description('make a project public or private')).action(
    async (name: string, value: string, o: { server?: string; insecure?: boolean }) => {
      if (value !== 'true' && value !== 'false') throw new CliError('USAGE', `expected true or false, not "${value}"`);
      await (await client(io, o)).request('PATCH', `/api/v1/projects/${encodeURIComponent(name)}`, { public: value === 'true' });
      stdoutOutput.result(`project ${name} is now ${value === 'true' ? 'public' : 'private'}`);
    },
  );
  const member = project.command('member').description("manage a project's members");
  apiCommand(member.command('add').argument('<project>').argument('<username>').description('add a member or change their role'))
    .addOption(new Option('-r, --role <role>', 'role').choices(['project-admin', 'maintainer', 'developer', 'guest']).makeOptionMandatory())
    .action(async (p: string, username: string, o: { role: string; server?: string; insecure?: boolean }) => {
      await (await client(io, o)).request('PUT', `/api/v1/projects/${encodeURIComponent(p)}/members/${encodeURIComponent(username)}`, { role: o.role });
      stdoutOutput.result(`${username} is ${o.role} of ${p}`);
    });
  apiCommand(member.command('remove').argument('<project>').argument('<username>').description('remove a member')).action(async (p: string, username: string, o: { server?: string; insecure?: boolean }) => {
    await (await client(io, o)).request('DELETE', `/api/v1/projects/${encodeURIComponent(p)}/members/${encodeURIComponent(username)}`);
    stdoutOutput.result(`removed ${username} from ${p}`);
  });
  apiCommand(member.command('list').argument('<project>').description('list members'))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (p: string, o: { server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const members = await (await client(io, o)).request<{ username: string; role: string }[]>('GET', `/api/v1/projects/${encodeURIComponent(p)}/members`);
      outputOf(o).result(render(o.format, members, ['USERNAME', 'ROLE'], (m: (typeof members)[number]) => [m.username, m.role]));
    });

  // ---- robots
  const robot = program.command('robot').description('manage robot accounts for CI');
  apiCommand(robot.command('create').argument('<name>').description('create a robot account; its secret is printed once'))
    .requiredOption('-p, --permission <project:actions...>', 'PROJECT:ACTIONS, e.g. team:pull,push (repeatable)')
    .option('--description <text>')
    .option('--expires-days <n>', 'expire after N days')
    .addOption(formatOption())
    .addOption(new Option('-o, --output <file>', "write the robot's name and secret to FILE, mode 0600, instead of stdout"))
    .action(async (name: string, o: { permission: string[]; description?: string; expiresDays?: string; server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const permissions = o.permission.map((p) => {
        const i = p.indexOf(':');
        if (i <= 0) throw new CliError('USAGE', `--permission "${p}": expected PROJECT:ACTIONS such as team:pull,push`);
        return { project: p.slice(0, i), actions: p.slice(i + 1).split(',').filter(Boolean) };
      });
      let expiresInDays: number | null = null;
      if (o.expiresDays !== undefined) {
        expiresInDays = Number(o.expiresDays);
        if (!Number.isInteger(expiresInDays) || expiresInDays < 1) throw new CliError('USAGE', `--expires-days must be a whole number of days, not "${o.expiresDays}"`);
      }
      const created = await (await client(io, o)).request<{ name: string; secret: string }>('POST', '/api/v1/robots', { name, permissions, description: o.description ?? '', expiresInDays });
      secretOutputOf(o).result(o.format === 'json' ? JSON.stringify(created, null, 2) : `name:   ${created.name}\nsecret: ${created.secret}\n(the secret is shown only now: store it in your CI's secret store)`);
    });
  apiCommand(robot.command('list').description('list robot accounts you manage'))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (o: { server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const robots = await (await client(io, o)).request<{ name: string; permissions: { project: string; actions: string[] }[]; disabled: boolean; expiresAt: string | null }[]>('GET', '/api/v1/robots');
      outputOf(o).result(
        render(o.format, robots, ['NAME', 'PERMISSIONS', 'DISABLED', 'EXPIRES'], (r: (typeof robots)[number]) => [r.name, r.permissions.map((p) => `${p.project}:${p.actions.join('+')}`).join(' '), r.disabled, r.expiresAt ?? 'never']),
      );
    });
  apiCommand(robot.command('delete').argument('<name>').description('delete a robot account')).action(async (name: string, o: { server?: string; insecure?: boolean }) => {
    await (await client(io, o)).request('DELETE', `/api/v1/robots/${encodeURIComponent(name)}`);
    stdoutOutput.result(`deleted ${name}`);
  });
  apiCommand(robot.command('rotate').argument('<name>').description('issue a new secret (the old one stops working)'))
    .addOption(formatOption())
    .addOption(new Option('-o, --output <file>', "write the robot's name and new secret to FILE, mode 0600, instead of stdout"))
    .action(async (name: string, o: { server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const r = await (await client(io, o)).request<{ name: string; secret: string }>('POST', `/api/v1/robots/${encodeURIComponent(name)}/secret`);
      secretOutputOf(o).result(o.format === 'json' ? JSON.stringify(r, null, 2) : `name:   ${r.name}\nsecret: ${r.secret}`);
    });
  for (const [cmd, disabled] of [['disable', true], ['enable', false]] as const) {
    apiCommand(robot.command(cmd).argument('<name>').description(`${cmd} a robot account`)).action(async (name: string, o: { server?: string; insecure?: boolean }) => {
      await (await client(io, o)).request('PATCH', `/api/v1/robots/${encodeURIComponent(name)}`, { disabled });
      stdoutOutput.result(`${cmd}d ${name}`);
    });
  }

  // ---- repositories and artifacts
  const repo = program.command('repo').description('browse repositories and artifacts');
  apiCommand(repo.command('list').argument('<project>').description("list a project's repositories"))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (p: string, o: { server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const repos = await (await client(io, o)).request<{ name: string; artifactCount: number; updatedAt: string }[]>('GET', `/api/v1/projects/${encodeURIComponent(p)}/repositories?page_size=1000`);
      outputOf(o).result(render(o.format, repos, ['REPOSITORY', 'ARTIFACTS', 'UPDATED'], (r: (typeof repos)[number]) => [r.name, r.artifactCount, r.updatedAt]));
    });
  apiCommand(repo.command('artifacts').argument('<repository>', 'PROJECT/REPO').description('list artifacts with their tags, size and push time'))
    .addOption(formatOption())
    .addOption(outputOption())
    .action(async (name: string, o: { server?: string; insecure?: boolean; format: OutputFormat; output?: string }) => {
      const i = name.indexOf('/');
      if (i <= 0) throw new CliError('USAGE', `"${name}" is not PROJECT/REPO`);
      const items = await (await client(io, o)).request<{ digest: string; tags: string[]; size: number; pushedAt: string; mediaType: string }[]>(
        'GET',
        `/api/v1/projects/${encodeURIComponent(name.slice(0, i))}/repositories/${encodeURIComponent(name.slice(i + 1))}/artifacts`,
      );
      outputOf(o).result(render(o.format, items, ['DIGEST', 'TAGS', 'SIZE', 'PUSHED'], (a: (typeof items)[number]) => [a.digest, a.tags, humanBytes(a.size), a.pushedAt]));
    });
}
