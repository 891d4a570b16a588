import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Digester, OciError, asDigest, digestOf, isDigest, parseDigest, type DigestAlgorithm } from '../../src/oci/index.js';
import { requireTools } from '../helpers/env.js';

const HEX64 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'; // sha256 of ""
const HEX128 = 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e'; // sha512 of ""

/** The digest the coreutils tool computes for `data`, e.g. `sha256sum`. */
function coreutilsDigest(algorithm: DigestAlgorithm, data: Uint8Array): string {
  const out = execFileSync(`${algorithm}sum`, ['-b', '-'], { input: data, encoding: 'utf8' });
  const hex = out.split(/\s/)[0]!;
  return `${algorithm}:${hex}`;
}

function assertDigestInvalid(value: string): void {
  assert.throws(
    () => parseDigest(value),
    (err: unknown) => {
      assert.ok(err instanceof OciError, `expected OciError for ${JSON.stringify(value)}, got ${String(err)}`);
      assert.equal(err.code, 'DIGEST_INVALID');
      assert.equal(err.status, 400);
      return true;
    },
    `parseDigest(${JSON.stringify(value)}) should throw`,
  );
}

describe('parseDigest', () => {
  const valid: [string, DigestAlgorithm, string][] = [
    [`sha256:${HEX64}`, 'sha256', HEX64],
    [`sha512:${HEX128}`, 'sha512', HEX128],
    [`sha256:${'0'.repeat(64)}`, 'sha256', '0'.repeat(64)],
    [`sha512:${'f'.repeat(128)}`, 'sha512', 'f'.repeat(128)],
  ];
  for (const [input, algorithm, hex] of valid) {
    test(`accepts ${input.slice(0, 20)}…`, () => {
      const p = parseDigest(input);
      assert.equal(p.algorithm, algorithm);
      assert.equal(p.hex, hex);
      assert.equal(p.digest, input);
      assert.equal(isDigest(input), true);
      assert.equal(asDigest(input), input);
    });
  }

  const invalid: [string, string][] = [
    ['upper-case hex', `sha256:${HEX64.toUpperCase()}`],
    ['one upper-case hex digit', `sha256:E${HEX64.slice(1)}`],
    ['upper-case algorithm', `SHA256:${HEX64}`],
    ['sha256 with 63 hex', `sha256:${HEX64.slice(1)}`],
    ['sha256 with 65 hex', `sha256:${HEX64}0`],
    ['sha256 with 128 hex (sha512 length)', `sha256:${HEX128}`],
    ['sha512 with 64 hex (sha256 length)', `sha512:${HEX64}`],
    ['sha512 with 127 hex', `sha512:${HEX128.slice(1)}`],
    ['unknown algorithm sha384', `sha384:${'a'.repeat(96)}`],
    ['unknown algorithm md5', 'md5:d41d8cd98f00b204e9800998ecf8427e'],
    ['unknown algorithm blake3', `blake3:${HEX64}`],
    ['missing colon', `sha256${HEX64}`],
    ['bare hex', HEX64],
    ['empty string', ''],
    ['algorithm only', 'sha256:'],
    ['non-hex character', `sha256:${HEX64.slice(0, 63)}g`],
    ['leading whitespace', ` sha256:${HEX64}`],
    ['trailing newline', `sha256:${HEX64}\n`],
    ['trailing whitespace', `sha256:${HEX64} `],
    ['two colons', `sha256::${HEX64}`],
    ['base64-style encoding', `sha256:${Buffer.from(HEX64, 'hex').toString('base64')}`],
  ];
  for (const [why, input] of invalid) {
    test(`rejects ${why} with DIGEST_INVALID`, () => {
      assertDigestInvalid(input);
      assert.equal(isDigest(input), false);
      assert.throws(() => asDigest(input), OciError);
    });
  }

  test('clips very long input in the message', () => {
    const long = `sha256:${'a'.repeat(5000)}`;
    assert.throws(
      () => parseDigest(long),
      (err: unknown) => err instanceof OciError && err.message.length < 300,
    );
  });
});

describe('digestOf and Digester', () => {
  test('digestOf of the empty input is the well-known empty digests', () => {
    assert.equal(digestOf(new Uint8Array(0)), `sha256:${HEX64}`);
    assert.equal(digestOf(new Uint8Array(0), 'sha512'), `sha512:${HEX128}`);
  });

  for (const algorithm of ['sha256', 'sha512'] as const) {
    test(`${algorithm}: digestOf matches ${algorithm}sum`, (t) => {
      if (!requireTools(t, `${algorithm}sum`)) return;
      for (const data of [new Uint8Array(0), Buffer.from('hello\n'), randomBytes(1), randomBytes(65_537), randomBytes(1024 * 1024 + 3)]) {
        const d = digestOf(data, algorithm);
        assert.equal(d, coreutilsDigest(algorithm, data), `length ${data.byteLength}`);
        assert.doesNotThrow(() => parseDigest(d));
      }
    });

    test(`${algorithm}: streaming Digester equals digestOf for any chunking, and counts bytes`, (t) => {
      if (!requireTools(t, `${algorithm}sum`)) return;
      const data = randomBytes(300_001);
      const expected = coreutilsDigest(algorithm, data);
      for (const chunk of [1, 7, 4096, 65_536, 300_001, 1_000_000]) {
        const d = new Digester(algorithm);
        assert.equal(d.algorithm, algorithm);
        for (let i = 0; i < data.byteLength; i += chunk) d.update(data.subarray(i, i + chunk));
        assert.equal(d.size, data.byteLength);
        assert.equal(d.digest(), expected, `chunk size ${chunk}`);
      }
      assert.equal(digestOf(data, algorithm), expected);
    });
  }

  test('Digester defaults to sha256 and an empty Digester has size 0', () => {
    const d = new Digester();
    assert.equal(d.algorithm, 'sha256');
    assert.equal(d.size, 0);
    assert.equal(d.digest(), `sha256:${createHash('sha256').digest('hex')}`);
  });

  test('Digester counts bytes of typed-array views, not of their underlying buffers', () => {
    const backing = randomBytes(1000);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 100, 50);
    const d = new Digester();
    d.update(view);
    assert.equal(d.size, 50);
    assert.equal(d.digest(), `sha256:${createHash('sha256').update(backing.subarray(100, 150)).digest('hex')}`);
  });
});
