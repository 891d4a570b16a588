import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, ENV_KEYS, loadConfig, parseDuration, parseSize, type ConfigSources } from '../../src/config/index.js';

const CWD = '/srv/portcullis';

function load(opts: { file?: string; env?: Record<string, string>; flags?: { addr?: string; data?: string }; cwd?: string } = {}) {
  const sources: ConfigSources = {
    ...(opts.file !== undefined ? { file: { path: 'config.yml', text: opts.file } } : {}),
    env: opts.env ?? {},
    flags: opts.flags ?? {},
    cwd: opts.cwd ?? CWD,
  };
  return loadConfig(sources);
}

/** Asserts loading fails with a ConfigError whose message starts with `prefix`. */
function fails(opts: Parameters<typeof load>[0], prefix: string | RegExp): ConfigError {
  let caught: unknown;
  assert.throws(() => load(opts), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'CONFIG_INVALID');
  if (typeof prefix === 'string') assert.ok(caught.message.startsWith(prefix), `message ${JSON.stringify(caught.message)} should start with ${JSON.stringify(prefix)}`);
  else assert.match(caught.message, prefix);
  return caught;
}

describe('loadConfig: defaults', () => {
  test('no file, no environment, no flags', () => {
    const c = load();
    assert.equal(c.addr, '0.0.0.0:5000');
    assert.equal(c.data, '/srv/portcullis/data');
    assert.equal(c.database.kind, 'sqlite');
    assert.equal(c.database.path, '/srv/portcullis/data/portcullis.db');
    assert.equal(c.database.url, undefined);
    assert.equal(c.database.schema, 'portcullis');
    assert.equal(c.database.maxConnections, 10);
    assert.equal(c.storage.kind, 'filesystem');
    assert.equal(c.storage.path, '/srv/portcullis/data/storage');
    assert.equal(c.log.level, 'info');
    assert.equal(c.auth.service, 'portcullis');
    assert.equal(c.auth.tokenTtl, 300_000);
    assert.equal(c.auth.trustProxy, 0, 'no proxy trusted');
    assert.equal(c.auth.maxFailedLogins, 10);
    assert.equal(c.auth.failedLoginWindow, 300_000);
    assert.equal(c.registry.maxBlobSize, 20 * 1024 * 1024 * 1024);
    assert.equal(c.gc.grace, 3_600_000);
    assert.equal(c.gc.uploadTtl, 86_400_000);
    assert.equal(c.gc.interval, 0);
    assert.equal(c.gc.deleteUntagged, false);
    assert.equal(c.projects.creation, 'everyone');
    assert.equal(c.externalUrl, undefined);
    assert.equal(c.tls, undefined);
  });

  test('scanning: on, the DB under the data directory, 7 days before it is stale; the environment and relative paths', () => {
    assert.deepEqual(load().scan, { enabled: true, db: '/srv/portcullis/data/advisory.db', maxDbAge: 7 * 86_400_000, update: { interval: 12 * 3_600_000 } });
    assert.deepEqual(load({ file: 'scan:\n  db: dbs/a.db\n  maxDbAge: 36h\n', env: { PORTCULLIS_SCAN: 'false' } }).scan, { enabled: false, db: `${CWD}/dbs/a.db`, maxDbAge: 36 * 3_600_000, update: { interval: 12 * 3_600_000 } });
    assert.equal(load({ env: { PORTCULLIS_SCAN_DB: '/var/lib/vuln/advisory.db', PORTCULLIS_SCAN: '1' } }).scan.db, '/var/lib/vuln/advisory.db');
  });

  test('scan.update: every 12h by default; 0 turns it off; feeds replace the official set, from the file or the environment', () => {
    assert.deepEqual(load({ file: 'scan:\n  update:\n    interval: 0\n' }).scan.update, { interval: 0 });
    assert.deepEqual(load({ env: { PORTCULLIS_SCAN_UPDATE_INTERVAL: '6h' } }).scan.update, { interval: 6 * 3_600_000 });
    assert.deepEqual(load({ file: 'scan:\n  update:\n    feeds: [https://mirror.example.com/debian.json]\n' }).scan.update.feeds, ['https://mirror.example.com/debian.json']);
    assert.deepEqual(load({ env: { PORTCULLIS_SCAN_UPDATE_FEEDS: 'https://m.example/a.json, https://m.example/b.zip\nhttp://10.0.0.5/c.json' } }).scan.update.feeds, [
      'https://m.example/a.json',
      'https://m.example/b.zip',
      'http://10.0.0.5/c.json',
    ]);
    fails({ file: 'scan:\n  update:\n    interval: 500ms\n' }, /scan\.update\.interval: 0 \(off\) or at least 1s/);
    fails({ env: { PORTCULLIS_SCAN_UPDATE_FEEDS: 'ftp://mirror.example.com/a.json' } }, /environment variable PORTCULLIS_SCAN_UPDATE_FEEDS: scan\.update\.feeds\.0/);
    fails({ file: 'scan:\n  update:\n    feeds: []\n' }, /scan\.update\.feeds: at least one feed URL/);
    fails({ file: 'scan:\n  update:\n    every: 1h\n' }, /scan\.update\.every: unknown setting/);
  });

  test('an empty file and a file of only comments are the defaults', () => {
    assert.deepEqual(load({ file: '' }), load());
    assert.deepEqual(load({ file: '# nothing here\n' }), load());
  });

  test('the result is frozen', () => {
    assert.ok(Object.isFrozen(load()));
  });

  test('data is resolved against cwd; an absolute data is kept', () => {
    assert.equal(load({ cwd: '/home/u', file: 'data: ../store' }).data, '/home/store');
    assert.equal(load({ file: 'data: /var/lib/portcullis' }).data, '/var/lib/portcullis');
    const c = load({ file: 'data: /var/lib/portcullis' });
    assert.equal(c.database.path, '/var/lib/portcullis/portcullis.db');
    assert.equal(c.storage.path, '/var/lib/portcullis/storage');
  });

  test('explicit database.path and storage.path: absolute kept, relative resolved against cwd', () => {
    const c = load({ file: 'database:\n  path: /db/p.db\nstorage:\n  path: blobs\n' });
    assert.equal(c.database.path, '/db/p.db');
    assert.equal(c.storage.path, '/srv/portcullis/blobs');
  });

  test('tls paths are resolved against cwd', () => {
    const c = load({ file: 'tls:\n  cert: certs/tls.crt\n  key: /etc/tls.key\n' });
    assert.deepEqual(c.tls, { cert: '/srv/portcullis/certs/tls.crt', key: '/etc/tls.key' });
  });
});

