/**
 * npm run bench:audit — the audit log's costs, on SQLite (a file, WAL, as `serve` opens it) and
 * PostgreSQL ($PORTCULLIS_BENCH_POSTGRES_URL, default the local test server; skipped when
 * unreachable):
 *   enqueue   what a request pays on the event loop when its event is recorded: the entry made
 *             (detail in canonical JSON) and queued; the append happens after the answer;
 *   append    one event at a time, each awaited (one transaction each: the latency of an entry
 *             reaching the database when the registry is quiet): mean, p50, p99;
 *   burst     20,000 events at once, as under load: events arriving while a transaction is in
 *             flight go together in the next one; time per event and transactions used;
 *   verify    `GET /api/v1/audit/verify`'s walk over 1,000,000 entries (AUDIT_BENCH_ENTRIES), a page
 *             at a time (target ≤ 10 s), with the heap before and after (memory stays flat);
 *   export    the export streamed to a file, and `portcullis audit verify --file`'s check of it.
 * Entries look like a push's (a 64-hex digest in the resource and the detail). Results on stdout,
 * progress on stderr. Not a test: nothing here asserts.
 */
import { appendFileSync, createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AuditLog, auditHash, detailText, ExportVerifier } from '../src/registry/audit.js';
import type { TimedEvent } from '../src/registry/events.js';
import { silentLogger } from '../src/shared/index.js';
import { openPostgresMetadataStore, openSqliteMetadataStore, PostgresDb, type AuditEntry, type AuditStore, type MetadataStore, type SqlMetadataStore } from '../src/storage/index.js';
import { median } from './lib/measure.js';

