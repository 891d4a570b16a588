/**
 * Image config checks against a hand-built file tree (merged /usr, relative and dangling links, a
 * loop), and Dockerfile checks on small Dockerfiles: exact ids, the facts each message must name,
 * and that a secret's value never appears in what is reported.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FileTree, type FileNode, type ImageConfig } from '../../src/image/index.js';
import { checkDockerfile } from '../../src/scan/dockerfile.js';
import { checkImageConfig } from '../../src/scan/misconfig.js';
import { MISCONFIG_VERSION } from '../../src/scan/misconfig-rules.js';
import type { ConfigFinding } from '../../src/scan/model.js';

type Entry = Omit<FileNode, 'layer'>;
const file = (path: string, mode = 0o755): Entry => ({ path, type: 'file', mode, size: 1, linkname: '', uid: 0, gid: 0 });
const dir = (path: string): Entry => ({ path, type: 'directory', mode: 0o755, size: 0, linkname: '', uid: 0, gid: 0 });
const symlink = (path: string, target: string): Entry => ({ path, type: 'symlink', mode: 0o777, size: 0, linkname: target, uid: 0, gid: 0 });

/** Debian-like: merged /usr (`bin -> usr/bin`), `sh -> dash`, node in /usr/local/bin, the app in /app. */
function imageTree(): FileTree {
  const t = new FileTree();
  t.apply(0, {
    whiteouts: [],
    opaques: [],
    entries: [
      dir('usr'),
      dir('usr/bin'),
      symlink('bin', 'usr/bin'),
      file('usr/bin/dash'),
      symlink('usr/bin/sh', 'dash'),
      file('usr/bin/env'),
      dir('usr/local'),
      dir('usr/local/bin'),
      file('usr/local/bin/node'),
      dir('opt'),
    ],
  });
  t.apply(1, {
    whiteouts: [],
    opaques: [],
    entries: [
      dir('app'),
      file('app/processor'),
      file('app/run.sh'),
      file('app/config.json', 0o644),
      file('app/server.js', 0o644),
      dir('app/dist'),
      file('app/dist/index.js', 0o644),
      file('usr/bin/python3'),
      symlink('app/start', 'config.json'),
      dir('app/lib'),
      symlink('app/current', '../opt/server'),
      symlink('app/loop-a', 'loop-b'),
      symlink('app/loop-b', '/app/loop-a'),
      symlink('app/latest', 'releases/v2/processor'),
      dir('app/releases'),
      symlink('app/releases/v2', '/app'),
    ],
  });
  return t;
}

/** A config that passes every check; cases override what they test. */
function config(over: NonNullable<ImageConfig['config']> = {}, top: Partial<ImageConfig> = {}): ImageConfig {
  return {
    os: 'linux',
    architecture: 'amd64',
    config: { User: 'app', Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Entrypoint: ['/app/processor'], Healthcheck: { Test: ['CMD', '/app/processor', 'health'] }, ...over },
    ...top,
  };
}

/** Token-shaped fakes, built at run time so this file holds no token-shaped literal. */
const fake = (prefix: string, n: number): string => prefix + 'Zq7Xw2Lk9Pm4Rt6Vb3Nc8Hd5'.repeat(3).slice(0, n);

function only(findings: readonly ConfigFinding[], id: string): ConfigFinding[] {
  return findings.filter((f) => f.id === id);
}

function assertMentions(f: ConfigFinding | undefined, facts: readonly string[]): void {
  assert.ok(f !== undefined, 'a finding');
  for (const fact of facts) assert.ok(f.message.includes(fact), `message ${JSON.stringify(f.message)} names ${JSON.stringify(fact)}`);
}

test('the version is a positive integer (the cache key)', () => {
  assert.ok(Number.isInteger(MISCONFIG_VERSION) && MISCONFIG_VERSION > 0);
});

test('a good image has no findings', () => {
  assert.deepEqual(checkImageConfig({ config: config(), tree: imageTree(), tag: '1.4.2' }), []);
});