describe('loadConfig: precedence defaults < file < environment < flags', () => {
  test('file beats defaults', () => {
    const c = load({ file: 'addr: 127.0.0.1:6000\nauth:\n  tokenTtl: 10m\ngc:\n  grace: 2h\n  deleteUntagged: true\n' });
    assert.equal(c.addr, '127.0.0.1:6000');
    assert.equal(c.auth.tokenTtl, 600_000);
    assert.equal(c.gc.grace, 7_200_000);
    assert.equal(c.gc.deleteUntagged, true);
    // Untouched siblings keep their defaults.
    assert.equal(c.auth.failedLoginWindow, 300_000);
    assert.equal(c.gc.uploadTtl, 86_400_000);
  });

  test('PORTCULLIS_ADDR beats the file', () => {
    assert.equal(load({ file: 'addr: 127.0.0.1:6000', env: { PORTCULLIS_ADDR: ':7000' } }).addr, ':7000');
  });

  test('--addr beats PORTCULLIS_ADDR and the file', () => {
    assert.equal(load({ file: 'addr: 127.0.0.1:6000', env: { PORTCULLIS_ADDR: ':7000' }, flags: { addr: '[::1]:8000' } }).addr, '[::1]:8000');
  });

  test('--data beats PORTCULLIS_DATA beats the file, and derived paths follow', () => {
    const c = load({ file: 'data: /from/file', env: { PORTCULLIS_DATA: '/from/env' }, flags: { data: 'from-flag' } });
    assert.equal(c.data, '/srv/portcullis/from-flag');
    assert.equal(c.database.path, '/srv/portcullis/from-flag/portcullis.db');
    assert.equal(load({ file: 'data: /from/file', env: { PORTCULLIS_DATA: '/from/env' } }).data, '/from/env');
  });

  test('environment values are merged into the file\'s sections, not replacing them', () => {
    const c = load({ file: 'auth:\n  service: registry.example\n  tokenTtl: 1h\n', env: { PORTCULLIS_TOKEN_TTL: '90' } });
    assert.equal(c.auth.tokenTtl, 90_000, 'a bare number in the environment is seconds');
    assert.equal(c.auth.service, 'registry.example');
  });

  test('an empty environment variable is ignored', () => {
    assert.equal(load({ file: 'addr: 127.0.0.1:6000', env: { PORTCULLIS_ADDR: '' } }).addr, '127.0.0.1:6000');
  });

  test('environment durations and sizes are parsed', () => {
    const c = load({ env: { PORTCULLIS_GC_GRACE: '30m', PORTCULLIS_GC_INTERVAL: '6h', PORTCULLIS_UPLOAD_TTL: '2d', PORTCULLIS_MAX_BLOB_SIZE: '512MiB' } });
    assert.equal(c.gc.grace, 1_800_000);
    assert.equal(c.gc.interval, 21_600_000);
    assert.equal(c.gc.uploadTtl, 172_800_000);
    assert.equal(c.registry.maxBlobSize, 536_870_912);
  });

  // The number of trusted proxies: true is one, a number counts them.
  const trustProxy: [string, number][] = [['true', 1], ['1', 1], ['2', 2], ['false', 0], ['0', 0]];
  for (const [value, expected] of trustProxy) {
    test(`PORTCULLIS_TRUST_PROXY=${value} → ${expected} proxies`, () => {
      assert.equal(load({ file: `auth:\n  trustProxy: ${expected === 0}\n`, env: { PORTCULLIS_TRUST_PROXY: value } }).auth.trustProxy, expected);
    });
  }

  test('auth.trustProxy in the file: a boolean or a count of proxies', () => {
    assert.equal(load({ file: 'auth:\n  trustProxy: 3\n' }).auth.trustProxy, 3);
    assert.equal(load({ file: 'auth:\n  trustProxy: true\n' }).auth.trustProxy, 1);
    fails({ file: 'auth:\n  trustProxy: 17\n' }, /auth\.trustProxy/);
  });

  test('every documented environment variable sets its key', () => {
    const values: Record<string, [string, unknown]> = {
      PORTCULLIS_ADDR: [':5001', ':5001'],
      PORTCULLIS_DATA: ['/d', '/d'],
      PORTCULLIS_EXTERNAL_URL: ['https://registry.example.com', 'https://registry.example.com'],
      PORTCULLIS_LOG_LEVEL: ['debug', 'debug'],
      PORTCULLIS_DATABASE_SCHEMA: ['other_schema', 'other_schema'],
      PORTCULLIS_TOKEN_TTL: ['1m', 60_000],
      PORTCULLIS_GC_GRACE: ['1s', 1000],
    };
    for (const [name, [value, expected]] of Object.entries(values)) {
      const path = ENV_KEYS[name];
      assert.ok(path, `${name} is a known variable`);
      let cur: unknown = load({ env: { [name]: value } });
      for (const p of path) cur = (cur as Record<string, unknown>)[p];
      assert.equal(cur, expected, name);
    }
  });
});

