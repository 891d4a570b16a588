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
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { AppError, type Logger } from '../shared/index.js';
import type { MetadataStore, WebhookRecord, WebhookStore } from '../storage/index.js';
import type { EventAction, EventOutcome, TimedEvent } from './events.js';
import { JobWorker, PermanentJobFailure, DEFAULT_LEASE_MS, type RunningJob } from './job-worker.js';

// The delivery log's types, named through the port (storage/index.ts exports the store itself).
type DeliveryLog = WebhookStore['deliveries'];
export type WebhookDelivery = NonNullable<Awaited<ReturnType<DeliveryLog['get']>>>;
type DeliveryJob = Parameters<DeliveryLog['add']>[0][number]['job'];
type AttemptOutcome = Parameters<DeliveryLog['record']>[1];

/** The job kind of a delivery's attempts. */
export const WEBHOOK_JOB = 'webhook-delivery';

/** The events a webhook may subscribe to: Harbor's names, and Portcullis's own. */
export const WEBHOOK_EVENT_TYPES = [
  'PUSH_ARTIFACT',
  'PULL_ARTIFACT',
  'DELETE_ARTIFACT',
  'SCANNING_COMPLETED',
  'SCANNING_FAILED',
  'PROMOTION_SUCCEEDED',
  'PROMOTION_REFUSED',
  'WAIVER_REQUESTED',
  'WAIVER_DECIDED',
  'NEW_VULNERABILITY',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WEBHOOK_FORMATS = ['default', 'cloudevents'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

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
/** A resolution that takes longer is a failed attempt (the resolver's own timeouts are longer). */
const RESOLVE_TIMEOUT_MS = 5_000;

/** 10 s, 20 s, 40 s, … doubled after each failed attempt, at most an hour. */
export function defaultBackoffMs(attempt: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
}

// ---------------------------------------------------------------- events

const HARBOR_ACTIONS: Partial<Record<EventAction, WebhookEventType>> = {
  'artifact.push': 'PUSH_ARTIFACT',
  'artifact.pull': 'PULL_ARTIFACT',
  'artifact.delete': 'DELETE_ARTIFACT',
  'scan.complete': 'SCANNING_COMPLETED',
  'scan.fail': 'SCANNING_FAILED',
  'vulnerability.new': 'NEW_VULNERABILITY',
  'waiver.request': 'WAIVER_REQUESTED',
  'waiver.decide': 'WAIVER_DECIDED',
};

/** Outcomes that report what happened (as opposed to an attempt that failed, or was refused). */
const HAPPENED: ReadonlySet<EventOutcome> = new Set(['succeeded', 'allowed']);

/**
 * The webhook event of a registry event, or undefined when webhooks are not told of it (a table
 * in docs/webhooks.md). Acts that failed or were refused are not events of their kind (a refused
 * push stored nothing), except a promotion, whose refusal is an event of its own, and a scan,
 * whose failure is.
 */
export function webhookEventOf(e: Pick<TimedEvent, 'action' | 'outcome'>): WebhookEventType | undefined {
  switch (e.action) {
    case 'promotion':
      return HAPPENED.has(e.outcome) ? 'PROMOTION_SUCCEEDED' : e.outcome === 'refused' ? 'PROMOTION_REFUSED' : undefined;
    case 'scan.fail':
      return 'SCANNING_FAILED';
    case 'waiver.decide':
      // Approved (allowed) or rejected (refused): both are decisions.
      return e.outcome === 'failed' ? undefined : 'WAIVER_DECIDED';
    default: {
      const type = HARBOR_ACTIONS[e.action];
      return type !== undefined && HAPPENED.has(e.outcome) ? type : undefined;
    }
  }
}

/** CloudEvents `type`s: Harbor's for Harbor's events (receivers written for Harbor read them), ours for the rest. */
const CLOUDEVENT_TYPES: Readonly<Record<WebhookEventType, string>> = {
  PUSH_ARTIFACT: 'harbor.artifact.pushed',
  PULL_ARTIFACT: 'harbor.artifact.pulled',
  DELETE_ARTIFACT: 'harbor.artifact.deleted',
  SCANNING_COMPLETED: 'harbor.scan.completed',
  SCANNING_FAILED: 'harbor.scan.failed',
  PROMOTION_SUCCEEDED: 'io.portcullis.promotion.succeeded',
  PROMOTION_REFUSED: 'io.portcullis.promotion.refused',
  WAIVER_REQUESTED: 'io.portcullis.waiver.requested',
  WAIVER_DECIDED: 'io.portcullis.waiver.decided',
  NEW_VULNERABILITY: 'io.portcullis.vulnerability.new',
};

export const CONTENT_TYPES: Readonly<Record<WebhookFormat, string>> = {
  default: 'application/json',
  cloudevents: 'application/cloudevents+json; charset=utf-8',
};

const HARBOR_REPORT_TYPE = 'application/vnd.security.vulnerability.report; version=1.1';

interface HarborResource {
  readonly digest?: string;
  readonly tag: string;
  readonly resource_url?: string;
  readonly scan_overview?: Record<string, unknown>;
}

/** What the bodies are made of: the project's visibility and the registry's host name the resources. */
export interface PayloadContext {
  readonly type: WebhookEventType;
  /** `public` or `private`, as Harbor's `repo_type`. */
  readonly repoType: 'public' | 'private';
  /** The registry host of `externalUrl`; undefined: resource URLs are the repository names alone. */
  readonly registryHost: string | undefined;
}

const str = (d: Readonly<Record<string, unknown>> | undefined, key: string): string | undefined => (typeof d?.[key] === 'string' && d[key] !== '' ? (d[key] as string) : undefined);
const strs = (d: Readonly<Record<string, unknown>> | undefined, key: string): string[] => (Array.isArray(d?.[key]) ? (d[key] as unknown[]).filter((x): x is string => typeof x === 'string') : []);

/** `team/app` and the digest or tag of `team/app@sha256:…` or `team/app:1.0`. */
function splitReference(ref: string): { repository: string; digest?: string; tag?: string } {
  const at = ref.indexOf('@');
  if (at > 0) return { repository: ref.slice(0, at), digest: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref };
}

/** Harbor's `event_data` of an event, with Portcullis's facts beside it under `portcullis`. */
export function eventData(e: TimedEvent, c: PayloadContext): Record<string, unknown> {
  const d = e.detail;
  // Where the image is: a promotion's is its target; any other's is its repository.
  const target = c.type === 'PROMOTION_SUCCEEDED' || c.type === 'PROMOTION_REFUSED' ? splitReference(str(d, 'target') ?? '') : undefined;
  const fromResource = /^[a-z0-9]/.test(e.resource) && !e.resource.includes(' ') ? splitReference(e.resource) : undefined;
  const repository = target?.repository || str(d, 'repository') || fromResource?.repository;
  const digest = str(d, 'digest') ?? target?.digest ?? fromResource?.digest;
  const tags = target?.tag !== undefined ? [target.tag] : str(d, 'tag') !== undefined ? [str(d, 'tag')!] : strs(d, 'tags').length > 0 ? strs(d, 'tags') : fromResource?.tag !== undefined ? [fromResource.tag] : [];
  const host = c.registryHost === undefined ? '' : `${c.registryHost}/`;

  const out: Record<string, unknown> = {};
  if (repository !== undefined && digest !== undefined) {
    const overview = scanOverview(c.type, d);
    const resource = (tag: string | undefined): HarborResource => ({
      digest,
      // Harbor names an untagged artifact by its digest here.
      tag: tag ?? digest,
      resource_url: tag === undefined ? `${host}${repository}@${digest}` : `${host}${repository}:${tag}`,
      ...(overview !== undefined ? { scan_overview: overview } : {}),
    });
    out['resources'] = tags.length === 0 ? [resource(undefined)] : tags.map(resource);
  }
  if (repository !== undefined) {
    const slash = repository.indexOf('/');
    out['repository'] = { name: repository.slice(slash + 1), namespace: slash > 0 ? repository.slice(0, slash) : (e.project ?? ''), repo_full_name: repository, repo_type: c.repoType };
  }
  out['portcullis'] = { action: e.action, outcome: e.outcome, project: e.project, resource: e.resource, ...(d !== undefined ? { detail: d } : {}) };
  return out;
}

/** Harbor's `scan_overview` of a scan event: the report's status, worst severity and counts. */
function scanOverview(type: WebhookEventType, d: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined {
  if (type === 'SCANNING_FAILED') return { [HARBOR_REPORT_TYPE]: { scan_status: 'Error', ...(str(d, 'error') !== undefined ? { error: str(d, 'error') } : {}) } };
  if (type !== 'SCANNING_COMPLETED') return undefined;
  const { counts, fixable } = severityCounts(d?.['summary']);
  const worst = Object.entries(counts).find(([, v]) => v > 0)?.[0] ?? 'None';
  return {
    [HARBOR_REPORT_TYPE]: {
      scan_status: 'Success',
      severity: worst,
      summary: { total: Object.values(counts).reduce((a, b) => a + b, 0), fixable, summary: Object.fromEntries(Object.entries(counts).filter(([, v]) => v > 0)) },
      scanner: { name: 'Portcullis', vendor: 'Portcullis' },
    },
  };
}

const objectOf = (x: unknown): Record<string, unknown> => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {});
const numberOf = (o: Record<string, unknown>, k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : 0);

/**
 * Findings by severity in Harbor's names, of every class (a missing entrypoint is as critical as a
 * CVE), from a scan summary: per class (`{vulnerabilities: {critical, …, fixable}, secrets: {…},
 * misconfigurations: {…}}`) or flat (`{critical, …, fixable}`).
 */
function severityCounts(summary: unknown): { counts: Record<string, number>; fixable: number } {
  const s = objectOf(summary);
  const classes = ['vulnerabilities', 'secrets', 'misconfigurations'].map((k) => objectOf(s[k])).filter((c) => Object.keys(c).length > 0);
  const parts = classes.length > 0 ? classes : [s];
  const sum = (k: string) => parts.reduce((n, p) => n + numberOf(p, k), 0);
  return {
    counts: { Critical: sum('critical'), High: sum('high'), Medium: sum('medium'), Low: sum('low'), Unknown: sum('unknown') },
    fixable: numberOf(classes.length > 0 ? objectOf(s['vulnerabilities']) : s, 'fixable'),
  };
}

/** The body of one delivery, in the webhook's format. */
export function deliveryBody(e: TimedEvent, c: PayloadContext, format: WebhookFormat, delivery: { id: string; webhookId: number }): string {
  const operator = e.actor ?? 'portcullis';
  const data = eventData(e, c);
  if (format === 'cloudevents') {
    return JSON.stringify({
      specversion: '1.0',
      id: delivery.id,
      source: `/projects/${e.project ?? ''}/webhooks/${delivery.webhookId}`,
      type: CLOUDEVENT_TYPES[c.type],
      time: new Date(e.at).toISOString(),
      datacontenttype: 'application/json',
      operator,
      data,
    });
  }
  return JSON.stringify({ type: c.type, occur_at: Math.floor(e.at / 1000), operator, event_data: data });
}

/** `X-Portcullis-Signature`: the HMAC-SHA256 of the exact body bytes under the secret. */
export function signatureOf(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

// ---------------------------------------------------------------- addresses

/** What an address is, for the guard: `public` passes; see ALWAYS_REFUSED and PRIVATE. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'self' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

/** Refused even with `webhooks.allowPrivate`: nothing legitimate listens there, credentials do. */
const ALWAYS_REFUSED: ReadonlySet<AddressKind> = new Set(['link-local', 'metadata', 'unspecified', 'multicast', 'reserved']);

const DESCRIPTIONS: Readonly<Record<Exclude<AddressKind, 'public'>, string>> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  self: 'the registry itself',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
};

/** The 16 bytes of an IPv6 address, or of an IPv4 one mapped (::ffff:a.b.c.d); undefined when `s` is neither. */
export function ipBytes(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  const ip = zone >= 0 ? s.slice(0, zone) : s;
  const version = isIP(ip);
  if (version === 4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ip.split('.').map(Number)]);
  if (version !== 6) return undefined;
  let text = ip;
  const last = text.lastIndexOf(':');
  if (text.slice(last + 1).includes('.')) {
    const [a, b, c, d] = text.slice(last + 1).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, last + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const groups = (h: string | undefined): number[] => (h === undefined || h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const all = halves.length === 2 ? [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (all.length !== 8) return undefined;
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/** [kind, address, prefix length] over the 16-byte form: the most specific first. */
const RANGES: readonly (readonly [AddressKind, string, number])[] = [
  ['metadata', '169.254.169.254', 128],
  ['metadata', '100.100.100.200', 128], // Alibaba Cloud
  ['metadata', 'fd00:ec2::254', 128], // AWS over IPv6
  ['unspecified', '0.0.0.0', 96 + 8], // "this network"
  ['loopback', '127.0.0.0', 96 + 8],
  ['link-local', '169.254.0.0', 96 + 16],
  ['private', '10.0.0.0', 96 + 8],
  ['private', '172.16.0.0', 96 + 12],
  ['private', '192.168.0.0', 96 + 16],
  ['private', '100.64.0.0', 96 + 10], // carrier-grade NAT
  ['private', '198.18.0.0', 96 + 15], // benchmarking networks
  ['reserved', '192.0.0.0', 96 + 24],
  ['multicast', '224.0.0.0', 96 + 4],
  ['reserved', '240.0.0.0', 96 + 4], // and the broadcast address
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['link-local', 'fe80::', 10],
  ['private', 'fc00::', 7], // unique local
  ['private', 'fec0::', 10], // site-local (deprecated)
  ['private', '64:ff9b:1::', 48], // local-use NAT64
  ['multicast', 'ff00::', 8],
  ['reserved', '100::', 64], // discard-only
];
const PARSED_RANGES = RANGES.map(([kind, address, bits]) => ({ kind, bytes: ipBytes(address)!, bits }));

function inPrefix(ip: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (prefix[i]! & mask)) return false;
  }
  return true;
}

/** The IPv4 address an IPv6 one carries (NAT64, 6to4, IPv4-compatible), mapped; undefined when none. */
function embeddedV4(ip: Uint8Array): Uint8Array | undefined {
  const mapped = (a: number, b: number, c: number, d: number) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
  if (inPrefix(ip, ipBytes('64:ff9b::')!, 96) || inPrefix(ip, ipBytes('::')!, 96)) return mapped(ip[12]!, ip[13]!, ip[14]!, ip[15]!);
  if (ip[0] === 0x20 && ip[1] === 0x02) return mapped(ip[2]!, ip[3]!, ip[4]!, ip[5]!);
  return undefined;
}

/** What kind of address `address` (IPv4 or IPv6, with or without a zone) is; undefined when it is no IP address. */
export function addressKind(address: string): AddressKind | undefined {
  const ip = ipBytes(address);
  if (ip === undefined) return undefined;
  const direct = PARSED_RANGES.find((r) => inPrefix(ip, r.bytes, r.bits))?.kind;
  if (direct !== undefined) return direct;
  const v4 = embeddedV4(ip);
  return (v4 === undefined ? undefined : PARSED_RANGES.find((r) => inPrefix(v4, r.bytes, r.bits))?.kind) ?? 'public';
}

/** Host names that are a metadata service wherever they resolve. */
const METADATA_NAMES: ReadonlySet<string> = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** The addresses a host name resolves to (every one, IPv4 and IPv6); a test injects its own. */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

const systemResolver: Resolver = async (hostname) => (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export type TargetCheck =
  | { readonly kind: 'allowed'; readonly address: string | undefined }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'unresolved'; readonly reason: string };

export interface AddressGuardOptions {
  readonly allowPrivate: boolean;
  /** The registry's external URL: its host is the registry itself. */
  readonly registryUrl?: string | undefined;
  readonly resolve?: Resolver | undefined;
  /** This machine's addresses; default: its network interfaces'. */
  readonly localAddresses?: (() => readonly string[]) | undefined;
}

/** Decides whether a URL's host may be reached, and which address to connect to. */
export class AddressGuard {
  private readonly resolve: Resolver;
  private registryAddresses: { at: number; addresses: readonly string[] } | undefined;

  constructor(private readonly o: AddressGuardOptions) {
    this.resolve = o.resolve ?? systemResolver;
  }

  /** Refused, with the reason, or undefined when an address of this kind may be reached. */
  private refusal(kind: AddressKind, what: string): string | undefined {
    if (kind === 'public') return undefined;
    if (ALWAYS_REFUSED.has(kind) || !this.o.allowPrivate) return `${what} is ${DESCRIPTIONS[kind]}${ALWAYS_REFUSED.has(kind) ? '' : ' (set webhooks.allowPrivate to allow it)'}`;
    return undefined;
  }

  /**
   * Checks `url`'s host: by name, then every address it resolves to. `allowed` names the address to
   * connect to (undefined for a name that does not resolve now, which only `create` accepts).
   */
  async check(url: URL): Promise<TargetCheck> {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
    const literal = addressKind(host);
    if (literal !== undefined) {
      const refused = this.refusal(literal, host) ?? this.refusal((await this.isSelf([host])) ? 'self' : 'public', host);
      return refused === undefined ? { kind: 'allowed', address: host } : { kind: 'refused', reason: refused };
    }
    if (METADATA_NAMES.has(host)) return { kind: 'refused', reason: `${host} is ${DESCRIPTIONS.metadata}` };
    const byName = host === 'localhost' || host.endsWith('.localhost') ? 'loopback' : this.registryHostname() === host ? 'self' : 'public';
    const nameRefused = this.refusal(byName, host);
    if (nameRefused !== undefined) return { kind: 'refused', reason: nameRefused };
    let addresses: readonly string[];
    try {
      addresses = await withTimeout(this.resolve(host), RESOLVE_TIMEOUT_MS, `resolving ${host} took over ${RESOLVE_TIMEOUT_MS / 1000} s`);
    } catch (err) {
      return { kind: 'unresolved', reason: `could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    if (addresses.length === 0) return { kind: 'unresolved', reason: `${host} resolves to no address` };
    for (const a of addresses) {
      const refused = this.refusal(addressKind(a) ?? 'reserved', `${host} resolves to ${a}, which`);
      if (refused !== undefined) return { kind: 'refused', reason: refused };
    }
    if (await this.isSelf(addresses)) {
      const refused = this.refusal('self', `${host} resolves to an address of the registry, which`);
      if (refused !== undefined) return { kind: 'refused', reason: refused };
    }
    return { kind: 'allowed', address: addresses[0] };
  }

  private registryHostname(): string | undefined {
    if (this.o.registryUrl === undefined) return undefined;
    try {
      return new URL(this.o.registryUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
    } catch {
      return undefined;
    }
  }

  /** Whether any of `addresses` is one of this machine's or one the registry's external host resolves to. */
  private async isSelf(addresses: readonly string[]): Promise<boolean> {
    if (this.o.allowPrivate) return false;
    const mine = new Set([...(this.o.localAddresses ?? interfaceAddresses)(), ...(await this.registryHostAddresses())].map(canonical));
    return addresses.some((a) => mine.has(canonical(a)));
  }

  private async registryHostAddresses(): Promise<readonly string[]> {
    const host = this.registryHostname();
    if (host === undefined) return [];
    if (addressKind(host) !== undefined) return [host];
    const now = Date.now();
    if (this.registryAddresses === undefined || now - this.registryAddresses.at > 300_000) {
      const addresses = await withTimeout(this.resolve(host), RESOLVE_TIMEOUT_MS, 'timed out').catch(() => [] as readonly string[]);
      this.registryAddresses = { at: now, addresses };
    }
    return this.registryAddresses.addresses;
  }
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** One spelling per address (the 16 bytes in hex). */
function canonical(address: string): string {
  const b = ipBytes(address);
  return b === undefined ? address : Buffer.from(b).toString('hex');
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
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
