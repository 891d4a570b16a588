/**
 * The job loop's lease: renewed while a job runs, so a job that runs longer than one lease is not
 * handed to a second replica; a replica's restart gives back what it held.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { JobWorker, releaseHeldJobs } from '../../src/registry/job-worker.js';
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
      await meta.jobs.complete(job.id, Date.now());
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