describe('loadConfig: database selection', () => {
  test('PORTCULLIS_DATABASE_URL alone selects postgres', () => {
    const c = load({ env: { PORTCULLIS_DATABASE_URL: 'postgres://u@db:5432/reg' } });
    assert.equal(c.database.kind, 'postgres');
    assert.equal(c.database.url, 'postgres://u@db:5432/reg');
  });

  test('database.url in the file alone selects postgres', () => {
    const c = load({ file: 'database:\n  url: postgresql://db/reg\n' });
    assert.equal(c.database.kind, 'postgres');
  });

  test('an explicit kind: sqlite is not overridden by a URL', () => {
    const c = load({ file: 'database:\n  kind: sqlite\n', env: { PORTCULLIS_DATABASE_URL: 'postgres://db/reg' } });
    assert.equal(c.database.kind, 'sqlite');
  });

  test('postgres without a url fails, naming database.url and the variable', () => {
    const e = fails({ file: 'database:\n  kind: postgres\n' }, 'config.yml: database.url: ');
    assert.match(e.message, /PORTCULLIS_DATABASE_URL/);
  });

  test('a non-postgres URL in the environment names the variable', () => {
    fails({ env: { PORTCULLIS_DATABASE_URL: 'mysql://db/reg' } }, 'environment variable PORTCULLIS_DATABASE_URL: database.url: ');
  });
});