describe('PCL-IMG-001: the program the container runs', () => {
  const cases: { name: string; over: NonNullable<ImageConfig['config']>; expect: readonly (readonly string[])[] }[] = [
    { name: 'the incident: /app/processr, the near name suggested', over: { Entrypoint: ['/app/processr'] }, expect: [['entrypoint /app/processr', 'does not exist', 'did you mean /app/processor?']] },
    { name: 'the right path', over: { Entrypoint: ['/app/processor'], Cmd: ['--port', '8080'] }, expect: [] },
    { name: 'found on PATH (node in /usr/local/bin)', over: { Entrypoint: null, WorkingDir: '/app', Cmd: ['node', 'server.js'] }, expect: [] },
    { name: "the interpreter's script: node finds dist/index.js and server(.js)", over: { Entrypoint: ['node'], WorkingDir: '/app', Cmd: ['dist'] }, expect: [] },
    { name: "the interpreter's script: node, extension left out", over: { Entrypoint: ['/usr/local/bin/node', '/app/server'] }, expect: [] },
    { name: "the interpreter's script is missing (no execute bit needed)", over: { Entrypoint: null, WorkingDir: '/app', Cmd: ['node', 'sever.js'] }, expect: [['the script sever.js that node runs does not exist', '(/app/sever.js)', 'did you mean /app/server.js?']] },
    { name: "python -m runs no file: not checked", over: { Entrypoint: ['python3', '-m', 'app'] }, expect: [] },
    { name: 'sh with a script file that is missing', over: { Entrypoint: ['/bin/sh', '/app/start.sh'] }, expect: [['the script /app/start.sh that /bin/sh runs does not exist']] },
    { name: 'not on the PATH the image sets', over: { Entrypoint: null, Cmd: ['node'], Env: ['PATH=/opt/bin:/usr/bin'] }, expect: [['command node', 'not found in any directory of PATH (/opt/bin:/usr/bin)']] },
    { name: 'default PATH when Env has none; a near name on PATH', over: { Entrypoint: null, Cmd: ['nod'], Env: ['LANG=C.UTF-8'] }, expect: [['command nod', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'did you mean node (in /usr/local/bin)?']] },
    { name: 'through relative links: bin -> usr/bin, sh -> dash', over: { Entrypoint: ['/bin/sh'] }, expect: [] },
    { name: 'a link into a linked directory (releases/v2 -> /app)', over: { Entrypoint: ['/app/latest'] }, expect: [] },
    { name: 'a dangling symbolic link', over: { Entrypoint: ['/app/current'] }, expect: [['entrypoint /app/current', 'symbolic link to ../opt/server', '/opt/server does not exist']] },
    { name: 'a directory', over: { Entrypoint: ['/app/lib'] }, expect: [['entrypoint /app/lib', 'is a directory']] },
    { name: 'a file without an execute bit', over: { Entrypoint: ['/app/config.json'] }, expect: [['entrypoint /app/config.json', 'not executable (mode 0644)']] },
    { name: 'a link to a file without an execute bit', over: { Entrypoint: ['/app/start'] }, expect: [['entrypoint /app/start (/app/config.json)', 'not executable']] },
    { name: 'on PATH only without an execute bit', over: { Entrypoint: ['config.json'], Env: ['PATH=/app'] }, expect: [['entrypoint config.json', 'only as /app/config.json (mode 0644)']] },
    { name: 'Cmd only', over: { Entrypoint: null, Cmd: ['/app/processr'] }, expect: [['command /app/processr', 'did you mean /app/processor?']] },
    { name: 'an empty Entrypoint leaves Cmd', over: { Entrypoint: [], Cmd: ['/app/processor'] }, expect: [] },
    { name: 'Entrypoint [""] clears it', over: { Entrypoint: [''], Cmd: ['/app/processor'] }, expect: [] },
    { name: 'Entrypoint then Cmd: only the first word is a program', over: { Entrypoint: ['/app/processor'], Cmd: ['/app/processr'] }, expect: [] },
    { name: 'shell form with exec', over: { Entrypoint: null, Cmd: ['/bin/sh', '-c', 'exec /app/processr --port 8080'] }, expect: [['the command /app/processr run by /bin/sh -c', 'did you mean /app/processor?']] },
    { name: 'shell form: cd, then exec relative to it', over: { Entrypoint: null, Cmd: ['/bin/sh', '-c', 'set -e; cd /app && exec ./processr 2>&1'] }, expect: [['./processr', '(/app/processr)', 'did you mean /app/processor?']] },
    { name: 'shell form: builtins and assignments skipped, the program on PATH', over: { Entrypoint: null, Cmd: ['sh', '-c', 'export NODE_ENV=production; umask 077; NODE_OPTIONS=--max-old-space-size=512 node server.js'] }, expect: [] },
    { name: 'shell form: a missing program on PATH', over: { Entrypoint: null, Cmd: ['sh', '-c', '. /app/env.sh && exec nodejs server.js'] }, expect: [['the command nodejs run by sh -c', 'not found']] },
    { name: 'shell form: a variable program is not checked', over: { Entrypoint: null, Cmd: ['/bin/sh', '-c', 'exec "$APP_BIN" --serve'] }, expect: [] },
    { name: 'shell form: conditional commands are not checked', over: { Entrypoint: null, Cmd: ['/bin/sh', '-c', '[ -x /app/custom ] && /app/custom; /app/migrate || true; exec /app/processor'] }, expect: [] },
    { name: 'shell form: commands before exec are checked too', over: { Entrypoint: null, Cmd: ['/bin/sh', '-c', '/app/migrat && exec /app/processor'] }, expect: [['the command /app/migrat run by /bin/sh -c', 'does not exist']] },
    { name: 'shell form: the shell itself (bash -o pipefail -c)', over: { Entrypoint: null, Cmd: ['/bin/bash', '-o', 'pipefail', '-c', 'exec /app/processor'] }, expect: [['command /bin/bash', 'does not exist']] },
    { name: 'shell form in Entrypoint with Cmd appended as $0', over: { Entrypoint: ['/bin/sh', '-ec', 'exec /app/processr "$@"'], Cmd: ['sh'] }, expect: [['/app/processr run by /bin/sh -c']] },
    { name: 'WorkingDir-relative ./run.sh', over: { WorkingDir: '/app', Entrypoint: ['./run.sh'] }, expect: [] },
    { name: 'WorkingDir-relative typo', over: { WorkingDir: '/app', Entrypoint: ['./processr'] }, expect: [['entrypoint ./processr', '(/app/processr)', 'did you mean /app/processor?']] },
    { name: 'relative without WorkingDir is relative to /', over: { Entrypoint: ['app/processor'] }, expect: [] },
    { name: 'a symbolic link loop is a finding, not a crash', over: { Entrypoint: ['/app/loop-a'] }, expect: [['entrypoint /app/loop-a', 'symbolic links loop']] },
    { name: 'env runs a program from PATH', over: { Entrypoint: ['/usr/bin/env', 'node', 'server.js'] }, expect: [] },
    { name: 'env with a missing program', over: { Entrypoint: ['/usr/bin/env', 'NODE_ENV=production', 'nodejs'] }, expect: [['the command nodejs run by /usr/bin/env', 'not found']] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const findings = checkImageConfig({ config: config(c.over), tree: imageTree() });
      const got = only(findings, 'PCL-IMG-001');
      assert.equal(got.length, c.expect.length, JSON.stringify(got.map((f) => f.message)));
      c.expect.forEach((facts, i) => assertMentions(got[i], facts));
      for (const f of got) assert.equal(f.severity, 'CRITICAL');
      assert.deepEqual(findings.filter((f) => f.id !== 'PCL-IMG-001'), [], 'no other findings');
    });
  }

  test('no Entrypoint and no Cmd: PCL-IMG-002, medium', () => {
    const got = checkImageConfig({ config: config({ Entrypoint: null, Cmd: null }), tree: imageTree() });
    assert.deepEqual(got.map((f) => [f.id, f.severity]), [['PCL-IMG-002', 'MEDIUM']]);
    assertMentions(got[0], ['no Entrypoint and no Cmd']);
  });

  test('Windows images are not checked for programs', () => {
    assert.deepEqual(checkImageConfig({ config: config({ Entrypoint: ['C:\\app\\server.exe'] }, { os: 'windows' }), tree: imageTree() }), []);
  });
});

