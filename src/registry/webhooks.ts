/**
 * Webhooks: the events a project subscribed to, posted to its receivers through the durable job
 * queue. `handle` only records the deliveries (with the jobs of their first attempts), so the
 * request that caused an event never waits for a receiver; workers post each delivery signed with
 * the webhook's secret and retry it with exponential backoff for a day, recording every attempt.
 *
 * A receiver's address is checked when the webhook is created and again at every attempt, after
 * the name is resolved: every address it resolves to must pass, and the connection goes to the
 * address that was checked (a DNS answer that changes in between, "DNS rebinding", changes
 * nothing). Link-local and cloud metadata addresses are refused always; loopback, private ranges
 * and the registry itself unless `webhooks.allowPrivate` is set (docs/webhooks.md).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { AppError, type Logger } from '../shared/index.js';
import type { MetadataStore, WebhookRecord, WebhookStore } from '../storage/index.js';
import type { TimedEvent } from './events.js';
import { JobWorker, PermanentJobFailure, DEFAULT_LEASE_MS, type RunningJob } from './job-worker.js';
import { AddressGuard, type Resolver } from './webhook-addresses.js';
import { CONTENT_TYPES, deliveryBody, signatureOf, webhookEventOf, type PayloadContext, type WebhookEventType, type WebhookFormat } from './webhook-payloads.js';

export { WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS, type WebhookEventType, type WebhookFormat } from './webhook-payloads.js';

// The delivery log's types, named through the port (storage/index.ts exports the store itself).
type DeliveryLog = WebhookStore['deliveries'];
export type WebhookDelivery = NonNullable<Awaited<ReturnType<DeliveryLog['get']>>>;
type DeliveryJob = Parameters<DeliveryLog['add']>[0][number]['job'];
type AttemptOutcome = Parameters<DeliveryLog['record']>[1];

/** The job kind of a delivery's attempts. */
export const WEBHOOK_JOB = 'webhook-delivery';


/** At most this many webhooks per project: each event is posted once per webhook. */
export const MAX_WEBHOOKS_PER_PROJECT = 32;

/** The first retry waits this long; each one after twice as long as the one before, up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 3_600_000;
/** How long a delivery is retried: no attempt starts later than this after the event. */
export const DELIVERY_WINDOW_MS = 24 * 3_600_000;
/** One attempt, from the connection to the end of the response excerpt. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** How much of a response body the log keeps. */
const RESPONSE_EXCERPT_BYTES = 512;
/** How long delivered and failed deliveries stay in the log. */
const RETENTION_MS = 7 * 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;

/** 10 s, 20 s, 40 s, … doubled after each failed attempt, at most an hour. */
export function defaultBackoffMs(attempt: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
}

// ---------------------------------------------------------------- the service

export type WebhookErrorCode = 'URL_INVALID' | 'URL_REFUSED' | 'PROJECT_UNKNOWN' | 'TOO_MANY_WEBHOOKS';

export class WebhookError extends AppError<WebhookErrorCode> {
  constructor(code: WebhookErrorCode, message: string) {
    super(code, message);
    this.name = 'WebhookError';
  }
}

export interface WebhookServiceDeps {
  readonly meta: MetadataStore;
  readonly log: Logger;
  readonly now: () => number;
  /** This replica's id: who holds the leases of the deliveries it runs. */
  readonly holder: string;
  /**
   * `webhooks.allowPrivate`: receivers on loopback, private networks and the registry's own host
   * may be reached (link-local and metadata addresses never). Default false.
   */
  readonly allowPrivate?: boolean;
  /** `externalUrl`: its host names the resources in bodies, and is the registry itself to the guard. */
  readonly registryUrl?: string | undefined;
  /** The wait after failed attempt n (from 1); default 10 s doubled each time, at most an hour. */
  readonly backoffMs?: (attempt: number) => number;
  /** How long after its event a delivery is retried; default 24 h. */
  readonly windowMs?: number;
  /** One attempt's limit; default 10 s. */
  readonly timeoutMs?: number;
  /** Deliveries posted at once by this replica (one slow receiver holds one of them); default 4. */
  readonly concurrency?: number;
  /** How often idle workers look for deliveries other replicas queued; default 2 s. */
  readonly pollMs?: number;
  readonly leaseMs?: number;
  /** How long webhooks are cached per project (other replicas' changes show after it); default 5 s. */
  readonly cacheMs?: number;
  /** Resolves host names (tests inject one); default the system's resolver. */
  readonly resolve?: Resolver;
}