describe('loadConfig: errors name the source and the key', () => {
  test('unknown key in the file', () => {
    fails({ file: 'auth:\n  tokenTTL: 5m\n' }, 'config.yml: auth.tokenTTL: unknown setting');
  });

  test('unknown top-level key', () => {
    fails({ file: 'adress: :5000\n' }, 'config.yml: adress: unknown setting');
  });

  test('a key at the wrong nesting', () => {
    fails({ file: 'tokenTtl: 5m\n' }, 'config.yml: tokenTtl: unknown setting');
  });

  test('bad duration in the file', () => {
    const e = fails({ file: 'gc:\n  grace: soon\n' }, 'config.yml: gc.grace: ');
    assert.match(e.message, /"soon" is not a duration/);
  });

  test('bad size in the file', () => {
    const e = fails({ file: 'registry:\n  maxBlobSize: 12XB\n' }, 'config.yml: registry.maxBlobSize: ');
    assert.match(e.message, /"12XB" is not a size/);
  });

  test('bad duration in the environment names the variable', () => {
    fails({ file: 'gc:\n  grace: 1h\n', env: { PORTCULLIS_GC_GRACE: 'soon' } }, 'environment variable PORTCULLIS_GC_GRACE: gc.grace: ');
  });

  test('bad size in the environment names the variable', () => {
    fails({ env: { PORTCULLIS_MAX_BLOB_SIZE: 'lots' } }, 'environment variable PORTCULLIS_MAX_BLOB_SIZE: registry.maxBlobSize: ');
  });

  test('bad boolean in the environment names the variable', () => {
    fails({ env: { PORTCULLIS_TRUST_PROXY: 'yes' } }, 'environment variable PORTCULLIS_TRUST_PROXY: auth.trustProxy: ');
  });

  test('bad log level in the environment names the variable', () => {
    fails({ env: { PORTCULLIS_LOG_LEVEL: 'loud' } }, 'environment variable PORTCULLIS_LOG_LEVEL: log.level: ');
  });

  test('bad address from a flag names the flag', () => {
    fails({ env: { PORTCULLIS_ADDR: ':7000' }, flags: { addr: 'localhost' } }, 'flag --addr: addr: ');
  });

  test('bad address in the file', () => {
    fails({ file: 'addr: "5000"' }, 'config.yml: addr: ');
  });

  test('a TCP port above 65535 is rejected', () => {
    // HOST:PORT with a port that cannot be listened on; server.listen would throw ERR_SOCKET_BAD_PORT at startup.
    fails({ file: 'addr: 0.0.0.0:99999' }, 'config.yml: addr: ');
    fails({ flags: { addr: ':65536' } }, 'flag --addr: addr: ');
  });

  test('a duration longer than a Node.js timer can wait is rejected for gc.interval', () => {
    // gc.interval feeds setInterval (src/registry/index.ts), which turns delays above 2^31-1 ms
    // (~24.8 days) into 1 ms: a monthly schedule would run the collector continuously.
    assert.equal(load({ file: 'gc:\n  interval: 24d\n' }).gc.interval, 24 * 86_400_000);
    fails({ file: 'gc:\n  interval: 30d\n' }, 'config.yml: gc.interval: ');
  });

  test('wrong type in the file', () => {
    fails({ file: 'auth:\n  maxFailedLogins: many\n' }, 'config.yml: auth.maxFailedLogins: ');
    fails({ file: 'database:\n  maxConnections: 0\n' }, 'config.yml: database.maxConnections: ');
    fails({ file: 'gc:\n  deleteUntagged: "yes"\n' }, 'config.yml: gc.deleteUntagged: ');
  });

  test('a section given as a scalar', () => {
    fails({ file: 'auth: 5\n' }, 'config.yml: auth: ');
  });

  test('invalid YAML', () => {
    fails({ file: 'auth:\n  tokenTtl: [1h\n' }, 'config.yml: not valid YAML');
    fails({ file: 'a: b: c' }, 'config.yml: not valid YAML');
  });

  test('a top-level list or scalar', () => {
    fails({ file: '- addr: :5000\n' }, 'config.yml: expected a mapping');
    fails({ file: 'just a string' }, 'config.yml: expected a mapping');
  });

  test('without a file, errors from defaults-relative keys still name a source', () => {
    fails({ env: { PORTCULLIS_EXTERNAL_URL: 'ftp://x' } }, 'environment variable PORTCULLIS_EXTERNAL_URL: externalUrl: ');
  });

  test('several problems: the first is reported and the rest counted', () => {
    const e = fails({ file: 'addr: nope\ngc:\n  grace: soon\n' }, /^config\.yml: addr: .*\(and 1 more\)$/);
    assert.ok(e instanceof ConfigError);
  });
});