describe('DS002: the user', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, true],
    ['', true],
    ['root', true],
    ['0', true],
    ['0:0', true],
    ['root:root', true],
    ['0:1000', true],
    ['1000', false],
    ['app', false],
    ['app:app', false],
    ['1000:0', false],
  ];
  for (const [user, root] of cases) {
    test(`User ${JSON.stringify(user)} ${root ? 'is' : 'is not'} root`, () => {
      const c = config();
      const over = user === undefined ? { ...c, config: { ...c.config, User: undefined } } : config({ User: user });
      const got = checkImageConfig({ config: JSON.parse(JSON.stringify(over)) as ImageConfig, tree: imageTree() });
      assert.deepEqual(got.map((f) => f.id), root ? ['DS002'] : []);
      if (root) {
        assert.equal(got[0]!.severity, 'HIGH');
        assertMentions(got[0], [user === undefined || user === '' ? 'User is not set' : `User is "${user}"`]);
      }
    });
  }
});

describe('DS001: the tag named', () => {
  for (const [tag, expected] of [['latest', ['DS001']], ['1.4.2', []], [undefined, []]] as const) {
    test(`tag ${tag ?? '(a digest)'}`, () => {
      const got = checkImageConfig({ config: config(), tree: imageTree(), ...(tag !== undefined ? { tag } : {}) });
      assert.deepEqual(got.map((f) => f.id), expected);
      if (expected.length > 0) assert.equal(got[0]!.severity, 'MEDIUM');
    });
  }
});

