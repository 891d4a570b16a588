/**
 * The job loop's lease: renewed while a job runs, so a job that runs longer than one lease is not
 * handed to a second replica; a replica's restart gives back what it held.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { JobWorker, releaseHeldJobs, type RunningJob } from '../../src/registry/job-worker.js';
import { silentLogger } from '../../src/shared/index.js';
import { openSqliteMetadataStore } from '../../src/storage/index.js';

test('a job that runs for several leases keeps its lease: no other replica can claim it meanwhile', { timeout: 20_000 }, async (t) => {
  const meta = await openSqliteMetadataStore(':memory:');
  t.after(() => meta.close());
  await meta.jobs.enqueue('scan', 'long', '{}', Date.now());
  const leaseMs = 300;
  const stolen: (number | undefined)[] = [];
  let finished!: () => void;
  const ran = new Promise<void>((r) => (finished = r));
  const worker = new JobWorker({
    what: 'test',
    kinds: ['scan'],
    jobs: meta.jobs,
    holder: 'replica-a',
    log: silentLogger,
    now: Date.now,
    pollMs: 60_000,
    leaseMs,
    run: async (job) => {
      // Four leases long; another replica tries to claim every 100 ms.
      for (let i = 0; i < 12; i++) {
        await sleep(100);
        stolen.push((await meta.jobs.claim({ kinds: ['scan'], now: Date.now(), leaseMs, holder: 'replica-b', maxAttempts: 3 }))?.id);
      }
      await job.complete();
      finished();
    },
  });
  worker.start();
  await ran;
  await worker.stop();
  assert.deepEqual(stolen, Array(12).fill(undefined), 'the running job was never claimed by replica-b');
  assert.equal((await meta.jobs.get('scan', 'long'))?.state, 'done');
});

test('releaseHeldJobs hands back what this replica held when it died, and says so', async (t) => {
  const meta = await openSqliteMetadataStore(':memory:');
  t.after(() => meta.close());
  await meta.jobs.enqueue('sbom', 'a', '{}', 0);
  await meta.jobs.claim({ kinds: ['sbom'], now: 1, leaseMs: 60_000, holder: 'host:/data', maxAttempts: 3 });
  const warned: string[] = [];
  const log = { ...silentLogger, warn: (_: unknown, msg?: string) => void warned.push(msg ?? '') };
  assert.equal(await releaseHeldJobs(meta.jobs, 'other:/data', 2, log), 0);
  assert.equal(await releaseHeldJobs(meta.jobs, 'host:/data', 2, log), 1);
  assert.equal((await meta.jobs.get('sbom', 'a'))?.state, 'queued');
  assert.deepEqual(warned, ['jobs this replica was running when it stopped are queued again']);
});

/** A worker on `meta` whose run is given by the test. */
function workerOn(meta: Awaited<ReturnType<typeof openSqliteMetadataStore>>, run: (job: RunningJob) => Promise<void>, leaseMs = 300): JobWorker {
  return new JobWorker({ what: 'test', kinds: ['scan'], jobs: meta.jobs, holder: 'replica-a', log: silentLogger, now: Date.now, pollMs: 60_000, leaseMs, run });
}

test('a run that loses its lease is told to stop, and what it records then is nothing', { timeout: 20_000 }, async (t) => {
  const meta = await openSqliteMetadataStore(':memory:');
  t.after(() => meta.close());
  await meta.jobs.enqueue('scan', 'k', '{}', Date.now());
  let finished!: (aborted: boolean) => void;
  const ran = new Promise<boolean>((r) => (finished = r));
  const worker = workerOn(meta, async (job) => {
    // Another replica takes the job over (as after a lapse): the next renewal finds it gone.
    await meta.jobs.release('replica-a', Date.now());
    assert.ok((await meta.jobs.claim({ kinds: ['scan'], now: Date.now(), leaseMs: 60_000, holder: 'replica-b', maxAttempts: 3 })) !== undefined);
    const aborted = await Promise.race([new Promise<boolean>((r) => job.signal.addEventListener('abort', () => r(true))), sleep(5_000).then(() => false)]);
    await job.complete();
    await job.fail(new Error('late'));
    finished(aborted);
  });
  worker.start();
  assert.equal(await ran, true, 'the run was told to stop');
  await worker.stop();
  const after = await meta.jobs.get('scan', 'k');
  assert.equal(after?.state, 'running', "replica-b's run is left alone: neither completed nor failed by replica-a");
  assert.equal(await meta.jobs.complete(after!.id, 'replica-b', Date.now()), true);
});

test('stopping the worker stops the job in hand and gives it back, its attempt not counted', { timeout: 20_000 }, async (t) => {
  const meta = await openSqliteMetadataStore(':memory:');
  t.after(() => meta.close());
  await meta.jobs.enqueue('scan', 'k', '{}', Date.now());
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  let failed = false;
  const worker = workerOn(meta, async (job) => {
    started();
    await new Promise<void>((r) => job.signal.addEventListener('abort', () => r()));
    // What a service does with the error the stopped thread gave it: nothing is recorded.
    const { retrying } = await job.fail(new Error('the thread was stopped'));
    failed = !retrying;
  }, 60_000);
  worker.start();
  await running;
  await worker.stop();
  const back = await meta.jobs.get('scan', 'k');
  assert.deepEqual([back?.state, back?.attempts, back?.error], ['queued', 0, null]);
  assert.equal(failed, false);
});