describe('parseDuration', () => {
  const table: [string | number, number | undefined][] = [
    ['250ms', 250],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['90', 90_000],
    ['0', 0],
    [' 5m ', 300_000],
    ['5 m', 300_000],
    [90, 90_000],
    [0, 0],
    [1.5, 1500],
    ['', undefined],
    ['s', undefined],
    ['-1s', undefined],
    ['1w', undefined],
    ['1y', undefined],
    ['1h30m', undefined],
    ['5M', undefined],
    ['1e3', undefined],
    ['.5s', undefined],
    ['one hour', undefined],
    [-1, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input) ?? String(input)} → ${expected}`, () => {
      assert.equal(parseDuration(input), expected);
    });
  }
});

describe('parseSize', () => {
  const table: [string | number, number | undefined][] = [
    ['4096', 4096],
    ['0', 0],
    ['1B', 1],
    ['1KB', 1000],
    ['1kb', 1000],
    ['1KiB', 1024],
    ['1.5KiB', 1536],
    ['1MB', 1_000_000],
    ['512MiB', 512 * 1024 * 1024],
    ['1GB', 1_000_000_000],
    ['20GiB', 20 * 1024 ** 3],
    ['20 GiB', 20 * 1024 ** 3],
    ['1TB', 1e12],
    ['2TiB', 2 * 1024 ** 4],
    [4096, 4096],
    [0, 0],
    ['', undefined],
    ['MiB', undefined],
    ['-1', undefined],
    ['1PB', undefined],
    ['1PiB', undefined],
    ['10 bytes', undefined],
    ['1e9', undefined],
    [1.5, undefined],
    [-1, undefined],
    [Number.NaN, undefined],
    [2 ** 53, undefined],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input) ?? String(input)} → ${expected}`, () => {
      assert.equal(parseSize(input), expected);
    });
  }

  test('a string size beyond 2^53-1 bytes is rejected like the same number', () => {
    // The numeric branch refuses sizes that are not safe integers; the string branch returns them.
    assert.equal(parseSize(2 ** 53), undefined);
    assert.equal(parseSize(String(2 ** 53)), undefined);
    assert.equal(parseSize('9999999TiB'), undefined);
  });
});