describe('PCL-IMG-003: secrets in ENV, labels and history', () => {
  const ghToken = fake('ghp_', 36);
  const npmToken = fake('npm_', 36);
  const glToken = fake('glpat-', 20);
  const stripe = fake('sk_live_', 24);
  const aws = fake('AKIA', 16).toUpperCase();
  const values = ['hunter2-is-real', 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY', ghToken, npmToken, glToken, stripe, aws, 'old-token-value-123', 'db-pass-42'];
  const c = config({
    Env: [
      'PATH=/usr/local/bin:/usr/bin:/bin',
      'DB_PASSWORD=hunter2-is-real',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI-K7MDENG-bPxRfiCY',
      `DEPLOY_HELPER=${ghToken}`,
      `DATABASE_URL=postgres://app:db-pass-42@db:5432/app`,
      'PASSWORD_FILE=/run/secrets/db',
      'API_KEY=changeme',
      'TOKEN_TTL=3600',
      'SECRET_KEY=',
      'GITHUB_TOKEN=${GITHUB_TOKEN}',
      'GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D',
    ],
    Labels: { 'com.example.billing-key': stripe, 'org.opencontainers.image.source': 'https://github.com/example/app', 'com.example.api_token': '<set at deploy>' },
  }, {
    history: [
      { created_by: '/bin/sh -c #(nop) ADD file:0d82 in / ' },
      { created_by: '|2 NPM_TOKEN=' + npmToken + ' HTTP_PROXY= /bin/sh -c npm ci' },
      { created_by: 'RUN |1 NPM_TOKEN=' + npmToken + ' /bin/sh -c npm run build # buildkit', empty_layer: false },
      { created_by: '/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2-is-real', empty_layer: true },
      { created_by: 'ENV OLD_TOKEN=old-token-value-123', empty_layer: true },
      { created_by: 'RUN /bin/sh -c git clone https://oauth2:' + glToken + '@gitlab.example.com/app.git # buildkit' },
      { created_by: 'RUN |1 NPM_TOKEN= /bin/sh -c true # buildkit' },
      { created_by: 'RUN /bin/sh -c echo ' + aws + ' # buildkit' },
    ],
  });
  const got = checkImageConfig({ config: c, tree: imageTree() });
  const secrets = only(got, 'PCL-IMG-003');

  test('each secret once, named, critical', () => {
    assert.deepEqual(secrets.map((f) => f.message), [
      'ENV DB_PASSWORD holds a secret (by its name); it ships in the image config',
      'ENV AWS_SECRET_ACCESS_KEY holds a secret (by its name); it ships in the image config',
      'ENV DEPLOY_HELPER holds a GitHub token; it ships in the image config',
      'ENV DATABASE_URL holds a URL with a password; it ships in the image config',
      'label com.example.billing-key holds a Stripe secret key',
      'build argument NPM_TOKEN leaked into the image history (entries 2, 3) with a secret value',
      'ENV OLD_TOKEN leaked into the image history (entry 5) with a secret value',
      'the image history (entry 6) contains a GitLab token',
      'the image history (entry 8) contains an AWS access key id',
    ]);
    for (const f of secrets) assert.equal(f.severity, 'CRITICAL');
    assert.deepEqual(got.filter((f) => f.id !== 'PCL-IMG-003'), []);
  });

  test('no value is ever in the output', () => {
    const text = JSON.stringify(got);
    for (const v of values) assert.ok(!text.includes(v), `${v.slice(0, 4)}… is not in the findings`);
  });
});

describe('DS026: the health check', () => {
  const { Healthcheck: _unused, ...withoutHealthcheck } = config().config ?? {};
  const cases: [string, NonNullable<ImageConfig['config']>, string | undefined][] = [
    ['absent', withoutHealthcheck, 'no Healthcheck'],
    ['null', { Healthcheck: null }, 'no Healthcheck'],
    ['NONE', { Healthcheck: { Test: ['NONE'] } }, 'disabled'],
    ['a command', { Healthcheck: { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] } }, undefined],
  ];
  for (const [name, over, fact] of cases) {
    test(name, () => {
      const got = checkImageConfig({ config: { os: 'linux', config: name === 'absent' ? over : { ...config().config, ...over } }, tree: imageTree() });
      assert.deepEqual(got.map((f) => f.id), fact === undefined ? [] : ['DS026']);
      if (fact !== undefined) {
        assert.equal(got[0]!.severity, 'LOW');
        assertMentions(got[0], [fact]);
      }
    });
  }
});

