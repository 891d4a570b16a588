/**
 * The webhook store's contract (webhooks and their delivery log), run against every backend
 * (sqlite.test.ts, postgres.test.ts). A delivery is recorded with the queue's job of its attempt in
 * one transaction: the tests read the job queue beside the log.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import type { MetadataStore, WebhookRecord } from '../../src/storage/index.js';
import type { OpenStore } from './metadata-store.contract.js';

const KIND = 'webhook-delivery';

type DeliveryLog = MetadataStore['webhooks']['deliveries'];
type Outcome = Parameters<DeliveryLog['record']>[1];

const job = (id: string, attempt: number, runAfter: number) => ({ kind: KIND, key: `${id}#${attempt}`, payload: JSON.stringify({ delivery: id, attempt }), runAfter });

export function webhookStoreContract(name: string, open: OpenStore): void {
  async function fresh(t: TestContext): Promise<MetadataStore> {
    const { store, close } = await open();
    t.after(close);
    await store.projects.create({ name: 'team', public: false, now: 1 });
    await store.projects.create({ name: 'other', public: true, now: 1 });
    return store;
  }

  async function hook(s: MetadataStore, project = 'team', extra: Partial<Omit<WebhookRecord, 'id'>> = {}): Promise<WebhookRecord> {
    const w = await s.webhooks.create({ project, url: 'https://hooks.example.com/x?token=1', events: ['PUSH_ARTIFACT', 'SCANNING_FAILED'], secret: 's3cret-s3cret-s3cret', format: 'default', enabled: true, createdAt: 100, createdBy: 'alice', ...extra });
    assert.ok(w !== undefined);
    return w;
  }

  async function delivery(s: MetadataStore, webhookId: number, createdAt = 1_000): Promise<string> {
    const id = randomUUID();
    assert.equal(await s.webhooks.deliveries.add([{ delivery: { id, webhookId, event: 'PUSH_ARTIFACT', payload: `{"n":"${id}"}`, createdAt }, job: job(id, 1, createdAt) }]), 1);
    return id;
  }

  const outcome = (attempt: number, o: Partial<Outcome> = {}): Outcome => ({ attempt, at: 2_000 + attempt, durationMs: 5, statusCode: 500, error: 'the receiver answered 500', response: 'oops', state: 'pending', next: null, ...o });

  describe(`WebhookStore contract: ${name}`, () => {
    test('create, get, list and delete, per project; the secret is kept as given', async (t) => {
      const s = await fresh(t);
      const a = await hook(s);
      const b = await hook(s, 'team', { url: 'http://b.example.com/', format: 'cloudevents', events: ['PULL_ARTIFACT'], createdBy: null });
      const c = await hook(s, 'other');
      assert.deepEqual(a, { id: a.id, project: 'team', url: 'https://hooks.example.com/x?token=1', events: ['PUSH_ARTIFACT', 'SCANNING_FAILED'], secret: 's3cret-s3cret-s3cret', format: 'default', enabled: true, createdAt: 100, createdBy: 'alice' });
      assert.deepEqual(await s.webhooks.get(b.id), b);
      assert.deepEqual(
        (await s.webhooks.list('team')).map((w) => w.id),
        [a.id, b.id],
      );
      assert.deepEqual(
        (await s.webhooks.list('other')).map((w) => w.id),
        [c.id],
      );
      assert.equal(await s.webhooks.create({ ...a, project: 'nope' }), undefined, 'no project, no webhook');
      assert.equal(await s.webhooks.delete('other', a.id), false, "another project's webhook is not deleted");
      assert.equal(await s.webhooks.delete('team', a.id), true);
      assert.equal(await s.webhooks.delete('team', a.id), false);
      assert.equal(await s.webhooks.get(a.id), undefined);
      assert.equal(await s.webhooks.get(Number.NaN), undefined);
      await s.projects.delete('other');
      assert.equal(await s.webhooks.get(c.id), undefined, 'a project takes its webhooks with it');
    });

    test('add records a pending delivery and queues its first attempt; a webhook gone meanwhile gets nothing', async (t) => {
      const s = await fresh(t);
      const w = await hook(s);
      const id = randomUUID();
      const gone = randomUUID();
      const n = await s.webhooks.deliveries.add([
        { delivery: { id, webhookId: w.id, event: 'PUSH_ARTIFACT', payload: '{"type":"PUSH_ARTIFACT","é":"ü"}', createdAt: 1_000 }, job: job(id, 1, 1_000) },
        { delivery: { id: gone, webhookId: w.id + 1000, event: 'PUSH_ARTIFACT', payload: '{}', createdAt: 1_000 }, job: job(gone, 1, 1_000) },
      ]);
      assert.equal(n, 1);
      assert.deepEqual(await s.webhooks.deliveries.get(id), {
        id,
        webhookId: w.id,
        project: 'team',
        event: 'PUSH_ARTIFACT',
        payload: '{"type":"PUSH_ARTIFACT","é":"ü"}',
        state: 'pending',
        attempts: 0,
        statusCode: null,
        error: null,
        response: null,
        nextAttemptAt: 1_000,
        history: [],
        createdAt: 1_000,
        updatedAt: 1_000,
      });
      const queued = await s.jobs.get(KIND, `${id}#1`);
      assert.equal(queued?.state, 'queued');
      assert.equal(queued?.runAfter, 1_000);
      assert.deepEqual(JSON.parse(queued!.payload), { delivery: id, attempt: 1 });
      assert.equal(await s.webhooks.deliveries.get(gone), undefined);
      assert.equal(await s.jobs.get(KIND, `${gone}#1`), undefined, 'no job without its delivery');
      assert.equal(await s.webhooks.deliveries.add([]), 0);
    });

    test('add is one transaction: when one delivery cannot be recorded, none is, and no job is queued', async (t) => {
      const s = await fresh(t);
      const w = await hook(s);
      const first = randomUUID();
      const taken = await delivery(s, w.id);
      await assert.rejects(
        s.webhooks.deliveries.add([
          { delivery: { id: first, webhookId: w.id, event: 'PUSH_ARTIFACT', payload: '{}', createdAt: 1_000 }, job: job(first, 1, 1_000) },
          { delivery: { id: taken, webhookId: w.id, event: 'PUSH_ARTIFACT', payload: '{}', createdAt: 1_000 }, job: job(taken, 9, 1_000) },
        ]),
      );
      assert.equal(await s.webhooks.deliveries.get(first), undefined);
      assert.equal(await s.jobs.get(KIND, `${first}#1`), undefined);
    });

    test('record keeps each attempt in order, queues the next one with it, and records an attempt once', async (t) => {
      const s = await fresh(t);
      const w = await hook(s);
      const id = await delivery(s, w.id);
      assert.equal(await s.webhooks.deliveries.record(id, outcome(2)), false, 'attempt 2 before attempt 1');
      assert.equal(await s.webhooks.deliveries.record(id, outcome(1, { next: job(id, 2, 12_000) })), true);
      assert.equal(await s.webhooks.deliveries.record(id, outcome(1, { next: job(id, 2, 99_000) })), false, 'attempt 1 again (its job ran twice)');
      let d = await s.webhooks.deliveries.get(id);
      assert.equal(d?.state, 'pending');
      assert.equal(d?.attempts, 1);
      assert.equal(d?.statusCode, 500);
      assert.equal(d?.nextAttemptAt, 12_000);
      assert.equal(d?.updatedAt, 2_001);
      assert.equal((await s.jobs.get(KIND, `${id}#2`))?.runAfter, 12_000);

      assert.equal(await s.webhooks.deliveries.record(id, outcome(2, { statusCode: null, error: 'ECONNREFUSED: connect ECONNREFUSED', response: null, next: job(id, 3, 30_000) })), true);
      assert.equal(await s.webhooks.deliveries.record(id, outcome(3, { statusCode: 204, error: null, response: null, state: 'delivered' })), true);
      d = await s.webhooks.deliveries.get(id);
      assert.equal(d?.state, 'delivered');
      assert.equal(d?.attempts, 3);
      assert.equal(d?.statusCode, 204);
      assert.equal(d?.error, null);
      assert.equal(d?.nextAttemptAt, null);
      assert.deepEqual(d?.history, [
        { at: 2_001, statusCode: 500, error: 'the receiver answered 500', durationMs: 5 },
        { at: 2_002, statusCode: null, error: 'ECONNREFUSED: connect ECONNREFUSED', durationMs: 5 },
        { at: 2_003, statusCode: 204, error: null, durationMs: 5 },
      ]);
      assert.equal(await s.jobs.get(KIND, `${id}#4`), undefined);
      assert.equal(await s.webhooks.deliveries.record(id, outcome(4, { state: 'failed' })), false, 'a delivered delivery records no more attempts');
      assert.equal(await s.webhooks.deliveries.record(randomUUID(), outcome(1)), false);
    });

    test("list: a webhook's deliveries, newest first, a page at a time", async (t) => {
      const s = await fresh(t);
      const w = await hook(s);
      const w2 = await hook(s);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await delivery(s, w.id, 1_000 + i));
      await delivery(s, w2.id);
      const newest = [...ids].reverse();
      assert.deepEqual(
        (await s.webhooks.deliveries.list(w.id, { limit: 100 })).map((d) => d.id),
        newest,
      );
      const page1 = await s.webhooks.deliveries.list(w.id, { limit: 2 });
      const page2 = await s.webhooks.deliveries.list(w.id, { limit: 2, after: page1.at(-1)!.id });
      const page3 = await s.webhooks.deliveries.list(w.id, { limit: 2, after: page2.at(-1)!.id });
      assert.deepEqual([...page1, ...page2, ...page3].map((d) => d.id), newest);
      assert.deepEqual(await s.webhooks.deliveries.list(w.id, { limit: 2, after: randomUUID() }), [], 'an unknown cursor lists nothing');
      assert.equal(await s.webhooks.delete('team', w.id), true);
      assert.deepEqual(await s.webhooks.deliveries.list(w.id, { limit: 100 }), [], 'the log goes with its webhook');
      assert.equal(await s.webhooks.deliveries.get(ids[0]!), undefined);
    });

    test('prune fails abandoned pending deliveries, deletes old finished ones and the finished jobs of their kind', async (t) => {
      const s = await fresh(t);
      const w = await hook(s);
      const old = await delivery(s, w.id, 1_000);
      await s.webhooks.deliveries.record(old, outcome(1, { at: 1_500, statusCode: 200, error: null, state: 'delivered' }));
      const recent = await delivery(s, w.id, 50_000);
      await s.webhooks.deliveries.record(recent, outcome(1, { at: 50_500, statusCode: 200, error: null, state: 'delivered' }));
      const stuck = await delivery(s, w.id, 2_000);
      const waiting = await delivery(s, w.id, 60_000);
      // The queue's jobs: a finished one of the kind (old), another kind's, and one still queued.
      const claimed = await s.jobs.claim({ kinds: [KIND], now: 1_000, leaseMs: 1_000, holder: 'h', maxAttempts: 3 });
      assert.equal(claimed?.key, `${old}#1`);
      await s.jobs.complete(claimed!.id, 'h', 1_600);
      await s.jobs.enqueue('sbom', 'x', '{}', 1);
      await s.jobs.complete((await s.jobs.claim({ kinds: ['sbom'], now: 1, leaseMs: 1_000, holder: 'h', maxAttempts: 3 }))!.id, 'h', 2);

      const n = await s.webhooks.deliveries.prune({ before: 10_000, abandonBefore: 5_000, jobKind: KIND, now: 70_000 });
      assert.equal(n, 1);
      assert.equal(await s.webhooks.deliveries.get(old), undefined);
      assert.equal((await s.webhooks.deliveries.get(recent))?.state, 'delivered');
      const abandoned = await s.webhooks.deliveries.get(stuck);
      assert.equal(abandoned?.state, 'failed', 'pending past its window: its job was lost');
      assert.match(abandoned?.error ?? '', /abandoned/);
      assert.equal(abandoned?.nextAttemptAt, null);
      assert.equal((await s.webhooks.deliveries.get(waiting))?.state, 'pending');
      assert.equal(await s.jobs.get(KIND, `${old}#1`), undefined, 'the finished job of a pruned delivery');
      assert.equal((await s.jobs.get(KIND, `${waiting}#1`))?.state, 'queued');
      assert.equal((await s.jobs.get('sbom', 'x'))?.state, 'done', "another kind's jobs stay");
    });
  });
}
