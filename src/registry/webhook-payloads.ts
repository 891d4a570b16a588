/**
 * What a webhook receives: which registry events are which webhook events (Harbor's names and
 * Portcullis's own), their bodies (Harbor's default shape or CloudEvents 1.0), and the signature
 * of a body (HMAC-SHA256 with the webhook's secret). Pure.
 */
import { createHmac } from 'node:crypto';
import type { EventAction, EventOutcome, TimedEvent } from './events.js';

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