const ENTRIES = Number(process.env['AUDIT_BENCH_ENTRIES'] ?? 1_000_000);
const POSTGRES_URL = process.env['PORTCULLIS_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const TARGET_VERIFY_S = 10;
const SEQUENTIAL = 2_000;
const BURST = 20_000;
const ENQUEUE = 100_000;
const FILL_BATCH = 10_000;
const log = (m: string): void => void process.stderr.write(`${m}\n`);

const hex = (i: number): string => (i.toString(16).padStart(8, '0') + 'c0ffee00').repeat(4);

function event(i: number): TimedEvent {
  const digest = `sha256:${hex(i)}`;
  return {
    at: Date.now(),
    actor: i % 7 === 0 ? 'robot$ci' : 'alice',
    client: '10.1.2.3',
    action: 'artifact.push',
    project: 'team',
    resource: `team/app@${digest}`,
    outcome: 'succeeded',
    detail: { repository: 'team/app', digest, tag: `1.${i}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', via: 'client' },
  };
}

function entry(i: number, at: number): AuditEntry {
  const e = event(i);
  return { at, actor: e.actor, client: e.client, action: e.action, project: e.project, resource: e.resource, outcome: e.outcome, detail: detailText(e.detail) };
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const us = (ms: number): string => `${(ms * 1000).toFixed(0)} µs`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

interface Backend {
  readonly name: string;
  open(): Promise<SqlMetadataStore>;
  cleanup(): Promise<void>;
}

async function postgresBackend(): Promise<Backend | undefined> {
  const schema = `bench_audit_${process.pid}`;
  const probe = new PostgresDb({ url: POSTGRES_URL, schema });
  try {
    await probe.ensureSchema();
  } catch (err) {
    log(`PostgreSQL at ${POSTGRES_URL} unreachable (${(err as Error).message}): skipped`);
    await probe.close();
    return undefined;
  }
  return {
    name: 'PostgreSQL',
    open: () => openPostgresMetadataStore({ url: POSTGRES_URL, schema }),
    cleanup: async () => {
      await probe.dropSchema();
      await probe.close();
    },
  };
}

function sqliteBackend(dir: string, name: string): Backend {
  return { name: 'SQLite', open: () => openSqliteMetadataStore(join(dir, `${name}.db`)), cleanup: async () => undefined };
}

/** The store's audit log, its append transactions counted (the audit log uses nothing else of the store). */
function counting(store: SqlMetadataStore): { meta: MetadataStore; count: () => number } {
  let n = 0;
  const a = store.audit;
  const audit: AuditStore = { append: (entries, hash) => (n++, a.append(entries, hash)), list: (f) => a.list(f), checkpoint: () => a.checkpoint(), cut: (...args) => a.cut(...args) };
  return { meta: { audit } as MetadataStore, count: () => n };
}

async function appendCosts(backend: Backend, rows: string[]): Promise<void> {
  const store = await backend.open();
  try {
    const { meta, count } = counting(store);
    const audit = new AuditLog({ meta, log: silentLogger, now: Date.now });

    // What a request pays: the entry made and queued (the append itself comes after the answer).
    const events = Array.from({ length: ENQUEUE }, (_, i) => event(i));
    const started = performance.now();
    const pending = events.map((e) => audit.record(e));
    const enqueueMs = (performance.now() - started) / ENQUEUE;
    await Promise.all(pending);
    await audit.flush();

    const times: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t0 = performance.now();
      await audit.record(event(i));
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;

    const before = count();
    const t1 = performance.now();
    await Promise.all(Array.from({ length: BURST }, (_, i) => audit.record(event(i))));
    const burstMs = performance.now() - t1;
    const transactions = count() - before;
    const check = await audit.verify();
    if (!check.ok) throw new Error(`the chain broke: ${JSON.stringify(check.firstBroken)}`);

    rows.push(`| ${backend.name} | enqueue (on the request's event loop) | ${us(enqueueMs)} per event | ${ENQUEUE.toLocaleString('en')} events recorded at once, timed until all are queued |`);
    rows.push(`| ${backend.name} | append, one at a time | mean ${us(mean)}, p50 ${us(percentile(times, 50))}, p99 ${us(percentile(times, 99))} | ${SEQUENTIAL.toLocaleString('en')} events, each awaited: one transaction each |`);
    rows.push(`| ${backend.name} | append, burst | ${us(burstMs / BURST)} per event | ${BURST.toLocaleString('en')} events at once in ${transactions} transactions (${(burstMs / 1000).toFixed(2)} s) |`);
  } finally {
    await store.close();
  }
}

async function verifyCosts(backend: Backend, dir: string, rows: string[]): Promise<void> {
  const store = await backend.open();
  try {
    log(`${backend.name}: appending ${ENTRIES.toLocaleString('en')} entries...`);
    const fillStarted = performance.now();
    const at = Date.now() - ENTRIES;
    for (let i = 0; i < ENTRIES; i += FILL_BATCH) {
      await store.audit.append(
        Array.from({ length: Math.min(FILL_BATCH, ENTRIES - i) }, (_, j) => entry(i + j, at + i + j)),
        auditHash,
      );
    }
    const fillS = (performance.now() - fillStarted) / 1000;
    const audit = new AuditLog({ meta: store, log: silentLogger, now: Date.now });

    const runs: number[] = [];
    const cpu: number[] = [];
    let heap = { before: 0, peak: 0 };
    for (let run = 0; run < 3; run++) {
      global.gc?.();
      const before = process.memoryUsage().heapUsed;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 50);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await audit.verify();
      runs.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e6);
      clearInterval(sampler);
      heap = { before, peak: Math.max(peak, process.memoryUsage().heapUsed) };
      if (!result.ok || result.entries !== ENTRIES) throw new Error(`verify: ${JSON.stringify(result)}`);
      log(`${backend.name}: verify ${runs.at(-1)!.toFixed(2)} s`);
    }
    const verifyS = median(runs);

    const file = join(dir, `${backend.name}.jsonl`);
    const t2 = performance.now();
    writeFileSync(file, '');
    for await (const chunk of audit.exportChunks()) appendFileSync(file, chunk);
    const exportS = (performance.now() - t2) / 1000;
    const t3 = performance.now();
    const offline = new ExportVerifier();
    for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) offline.add(line);
    const fileResult = offline.result();
    const fileS = (performance.now() - t3) / 1000;
    if (!fileResult.ok || fileResult.entries !== ENTRIES) throw new Error(`verify --file: ${JSON.stringify(fileResult)}`);

    const n = ENTRIES.toLocaleString('en');
    rows.push(`| ${backend.name} | fill (setup) | ${fillS.toFixed(1)} s | ${n} entries appended ${FILL_BATCH.toLocaleString('en')} a transaction |`);
    rows.push(
      `| ${backend.name} | verify | **${verifyS.toFixed(2)} s** (${runs.map((r) => r.toFixed(2)).join(', ')}) | ${n} entries, median of 3 (this process's CPU: ${median(cpu).toFixed(2)} s); target ≤ ${TARGET_VERIFY_S} s: ${verifyS <= TARGET_VERIFY_S ? 'met' : 'MISSED'}; heap ${mb(heap.before)} before, ${mb(heap.peak)} at most |`,
    );
    rows.push(`| ${backend.name} | export to a file | ${exportS.toFixed(2)} s | ${mb(statSync(file).size)} of JSON lines |`);
    rows.push(`| ${backend.name} | verify --file (offline) | ${fileS.toFixed(2)} s | the same check on the export, line by line |`);
    rmSync(file, { force: true });
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const rows: string[] = [];
  const backends: (() => Promise<Backend | undefined>)[] = [async () => sqliteBackend(dir, 'append'), postgresBackend];
  try {
    for (const make of backends) {
      const b = await make();
      if (b === undefined) continue;
      try {
        log(`${b.name}: append costs...`);
        await appendCosts(b, rows);
      } finally {
        await b.cleanup();
      }
    }
    for (const make of [async () => sqliteBackend(dir, 'verify'), postgresBackend]) {
      const b = await make();
      if (b === undefined) continue;
      try {
        await verifyCosts(b, dir, rows);
      } finally {
        await b.cleanup();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`audit log benchmark — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadBefore} before, ${loadavg().map((x) => x.toFixed(2)).join(' ')} after\n\n`);
  process.stdout.write(`| database | what | cost | how |\n|---|---|---|---|\n${rows.join('\n')}\n`);
}

await main();