describe('checkDockerfile', () => {
  /** [id, start line, end line, facts] for each finding, in order. */
  type Expect = readonly [string, number, number, readonly string[]];
  const cases: { name: string; text: string; expect: readonly Expect[] }[] = [
    {
      name: 'a clean multi-stage build (stage references, ARG before FROM)',
      text: `# syntax=docker/dockerfile:1
ARG NODE_VERSION=20.11
FROM node:\${NODE_VERSION} AS build
WORKDIR /src
RUN npm ci
FROM build AS test
RUN npm test
FROM --platform=linux/amd64 gcr.io/distroless/nodejs20-debian12@sha256:0000000000000000000000000000000000000000000000000000000000000000
COPY --from=build /src /app
USER 1000
HEALTHCHECK CMD ["/nodejs/bin/node", "/app/health.js"]
CMD ["/app/server.js"]
`,
      expect: [],
    },
    {
      name: 'DS001 in any stage: no tag, :latest, a registry port is not a tag; variables expanded',
      text: `ARG BASE=debian
ARG UNKNOWN
FROM node AS build
FROM localhost:5000/tools AS tools
FROM \${BASE}
FROM \${UNKNOWN}:1.0
FROM \${UNKNOWN}
FROM scratch
FROM alpine:latest
USER app
HEALTHCHECK CMD true
`,
      expect: [
        ['DS001', 3, 3, ['FROM node', 'no tag']],
        ['DS001', 4, 4, ['FROM localhost:5000/tools', 'no tag']],
        ['DS001', 5, 5, ['FROM ${BASE} (debian)', 'no tag']],
        ['DS001', 9, 9, ['FROM alpine:latest', 'latest tag']],
      ],
    },
    {
      name: 'DS002: the final stage has no USER (a builder stage has one)',
      text: `FROM golang:1.22 AS build
USER builder
FROM alpine:3.20
HEALTHCHECK CMD true
`,
      expect: [['DS002', 3, 3, ['final stage of Dockerfile (FROM alpine:3.20, line 3)', 'has no USER']]],
    },
    {
      name: 'DS002: the last USER is root in a form other than "root"',
      text: `FROM alpine:3.20
USER root
USER app
USER 0:0
HEALTHCHECK CMD true
`,
      expect: [['DS002', 4, 4, ['last USER', '"0:0"']]],
    },
    {
      name: 'DS002: root, then a user: fine; a USER from an unknown ARG is not judged',
      text: `FROM alpine:3.20
ARG UID
USER root
USER \${UID}
HEALTHCHECK CMD true
`,
      expect: [],
    },
    {
      name: 'lower-case instructions',
      text: `from alpine
user root
`,
      expect: [
        ['DS001', 1, 1, ['FROM alpine', 'no tag']],
        ['DS026', 1, 1, ['has no HEALTHCHECK']],
        ['DS002', 2, 2, ['"root"']],
      ],
    },
    {
      name: 'continuation lines, comments inside them, HEALTHCHECK NONE',
      text: `FROM alpine:3.20
RUN apk add --no-cache \\
    # a comment inside a continuation
    curl \\

    jq
ENV APP_HOME=/app \\
    DB_PASSWORD="s3cr3t value"
USER app
HEALTHCHECK NONE
`,
      expect: [
        ['PCL-IMG-003', 7, 8, ['ENV DB_PASSWORD', 'a secret']],
        ['DS026', 10, 10, ['HEALTHCHECK NONE']],
      ],
    },
    {
      name: '# escape=` (backslashes are plain characters)',
      text: '# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nENV TOOLS=C:\\tools `\n    SERVICE_TOKEN=tok-98765-live\nUSER ContainerUser\nHEALTHCHECK CMD ["ping", "-n", "1", "localhost"]\n',
      expect: [['PCL-IMG-003', 3, 4, ['ENV SERVICE_TOKEN']]],
    },
    {
      name: 'a directive after an instruction is a comment: \\ stays the escape',
      text: 'FROM alpine:3.20\n# escape=`\nENV A=1 \\\n    API_KEY=k-123456789\nUSER app\nHEALTHCHECK CMD true\n',
      expect: [['PCL-IMG-003', 3, 4, ['ENV API_KEY']]],
    },
    {
      name: 'JSON form: valid is fine, single quotes run as a shell string',
      text: `FROM node:20
USER node
HEALTHCHECK CMD ["node", "health.js"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ['node', 'server.js']
`,
      expect: [['PCL-IMG-001', 5, 5, ["CMD ['node', 'server.js']", 'not a JSON array']]],
    },
    {
      name: 'ARG and legacy ENV secrets; ARG without a default and $-references are fine',
      text: `FROM node:20
ARG NPM_TOKEN
ARG GH_TOKEN=\${NPM_TOKEN}
ARG REGISTRY_PASSWORD=hunter2-real
ENV API_KEY s3cr3t value 123
LABEL com.example.password="p@ss-w0rd"
USER node
HEALTHCHECK CMD true
`,
      expect: [
        ['PCL-IMG-003', 4, 4, ['ARG REGISTRY_PASSWORD']],
        ['PCL-IMG-003', 5, 5, ['ENV API_KEY']],
        ['PCL-IMG-003', 6, 6, ['LABEL com.example.password']],
      ],
    },
    {
      name: 'heredoc bodies are not instructions',
      text: `FROM alpine:3.20
RUN <<EOF
USER root
FROM evil
EOF
COPY <<-"END" /etc/motd
\tHEALTHCHECK NONE
\tEND
USER app
HEALTHCHECK CMD true
`,
      expect: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = checkDockerfile('Dockerfile', c.text);
      assert.deepEqual(
        got.map((f) => [f.id, f.lines?.start, f.lines?.end]),
        c.expect.map(([id, start, end]) => [id, start, end]),
        JSON.stringify(got.map((f) => f.message)),
      );
      c.expect.forEach(([, , , facts], i) => assertMentions(got[i], facts));
    });
  }

  test('secret values from a Dockerfile are not in the output', () => {
    const text = JSON.stringify(checkDockerfile('Dockerfile', 'FROM node:20\nENV DB_PASSWORD=hunter2-real NPM_AUTH=' + fake('npm_', 36) + '\n'));
    assert.ok(!text.includes('hunter2-real') && !text.includes('npm_Zq7'));
    assert.ok(text.includes('ENV DB_PASSWORD') && text.includes('ENV NPM_AUTH holds an npm token'));
  });

  test('severities and Trivy ids', () => {
    const got = checkDockerfile('Dockerfile', 'FROM alpine\nENV TOKEN=abc-123-def\n');
    assert.deepEqual(
      got.map((f) => [f.id, f.severity, f.title, f.primaryUrl]),
      [
        ['DS001', 'MEDIUM', "':latest' tag used", 'https://avd.aquasec.com/misconfig/ds001'],
        ['DS002', 'HIGH', "Image user should not be 'root'", 'https://avd.aquasec.com/misconfig/ds002'],
        ['DS026', 'LOW', 'No HEALTHCHECK defined', 'https://avd.aquasec.com/misconfig/ds026'],
        ['PCL-IMG-003', 'CRITICAL', 'Secret in the image configuration', undefined],
      ],
    );
  });

  test('an empty file, or one without FROM, gives nothing', () => {
    assert.deepEqual(checkDockerfile('Dockerfile', ''), []);
    assert.deepEqual(checkDockerfile('Dockerfile', '# nothing\n\n'), []);
  });
});
