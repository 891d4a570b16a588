/**
 * The secret scanner. Every fake secret is assembled at run time from a seeded generator, so the
 * repository holds no token-shaped literal (GitHub push protection would flag one).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecretFinding } from '../../src/scan/model.js';
import { SECRET_RULES, SECRETS_VERSION, scanSecrets, wantsSecretScan, type SecretRule } from '../../src/scan/secrets.js';

/** mulberry32: deterministic, so a failure reproduces. */
function generator(seed: number): (alphabet: string, n: number) => string {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (alphabet, n) => Array.from({ length: n }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = ALNUM + '+/';
const rand = generator(20240601);

// Prefixes split so that no line of this file looks like a token.
const P = {
  akia: 'AK' + 'IA',
  asia: 'AS' + 'IA',
  ghp: 'gh' + 'p_',
  gho: 'gh' + 'o_',
  ghs: 'gh' + 's_',
  ghr: 'gh' + 'r_',
  ghPat: 'github' + '_pat_',
  glpat: 'gl' + 'pat-',
  hf: 'h' + 'f_',
  xoxb: 'xo' + 'xb-',
  skLive: 's' + 'k_live_',
  pkTest: 'p' + 'k_test_',
  aiza: 'AI' + 'za',
  npm: 'np' + 'm_',
  pypi: 'py' + 'pi-AgEIcHlwaS5vcmc',
  slackHook: 'https://hooks.' + 'slack.com/services/',
  begin: '-----' + 'BEGIN',
  end: '-----' + 'END',
};

const S = {
  awsId: P.akia + rand(UPPER + DIGITS, 16),
  awsStsId: P.asia + rand(UPPER + DIGITS, 16),
  awsSecret: rand(B64, 40),
  ghp: P.ghp + rand(ALNUM, 36),
  gho: P.gho + rand(ALNUM, 36),
  ghs: P.ghs + rand(ALNUM, 36),
  ghr: P.ghr + rand(ALNUM, 76),
  ghPat: P.ghPat + rand(ALNUM, 22) + '_' + rand(ALNUM, 59),
  glpat: P.glpat + rand(ALNUM, 20),
  hf: P.hf + rand(ALNUM, 34),
  slack: P.xoxb + rand(DIGITS, 12) + '-' + rand(DIGITS, 13) + '-' + rand(ALNUM, 24),
  slackHookPath: 'T' + rand(UPPER + DIGITS, 8) + '/B' + rand(UPPER + DIGITS, 8) + '/' + rand(ALNUM, 24),
  stripe: P.skLive + rand(ALNUM, 24),
  stripePk: P.pkTest + rand(ALNUM, 24),
  google: P.aiza + rand(ALNUM + '-_', 35),
  npm: P.npm + rand(ALNUM, 36),
  pypi: P.pypi + rand(ALNUM + '-_', 120),
  jwt: 'ey' + 'J' + rand(ALNUM, 30) + '.ey' + 'J' + rand(ALNUM, 60) + '.' + rand(ALNUM + '-_', 43),
  password: rand(ALNUM, 10) + '9' + rand(ALNUM + '!#%', 13),
  apiKey: rand(LOWER + DIGITS, 32),
};

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const scan = (text: string, path = 'app/config.txt'): SecretFinding[] => scanSecrets(path, enc(text));
const stars = (s: string): string => '*'.repeat(s.length);
/** The findings, reduced to what the tests compare. */
const brief = (fs: readonly SecretFinding[]): string[] => fs.map((f) => `${f.ruleId} ${f.startLine}-${f.endLine} ${f.match}`);

function assertNoSecret(findings: readonly SecretFinding[], ...secrets: string[]): void {
  const json = JSON.stringify(findings);
  for (const s of secrets) {
    assert.ok(!json.includes(s), `the output holds the secret ${s.slice(0, 6)}…`);
    // Nor any long piece of it.
    for (let i = 0; i + 12 <= s.length; i += 6) assert.ok(!json.includes(s.slice(i, i + 12)), 'the output holds a piece of a secret');
  }
}

/** One line per rule: the line, the secret in it, the rule that must find it (and nothing else). */
const POSITIVES: { ruleId: string; line: string; secret: string }[] = [
  { ruleId: 'aws-access-key-id', line: `aws_access_key_id = ${S.awsId}`, secret: S.awsId },
  { ruleId: 'aws-access-key-id', line: `"AccessKeyId": "${S.awsStsId}",`, secret: S.awsStsId },
  { ruleId: 'aws-secret-access-key', line: `aws_secret_access_key = ${S.awsSecret}`, secret: S.awsSecret },
  { ruleId: 'aws-secret-access-key', line: `export AWS_SECRET_ACCESS_KEY="${S.awsSecret}"`, secret: S.awsSecret },
  { ruleId: 'aws-secret-access-key', line: `  awsSecretAccessKey: '${S.awsSecret}'`, secret: S.awsSecret },
  { ruleId: 'github-pat', line: `GITHUB_TOKEN=${S.ghp}`, secret: S.ghp },
  { ruleId: 'github-oauth', line: `oauth = "${S.gho}"`, secret: S.gho },
  { ruleId: 'github-app-token', line: `installation: ${S.ghs}`, secret: S.ghs },
  { ruleId: 'github-refresh-token', line: `refresh ${S.ghr}`, secret: S.ghr },
  { ruleId: 'github-fine-grained-pat', line: `git clone https://x:${S.ghPat}@github.com/o/r.git`, secret: S.ghPat },
  { ruleId: 'gitlab-pat', line: `CI_PUSH=${S.glpat}`, secret: S.glpat },
  { ruleId: 'hugging-face-access-token', line: `HF = '${S.hf}'`, secret: S.hf },
  { ruleId: 'slack-access-token', line: `slack_bot: ${S.slack}`, secret: S.slack },
  { ruleId: 'slack-web-hook', line: `url: ${P.slackHook}${S.slackHookPath}`, secret: S.slackHookPath },
  { ruleId: 'stripe-secret-token', line: `Stripe.api_key = "${S.stripe}"`, secret: S.stripe },
  { ruleId: 'stripe-publishable-token', line: `const pk = '${S.stripePk}';`, secret: S.stripePk },
  { ruleId: 'gcp-api-key', line: `maps.key=${S.google}`, secret: S.google },
  { ruleId: 'npm-access-token', line: `//registry.npmjs.org/:_authToken=${S.npm}`, secret: S.npm },
  { ruleId: 'pypi-upload-token', line: `password = ${S.pypi}`, secret: S.pypi },
  { ruleId: 'jwt-token', line: `Authorization: Bearer ${S.jwt}`, secret: S.jwt },
  { ruleId: 'generic-secret', line: `DB_PASSWORD=${S.password}`, secret: S.password },
  { ruleId: 'generic-secret', line: `  "client_secret": "${S.apiKey}",`, secret: S.apiKey },
  { ruleId: 'generic-secret', line: `api_key: ${S.apiKey}`, secret: S.apiKey },
  { ruleId: 'generic-secret', line: `$config['ApiKey'] => '${S.apiKey}';`, secret: S.apiKey },
  { ruleId: 'generic-secret', line: `export SERVICE_TOKEN := "${S.apiKey}"`, secret: S.apiKey },
];

test('every rule finds its secret, with exact line and a redacted match', () => {
  for (const { ruleId, line, secret } of POSITIVES) {
    const findings = scan(`# settings\n\n${line}\n# end\n`);
    const expected = line.replace(secret, stars(secret)).trim();
    assert.deepEqual(brief(findings), [`${ruleId} 3-3 ${expected}`], line);
    assertNoSecret(findings, secret);
    const rule = SECRET_RULES.find((r) => r.id === ruleId)!;
    assert.deepEqual(
      { category: findings[0]!.category, title: findings[0]!.title, severity: findings[0]!.severity, path: findings[0]!.path },
      { category: rule.category, title: rule.title, severity: rule.severity, path: 'app/config.txt' },
    );
  }
  // The prefilter looks at every few bytes: a keyword must be found at any alignment.
  for (const { ruleId, line, secret } of POSITIVES) {
    for (let shift = 1; shift <= 4; shift++) {
      const pad = '#'.repeat(shift);
      assert.deepEqual(scan(`${pad}\n${pad} ${line}`).map((f) => `${f.ruleId} ${f.startLine}`), [`${ruleId} 2`], `${shift}: ${line}`);
    }
    assertNoSecret(scan(line), secret);
  }
  const covered = new Set(POSITIVES.map((p) => p.ruleId));
  for (const r of SECRET_RULES) if (r.id !== 'private-key' && r.id !== 'gcp-service-account') assert.ok(covered.has(r.id), `no positive case for ${r.id}`);
});

/** A PEM block: header, `lines` lines of base64, footer. */
function pem(label: string, lines: number, headers: readonly string[] = []): { text: string; body: string[] } {
  const body = Array.from({ length: lines }, (_, i) => (i === lines - 1 ? rand(B64, 20) + '==' : rand(B64, 64)));
  const text = [`${P.begin} ${label}-----`, ...headers, ...(headers.length > 0 ? [''] : []), ...body, `${P.end} ${label}-----`].join('\n');
  return { text, body };
}

test('private keys: the BEGIN line is reported over the whole block, and the body never appears', () => {
  for (const label of ['RSA PRIVATE KEY', 'EC PRIVATE KEY', 'DSA PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'PGP PRIVATE KEY BLOCK']) {
    const { text, body } = pem(label, 8);
    const findings = scan(`first line\n${text}\nlast line\n`, 'root/.ssh/id_rsa');
    assert.deepEqual(brief(findings), [`private-key 2-11 ${P.begin} ${label}-----`], label);
    assertNoSecret(findings, ...body);
  }
  // Legacy encrypted PEM with headers, at the very start of a file without a final newline.
  const legacy = pem('RSA PRIVATE KEY', 5, ['Proc-Type: 4,ENCRYPTED', 'DEK-Info: AES-128-CBC,' + rand('0123456789ABCDEF', 32)]);
  assert.deepEqual(brief(scan(legacy.text, 'etc/ssl/private/k.pem')), [`private-key 1-10 ${P.begin} RSA PRIVATE KEY-----`]);
});

test('a JSON-escaped key on one line is redacted in place, and a service-account file is reported too', () => {
  const body = Array.from({ length: 4 }, () => rand(B64, 64)).join('\\n');
  const key = `${P.begin} PRIVATE KEY-----\\n${body}\\n${P.end} PRIVATE KEY-----\\n`;
  const json = `{\n  "type": "service_account",\n  "project_id": "p",\n  "private_key": "${key}",\n  "client_email": "a@p.iam.gserviceaccount.com"\n}\n`;
  const findings = scan(json, 'app/sa.json');
  assert.deepEqual(
    findings.map((f) => `${f.ruleId} ${f.startLine}-${f.endLine}`),
    ['gcp-service-account 2-2', 'private-key 4-4'],
  );
  assert.equal(findings[0]!.match, '"type": "***************",');
  const m = findings[1]!.match;
  assert.ok(m.startsWith(`"private_key": "${P.begin} PRIVATE KEY-----`), m);
  assert.ok(m.length <= 200 && /\*{100,}/.test(m), m);
  assertNoSecret(findings, ...body.split('\\n'));
});

test('near misses: example keys, placeholders, public material, low entropy, code', () => {
  const misses = [
    // AWS's documented example keys (Trivy allow-lists anything that says EXAMPLE).
    `aws_access_key_id = ${P.akia}IOSFODNN7EXAMPLE`,
    `aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY${'EXAMPLE'}KEY`,
    `token: ${P.ghp}${'x'.repeat(36)}`,
    `token: ${P.ghp}${'X'.repeat(36)}`,
    `GITHUB_TOKEN=${P.ghp}abcdefghijklmnopqrstuvwxyz0123456789`,
    'password: ${DB_PASSWORD_FROM_THE_ENVIRONMENT}',
    'api_key = "<your-api-key-goes-here-12345>"',
    'password=changeme1234567890abc',
    'secret = "aaaaaaaaaaaaaaaaaaaaaaaaaaaa1"',
    'SECRET_KEY = os.environ["SECRET_KEY"]',
    'token = self.tokenizer.convert_tokens_to_ids(x)',
    'token_ids = tokenizer.encode(text, max_length=512)',
    'token_url = "https://oauth2.googleapis.com/token"',
    'password_file = "/etc/app/secrets/password2.txt"',
    'access_key = module2.settings.access_key_name',
    'token_name: "oauth2_access_token_v1_name"',
    'secret: "short1"',
    'PasswordAuthentication yes',
    `id: X${S.awsId}`,
    `id = ${S.awsId}Z`,
    `${P.ghp}${rand(ALNUM, 35)}`,
    `${P.begin} RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n...\n${P.end} RSA PRIVATE KEY-----`,
    `${P.begin} PUBLIC KEY-----\n${rand(B64, 64)}\n${rand(B64, 64)}\n${P.end} PUBLIC KEY-----`,
    `${P.begin} CERTIFICATE-----\n${rand(B64, 64)}\n${rand(B64, 64)}\n${P.end} CERTIFICATE-----`,
    `${P.begin} RSA PRIVATE KEY-----\n${rand(B64, 64)}\n(no end: truncated)`,
    // A key whose body lives elsewhere (code that writes PEM headers).
    `out.write("${P.begin} " + kind + " PRIVATE KEY-----")`,
    `ssh-rsa ${rand(B64, 300)} user@host`,
  ];
  for (const text of misses) assert.deepEqual(brief(scan(`${text}\n`)), [], text);
});

test('binary content is skipped, even with a token inside', () => {
  const bytes = enc(`\x7fELF\x00\x01\x02 junk ${S.ghp} junk\n`);
  assert.deepEqual(scanSecrets('usr/local/bin/tool', bytes), []);
  // A NUL after the first 8 KiB does not make the file binary.
  const late = enc(`${'a'.repeat(9000)}\ntoken ${S.ghp}\n\x00`);
  assert.deepEqual(brief(scanSecrets('app/x.txt', late)), [`github-pat 2-2 token ${stars(S.ghp)}`]);
  assert.deepEqual(scanSecrets('empty', new Uint8Array(0)), []);
});

test('CRLF lines: line numbers count LF, matches carry no CR', () => {
  const { text, body } = pem('OPENSSH PRIVATE KEY', 6);
  const crlf = `one\r\ntwo GITHUB=${S.ghp}\r\nthree\r\n${text.replace(/\n/g, '\r\n')}\r\nDB_PASSWORD=${S.password}\r\n`;
  const findings = scan(crlf);
  assert.deepEqual(brief(findings), [
    `github-pat 2-2 two GITHUB=${stars(S.ghp)}`,
    `private-key 4-11 ${P.begin} OPENSSH PRIVATE KEY-----`,
    `generic-secret 12-12 DB_PASSWORD=${stars(S.password)}`,
  ]);
  assertNoSecret(findings, S.ghp, S.password, ...body);
});

test('a very long line gives a match of at most 200 characters around the secret', () => {
  const filler = rand(LOWER + ' ', 100_000);
  const findings = scan(`var a="${filler}",k="${S.stripe}",b="${filler}";\n`, 'app/bundle.min.js');
  assert.equal(findings.length, 1);
  const f = findings[0]!;
  assert.equal(f.ruleId, 'stripe-secret-token');
  assert.ok(f.match.length <= 200, `${f.match.length}`);
  assert.ok(f.match.includes(`k="${stars(S.stripe)}"`), f.match);
  assertNoSecret(findings, S.stripe);
  // A secret longer than the window is cut, never shown.
  const long = P.pypi + rand(ALNUM, 600);
  const g = scan(`${filler} ${long} ${filler}\n`);
  assert.deepEqual(g.map((x) => x.ruleId), ['pypi-upload-token']);
  assert.ok(g[0]!.match.length <= 200 && /^[a-z ]*\*+$/.test(g[0]!.match), g[0]!.match);
  assertNoSecret(g, long);
});

test('several secrets on one line: one finding each, every match masks all of them', () => {
  const line = `env AWS_ACCESS_KEY_ID=${S.awsId} AWS_SECRET_ACCESS_KEY=${S.awsSecret} GH=${S.ghp}`;
  const findings = scan(`${line}\n`);
  const masked = line.replace(S.awsId, stars(S.awsId)).replace(S.awsSecret, stars(S.awsSecret)).replace(S.ghp, stars(S.ghp));
  assert.deepEqual(brief(findings), [`aws-access-key-id 1-1 ${masked}`, `aws-secret-access-key 1-1 ${masked}`, `github-pat 1-1 ${masked}`]);
  assertNoSecret(findings, S.awsId, S.awsSecret, S.ghp);
  // The same token twice on a line: two findings, neither shows it.
  const twice = scan(`a=${S.glpat} b=${S.glpat}\n`);
  assert.deepEqual(brief(twice), [`gitlab-pat 1-1 a=${stars(S.glpat)} b=${stars(S.glpat)}`, `gitlab-pat 1-1 a=${stars(S.glpat)} b=${stars(S.glpat)}`]);
});

test('secrets across lines keep their own line numbers; a secret at offset 0 and at EOF without newline', () => {
  const text = `${S.npm}\n\n\nx\nhf: ${S.hf}\n${'\n'.repeat(100)}slack ${S.slack}`;
  assert.deepEqual(brief(scan(text)), [
    `npm-access-token 1-1 ${stars(S.npm)}`,
    `hugging-face-access-token 5-5 hf: ${stars(S.hf)}`,
    `slack-access-token 106-106 slack ${stars(S.slack)}`,
  ]);
});

test('non-ASCII text on the line is decoded as UTF-8 in the match', () => {
  assert.deepEqual(brief(scan(`# clé d'accès — ${S.ghp} ✓\n`)), [`github-pat 1-1 # clé d'accès — ${stars(S.ghp)} ✓`]);
});

test('generic keys match in any case, and yield to a specific rule on the same secret', () => {
  assert.deepEqual(brief(scan(`PASSWORD: ${S.password}\n`)), [`generic-secret 1-1 PASSWORD: ${stars(S.password)}`]);
  assert.deepEqual(brief(scan(`ApiToken = "${S.apiKey}"\n`)), [`generic-secret 1-1 ApiToken = "${stars(S.apiKey)}"`]);
  // github-pat and generic both match GITHUB_TOKEN=ghp_...: only the specific rule reports it.
  assert.deepEqual(scan(`GITHUB_TOKEN=${S.ghp}\n`).map((f) => f.ruleId), ['github-pat']);
});

test('custom rules: keywords are optional, case-insensitive unless said otherwise', () => {
  const base = { category: 'Custom', title: 'Custom', severity: 'LOW' as const };
  const anywhere: SecretRule = { ...base, id: 'c-any', keywords: [], regex: /zz(?<secret>[0-9]{6})zz/ };
  const ci: SecretRule = { ...base, id: 'c-ci', keywords: ['magic'], regex: /magic=(?<secret>[0-9]{6})/i };
  const cs: SecretRule = { ...base, id: 'c-cs', keywords: ['Magic'], caseSensitiveKeywords: true, regex: /magic=(?<secret>[0-9]{6})/i };
  const text = 'a zz482913zz\nMAGIC=739104\nmagic=739105\n';
  assert.deepEqual(brief(scanSecrets('f', enc(text), [anywhere, ci, cs])), ['c-any 1-1 a zz******zz', 'c-ci 2-2 MAGIC=******', 'c-ci 3-3 magic=******']);
  assert.deepEqual(brief(scanSecrets('f', enc('Magic=902741\n'), [cs])), ['c-cs 1-1 Magic=******']);
});

test('rules are well-formed and the version is a positive integer', () => {
  assert.ok(Number.isInteger(SECRETS_VERSION) && SECRETS_VERSION > 0);
  const ids = SECRET_RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const r of SECRET_RULES) {
    assert.ok(r.keywords.length > 0, r.id);
    assert.ok(!r.regex.global && !r.regex.sticky, `${r.id}: the scanner adds its own flags`);
  }
});

test('wantsSecretScan: typical image paths', () => {
  const REG = 0o100644;
  const yes = ['etc/app/config.yaml', '/root/.aws/credentials', './home/app/.env', 'app/settings.py', 'root/.ssh/id_ed25519', 'opt/app/application.properties', 'root/.npmrc', 'usr/local/bin/entrypoint.sh', 'var/cache/debconf/passwords.dat', 'etc/ssl/private/server.key', 'usr/local/lib/node-app/server.js'];
  const no = [
    'usr/share/doc/bash/README', 'usr/share/man/man1/ls.1.gz', 'usr/lib/python3.11/os.py', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/include/stdio.h',
    'usr/share/locale/de/LC_MESSAGES/x.mo', 'usr/share/zoneinfo/Europe/Paris', 'lib/terminfo/x/xterm', 'var/lib/dpkg/status', 'lib/apk/db/installed', 'var/lib/rpm/rpmdb.sqlite',
    'usr/local/go/src/net/http/server.go', 'usr/local/lib/python3.12/site-packages/x.py', 'app/node_modules/x/index.js', 'app/.git/config', 'app/vendor/x/y.go',
    'app/static/logo.png', 'app/fonts/a.woff2', 'app/lib/libx.so', 'app/lib/libx.so.1.2', 'app/archive.tar.gz', 'app/App.class', 'app/x.pyc', 'app/README.md',
    'app/package-lock.json', 'app/go.sum', 'app/tests/fixtures/key.pem', 'app/foo_test.go', 'app/examples/config.yaml', 'proc/self/environ', 'app/web/locales/en.json',
  ];
  for (const p of yes) assert.equal(wantsSecretScan(p, 1000, REG), true, p);
  for (const p of no) assert.equal(wantsSecretScan(p, 1000, REG), false, p);
  assert.equal(wantsSecretScan('etc/app.conf', 0, REG), false, 'empty');
  assert.equal(wantsSecretScan('etc/app.conf', 5, REG), false, 'too small for a secret');
  assert.equal(wantsSecretScan('etc/app.conf', 11 * 1024 * 1024, REG), false, 'over 10 MiB');
  assert.equal(wantsSecretScan('etc/app.conf', 1000, 0o644), true, 'permission bits only');
  assert.equal(wantsSecretScan('etc/app.conf', 1000, 0o120777), false, 'symlink');
  assert.equal(wantsSecretScan('etc/app.conf', 1000, 0o040755), false, 'directory');
});