/** What a new webhook is made of (validated by the API route, but for its URL). */
export interface NewWebhook {
  readonly project: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  /** Undefined: one is made, and returned this once. */
  readonly secret: string | undefined;
  readonly format: WebhookFormat;
  readonly createdBy: string | null;
}

interface AttemptResult {
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly response: string | null;
  /** Whether a later attempt may succeed (false for a refused or invalid URL). */
  readonly retry: boolean;
}

interface ProjectHooks {
  readonly at: number;
  readonly hooks: readonly WebhookRecord[];
  readonly repoType: 'public' | 'private';
}

export class WebhookService {
  private readonly workers: JobWorker[];
  private readonly guard: AddressGuard;
  private readonly cache = new Map<string, ProjectHooks>();
  private wakeTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  private lastPrune = 0;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.guard = new AddressGuard({ allowPrivate: deps.allowPrivate ?? false, registryUrl: deps.registryUrl, resolve: deps.resolve });
    const n = Math.max(1, deps.concurrency ?? 4);
    this.workers = Array.from(
      { length: n },
      (_, i) =>
        new JobWorker({
          what: 'webhook',
          kinds: [WEBHOOK_JOB],
          jobs: deps.meta.jobs,
          holder: deps.holder,
          log: deps.log,
          now: deps.now,
          pollMs: deps.pollMs ?? 2000,
          leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS,
          run: (job) => this.run(job),
          ...(i === 0 ? { onDrain: () => this.pruneNow() } : {}),
        }),
    );
  }

  /** Queues a delivery to every webhook of the event's project that subscribed to it; posts nothing itself. */
  async handle(e: TimedEvent): Promise<void> {
    const type = webhookEventOf(e);
    if (type === undefined || e.project === null) return;
    const project = await this.hooksOf(e.project);
    const hooks = project.hooks.filter((h) => h.enabled && h.events.includes(type));
    if (hooks.length === 0) return;
    const context: PayloadContext = { type, repoType: project.repoType, registryHost: this.registryHost() };
    const now = this.deps.now();
    const items = hooks.map((h) => {
      const id = randomUUID();
      return { delivery: { id, webhookId: h.id, event: type, payload: deliveryBody(e, context, h.format === 'cloudevents' ? 'cloudevents' : 'default', { id, webhookId: h.id }), createdAt: now }, job: attemptJob(id, 1, now) };
    });
    const added = await this.deps.meta.webhooks.deliveries.add(items);
    if (added > 0) this.wake();
  }

  start(): void {
    for (const w of this.workers) w.start();
  }

  /** Stops claiming; resolves when the attempts in hand have ended (each goes back to the queue). */
  async stop(): Promise<void> {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer.timer);
    this.wakeTimer = undefined;
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  // ---- management

  /** Creates a webhook after checking its URL; resolves to it and to the secret when one was made. */
  async create(w: NewWebhook): Promise<{ webhook: WebhookRecord; generatedSecret: string | undefined }> {
    const url = await this.checkNewUrl(w.url);
    const existing = await this.deps.meta.webhooks.list(w.project);
    if (existing.length >= MAX_WEBHOOKS_PER_PROJECT) throw new WebhookError('TOO_MANY_WEBHOOKS', `project "${w.project}" has ${existing.length} webhooks already, the most it may have: delete one first`);
    const generated = w.secret === undefined ? randomBytes(32).toString('hex') : undefined;
    const webhook = await this.deps.meta.webhooks.create({
      project: w.project,
      url: url.href,
      events: [...new Set(w.events)],
      secret: w.secret ?? generated!,
      format: w.format,
      enabled: true,
      createdAt: this.deps.now(),
      createdBy: w.createdBy,
    });
    if (webhook === undefined) throw new WebhookError('PROJECT_UNKNOWN', `project "${w.project}" not found`);
    this.cache.delete(w.project);
    this.deps.log.info({ project: w.project, webhook: webhook.id, receiver: url.origin, events: webhook.events, format: webhook.format }, 'webhook created');
    return { webhook, generatedSecret: generated };
  }

  async list(project: string): Promise<WebhookRecord[]> {
    return this.deps.meta.webhooks.list(project);
  }

  /** The project's webhook `id`; undefined when there is none (or it is another project's). */
  async get(project: string, id: number): Promise<WebhookRecord | undefined> {
    const w = await this.deps.meta.webhooks.get(id);
    return w?.project === project ? w : undefined;
  }

  /** Deletes the webhook and its log; its deliveries still queued post nothing. */
  async delete(project: string, id: number): Promise<boolean> {
    const deleted = await this.deps.meta.webhooks.delete(project, id);
    this.cache.delete(project);
    if (deleted) this.deps.log.info({ project, webhook: id }, 'webhook deleted');
    return deleted;
  }

  /** A page of the webhook's delivery log, newest first. */
  deliveries(webhookId: number, page: { limit: number; after?: string }): Promise<WebhookDelivery[]> {
    return this.deps.meta.webhooks.deliveries.list(webhookId, page);
  }

  private async checkNewUrl(text: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new WebhookError('URL_INVALID', 'url: not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookError('URL_INVALID', `url: ${url.protocol.replace(/:$/, '')} is not http or https`);
    if (url.username !== '' || url.password !== '') throw new WebhookError('URL_INVALID', 'url: credentials in the URL are not accepted: receivers verify the X-Portcullis-Signature header instead');
    if (url.hash !== '') throw new WebhookError('URL_INVALID', 'url: a URL with a #fragment is not accepted');
    const check = await this.guard.check(url);
    // A name that does not resolve now may later: every attempt checks it again.
    if (check.kind === 'refused') throw new WebhookError('URL_REFUSED', `url: refused: ${check.reason}`);
    return url;
  }

  // ---- deliveries

  private registryHost(): string | undefined {
    if (this.deps.registryUrl === undefined) return undefined;
    try {
      return new URL(this.deps.registryUrl).host;
    } catch {
      return undefined;
    }
  }

  private async hooksOf(project: string): Promise<ProjectHooks> {
    const now = this.deps.now();
    const cached = this.cache.get(project);
    if (cached !== undefined && now - cached.at < (this.deps.cacheMs ?? 5000)) return cached;
    const hooks = await this.deps.meta.webhooks.list(project);
    // The visibility is read only for projects with webhooks (the body's repo_type).
    const repoType = hooks.length > 0 && (await this.deps.meta.projects.get(project))?.public === true ? 'public' : 'private';
    const fresh: ProjectHooks = { at: now, hooks, repoType };
    this.cache.set(project, fresh);
    return fresh;
  }

  private wake(): void {
    for (const w of this.workers) w.wake();
  }

  /** Wakes the workers when a retry is due (the poll would find it too, later). */
  private wakeAt(at: number): void {
    if (this.workers[0]!.stopped) return;
    if (this.wakeTimer !== undefined && this.wakeTimer.at <= at) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer.timer);
    const timer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wake();
      },
      Math.max(0, at - this.deps.now()) + 5,
    );
    timer.unref();
    this.wakeTimer = { at, timer };
  }

  private async pruneNow(): Promise<void> {
    const now = this.deps.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const window = this.deps.windowMs ?? DELIVERY_WINDOW_MS;
    try {
      const n = await this.deps.meta.webhooks.deliveries.prune({ before: now - RETENTION_MS, abandonBefore: now - window - 3_600_000, jobKind: WEBHOOK_JOB, now });
      if (n > 0) this.deps.log.info({ deliveries: n }, 'pruned the webhook delivery log');
    } catch (err) {
      this.deps.log.warn({ err }, 'could not prune the webhook delivery log');
    }
  }

  /** One attempt of one delivery: posts it, records the outcome and queues the next attempt, if any. */
  private async run(job: RunningJob): Promise<void> {
    const { meta, log, now } = this.deps;
    let target: { delivery: string; attempt: number };
    try {
      target = JSON.parse(job.record.payload) as { delivery: string; attempt: number };
      if (typeof target.delivery !== 'string' || !Number.isSafeInteger(target.attempt) || target.attempt < 1) throw new Error('bad payload');
    } catch {
      await job.fail(new PermanentJobFailure('the job payload is not {delivery, attempt}'));
      return;
    }
    try {
      const d = await meta.webhooks.deliveries.get(target.delivery);
      // Gone with its webhook, or this attempt was recorded before its job ended (a replica died): nothing to do.
      if (d === undefined || d.state !== 'pending' || d.attempts >= target.attempt) return await job.complete();
      const hook = await meta.webhooks.get(d.webhookId);
      if (hook === undefined) return await job.complete();
      const started = now();
      const result = await this.post(hook, d, job.signal);
      // Stopping (the job goes back to the queue) or the lease was lost: record nothing.
      if (job.signal.aborted) return;
      const at = now();
      const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
      const nextAt = at + (this.deps.backoffMs ?? defaultBackoffMs)(target.attempt);
      const retry = !ok && result.retry && nextAt <= d.createdAt + (this.deps.windowMs ?? DELIVERY_WINDOW_MS);
      const outcome: AttemptOutcome = {
        attempt: target.attempt,
        at,
        durationMs: at - started,
        statusCode: result.statusCode,
        error: ok ? null : (result.error ?? `the receiver answered ${result.statusCode}`),
        response: result.response,
        state: ok ? 'delivered' : retry ? 'pending' : 'failed',
        next: retry ? attemptJob(d.id, target.attempt + 1, nextAt) : null,
      };
      await meta.webhooks.deliveries.record(d.id, outcome);
      await job.complete();
      const fields = { project: d.project, webhook: hook.id, delivery: d.id, event: d.event, attempt: target.attempt, status: result.statusCode, ms: outcome.durationMs };
      if (ok) log.info(fields, 'webhook delivered');
      else if (retry) {
        log.warn({ ...fields, err: outcome.error, retryAt: new Date(nextAt).toISOString() }, 'webhook delivery failed: retrying');
        this.wakeAt(nextAt);
      } else log.warn({ ...fields, err: outcome.error }, 'webhook delivery failed for good');
    } catch (err) {
      if (job.signal.aborted) return;
      // The store failed: this attempt runs again (the queue's own retry).
      const { message, retrying } = await job.fail(err);
      log.error({ delivery: target.delivery, attempt: target.attempt, err: message, retrying }, 'could not run a webhook delivery');
    }
  }

  /** Posts the delivery's body to the webhook's receiver once, at the address the guard checked. */
  private async post(hook: WebhookRecord, d: WebhookDelivery, signal: AbortSignal): Promise<AttemptResult> {
    let url: URL;
    try {
      url = new URL(hook.url);
    } catch {
      return { statusCode: null, error: 'the webhook URL is not valid', response: null, retry: false };
    }
    const check = await this.guard.check(url);
    if (check.kind === 'refused') return { statusCode: null, error: `refused: ${check.reason}`, response: null, retry: false };
    if (check.kind === 'unresolved' || check.address === undefined) return { statusCode: null, error: check.kind === 'unresolved' ? check.reason : 'no address', response: null, retry: true };
    const address = check.address;
    const family = isIP(address.replace(/%.*$/, ''));
    // Every connection goes to the checked address, whatever the resolver answers now.
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if (options.all === true) callback(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const body = Buffer.from(d.payload, 'utf8');
    const format: WebhookFormat = hook.format === 'cloudevents' ? 'cloudevents' : 'default';
    const timeoutMs = this.deps.timeoutMs ?? ATTEMPT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const https = url.protocol === 'https:';
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const done = (r: AttemptResult) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      const req = (https ? httpsRequest : httpRequest)(
        {
          method: 'POST',
          hostname,
          port: url.port === '' ? undefined : Number(url.port),
          path: `${url.pathname}${url.search}`,
          lookup: pinned,
          // A connection of its own, to the pinned address; never one a pool kept.
          agent: false,
          signal: AbortSignal.any([signal, timeout]),
          ...(https && isIP(hostname) === 0 ? { servername: hostname } : {}),
          headers: {
            'Content-Type': CONTENT_TYPES[format],
            'Content-Length': String(body.length),
            'User-Agent': 'Portcullis-Webhooks',
            'X-Portcullis-Event': d.event,
            'X-Portcullis-Delivery': d.id,
            'X-Portcullis-Signature': signatureOf(hook.secret, body),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const finish = () => {
            const response = cleanExcerpt(Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES));
            done({ statusCode: res.statusCode ?? null, error: null, response, retry: true });
            res.destroy();
          };
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= RESPONSE_EXCERPT_BYTES) finish();
          });
          res.on('end', finish);
          res.on('error', finish);
          res.on('close', finish);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        const error = timeout.aborted ? `no answer within ${timeoutMs / 1000} s` : signal.aborted ? 'stopped' : `${err.code ?? 'error'}: ${err.message}`;
        done({ statusCode: null, error, response: null, retry: true });
      });
      req.end(body);
    });
  }
}

/** The job of attempt `attempt` of delivery `id`, due at `at`. */
function attemptJob(id: string, attempt: number, at: number): DeliveryJob {
  return { kind: WEBHOOK_JOB, key: `${id}#${attempt}`, payload: JSON.stringify({ delivery: id, attempt }), runAfter: at };
}

/** The start of a response body as text the log can keep (no control characters, no NULs). */
function cleanExcerpt(bytes: Buffer): string | null {
  if (bytes.length === 0) return null;
  // eslint-disable-next-line no-control-regex
  return bytes.toString('utf8').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd');
}
