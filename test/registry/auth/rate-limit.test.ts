import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LoginLimiter } from '../../../src/registry/auth/rate-limit.js';

function setup(maxFailures = 3, windowMs = 60_000) {
  const clock = { now: 1_000_000 };
  const limiter = new LoginLimiter({ maxFailures, windowMs, now: () => clock.now });
  return { clock, limiter };
}

describe('LoginLimiter', () => {
  test('a fresh key is not locked', () => {
    const { limiter } = setup();
    assert.equal(limiter.retryAfter(['user:alice']), 0);
    assert.equal(limiter.retryAfter([]), 0);
  });

  test('locks after maxFailures within the window, not before', () => {
    const { clock, limiter } = setup(3, 60_000);
    limiter.fail(['user:alice']);
    clock.now += 1000;
    limiter.fail(['user:alice']);
    assert.equal(limiter.retryAfter(['user:alice']), 0, 'two failures of three allowed');
    clock.now += 1000;
    limiter.fail(['user:alice']);
    // Locked until the window that began with the first failure ends: 60 s after it, now 2 s later.
    assert.equal(limiter.retryAfter(['user:alice']), 58_000);
  });

  test('the wait shrinks as the clock advances and ends when the window ends', () => {
    const { clock, limiter } = setup(2, 10_000);
    limiter.fail(['k']);
    limiter.fail(['k']);
    assert.equal(limiter.retryAfter(['k']), 10_000);
    clock.now += 4_000;
    assert.equal(limiter.retryAfter(['k']), 6_000);
    clock.now += 5_999;
    assert.equal(limiter.retryAfter(['k']), 1);
    clock.now += 1;
    assert.equal(limiter.retryAfter(['k']), 0);
  });

  test('after the window ends a new failure starts a new count', () => {
    const { clock, limiter } = setup(2, 10_000);
    limiter.fail(['k']);
    limiter.fail(['k']);
    clock.now += 10_000;
    assert.equal(limiter.retryAfter(['k']), 0);
    limiter.fail(['k']);
    assert.equal(limiter.retryAfter(['k']), 0, 'one failure in the new window');
    limiter.fail(['k']);
    assert.equal(limiter.retryAfter(['k']), 10_000);
  });

  test('failures spread over more than one window do not lock', () => {
    const { clock, limiter } = setup(3, 10_000);
    for (let i = 0; i < 10; i++) {
      limiter.fail(['k']);
      limiter.fail(['k']);
      clock.now += 10_000;
    }
    assert.equal(limiter.retryAfter(['k']), 0);
  });

  test('failures while locked do not extend the lock', () => {
    const { clock, limiter } = setup(1, 10_000);
    limiter.fail(['k']);
    clock.now += 5_000;
    limiter.fail(['k']);
    limiter.fail(['k']);
    assert.equal(limiter.retryAfter(['k']), 5_000);
  });

  test('success resets the user key only', () => {
    const { limiter } = setup(2, 60_000);
    limiter.fail(['user:alice', 'ip:10.0.0.1']);
    limiter.fail(['user:alice', 'ip:10.0.0.1']);
    assert.ok(limiter.retryAfter(['user:alice']) > 0);
    limiter.succeed('user:alice');
    assert.equal(limiter.retryAfter(['user:alice']), 0);
    assert.ok(limiter.retryAfter(['ip:10.0.0.1']) > 0, 'the address stays locked');
    assert.ok(limiter.retryAfter(['user:alice', 'ip:10.0.0.1']) > 0, 'any locked key locks the attempt');
  });

  test('success resets the count, not just the lock', () => {
    const { limiter } = setup(3, 60_000);
    limiter.fail(['k']);
    limiter.fail(['k']);
    limiter.succeed('k');
    limiter.fail(['k']);
    limiter.fail(['k']);
    assert.equal(limiter.retryAfter(['k']), 0);
  });

  test('keys are independent', () => {
    const { limiter } = setup(2, 60_000);
    limiter.fail(['user:alice']);
    limiter.fail(['user:alice']);
    assert.ok(limiter.retryAfter(['user:alice']) > 0);
    assert.equal(limiter.retryAfter(['user:bob']), 0);
    limiter.fail(['user:bob']);
    assert.equal(limiter.retryAfter(['user:bob']), 0);
  });

  test('retryAfter over several keys is the longest wait', () => {
    const { clock, limiter } = setup(1, 10_000);
    limiter.fail(['a']);
    clock.now += 3_000;
    limiter.fail(['b']);
    assert.equal(limiter.retryAfter(['a']), 7_000);
    assert.equal(limiter.retryAfter(['b']), 10_000);
    assert.equal(limiter.retryAfter(['a', 'b']), 10_000);
    assert.equal(limiter.retryAfter(['b', 'a', 'c']), 10_000);
  });

  test('many distinct keys (beyond the prune threshold) keep locks that are still live', () => {
    const { clock, limiter } = setup(1, 10_000);
    limiter.fail(['victim']);
    clock.now += 1;
    for (let i = 0; i < 100_001; i++) limiter.fail([`spray:${i}`]);
    assert.equal(limiter.retryAfter(['victim']), 9_999);
  });

  describe('reservations: a check is counted before the password is verified', () => {
    test('reserved checks fill the budget: the next caller waits, it is not let through', () => {
      const { limiter } = setup(3);
      for (let i = 0; i < 3; i++) {
        assert.equal(limiter.state(['k']).kind, 'free', `check ${i + 1}`);
        limiter.reserve(['k']);
      }
      const s = limiter.state(['k']);
      assert.equal(s.kind, 'busy');
      assert.equal(limiter.retryAfter(['k']), 0, 'not locked: the checks in flight may yet succeed');
      assert.equal(limiter.state(['other']).kind, 'free');
    });

    test('failed reserved checks are failures: max of them lock for the window', () => {
      const { clock, limiter } = setup(3, 60_000);
      for (let i = 0; i < 3; i++) limiter.reserve(['k']);
      clock.now += 500;
      for (let i = 0; i < 3; i++) limiter.failReserved(['k']);
      const s = limiter.state(['k']);
      assert.deepEqual(s, { kind: 'locked', retryAfterMs: 60_000 });
      clock.now += 60_000;
      assert.equal(limiter.state(['k']).kind, 'free');
    });

    test('a released (successful) check gives its slot back and wakes those waiting', async () => {
      const { limiter } = setup(2);
      limiter.reserve(['k']);
      limiter.reserve(['k']);
      const s = limiter.state(['k']);
      assert.equal(s.kind, 'busy');
      let woken = false;
      const waiting = (s as { settled: Promise<void> }).settled.then(() => (woken = true));
      limiter.release(['k']);
      await waiting;
      assert.ok(woken);
      assert.equal(limiter.state(['k']).kind, 'free');
      limiter.release(['k']);
      // Nothing is left counted: a full budget of failures is needed to lock.
      limiter.fail(['k']);
      assert.equal(limiter.state(['k']).kind, 'free');
      limiter.fail(['k']);
      assert.equal(limiter.state(['k']).kind, 'locked');
    });

    test('a failure while others wait wakes them to find the key locked', async () => {
      const { limiter } = setup(1);
      limiter.reserve(['k']);
      const s = limiter.state(['k']);
      assert.equal(s.kind, 'busy');
      limiter.failReserved(['k']);
      await (s as { settled: Promise<void> }).settled;
      assert.equal(limiter.state(['k']).kind, 'locked');
    });

    test('succeed forgets failures but not the checks still in flight', () => {
      const { limiter } = setup(3);
      limiter.fail(['k']);
      limiter.fail(['k']);
      limiter.reserve(['k']);
      assert.equal(limiter.state(['k']).kind, 'busy');
      limiter.succeed('k');
      assert.equal(limiter.state(['k']).kind, 'free');
      limiter.reserve(['k']);
      limiter.reserve(['k']);
      assert.equal(limiter.state(['k']).kind, 'busy', 'three checks in flight');
    });

    test('failures of an ended window drop; checks in flight stay counted across it', () => {
      const { clock, limiter } = setup(2, 10_000);
      limiter.fail(['k']);
      limiter.reserve(['k']);
      assert.equal(limiter.state(['k']).kind, 'busy');
      clock.now += 10_000;
      assert.equal(limiter.state(['k']).kind, 'free', 'the old failure is gone, one check in flight');
      limiter.failReserved(['k']);
      limiter.fail(['k']);
      assert.deepEqual(limiter.state(['k']), { kind: 'locked', retryAfterMs: 10_000 }, 'a new window began with the new failure');
    });

    test('a locked key is reported even while another key is only busy', () => {
      const { limiter } = setup(1);
      limiter.fail(['a']);
      limiter.reserve(['b']);
      assert.equal(limiter.state(['b', 'a']).kind, 'locked');
      assert.equal(limiter.state(['b']).kind, 'busy');
    });
  });
});
