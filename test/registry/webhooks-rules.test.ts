/**
 * The pure parts of webhooks, table-driven: which registry events become which webhook events,
 * what kind of address the guard sees, and the bodies of the events beyond a push.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EVENT_ACTIONS, type EventAction, type EventOutcome, type TimedEvent } from '../../src/registry/index.js';
import { addressKind, type AddressKind } from '../../src/registry/webhook-addresses.js';
import { deliveryBody, webhookEventOf, type PayloadContext, type WebhookEventType } from '../../src/registry/webhook-payloads.js';

describe('webhookEventOf: the mapping table of docs/webhooks.md', () => {
  const OUTCOMES: readonly EventOutcome[] = ['succeeded', 'failed', 'allowed', 'refused'];
  /** action → outcome → event; anything not listed maps to nothing. */
  const TABLE: Partial<Record<EventAction, Partial<Record<EventOutcome, WebhookEventType>>>> = {
    'artifact.push': { succeeded: 'PUSH_ARTIFACT', allowed: 'PUSH_ARTIFACT' },
    'artifact.pull': { succeeded: 'PULL_ARTIFACT', allowed: 'PULL_ARTIFACT' },
    'artifact.delete': { succeeded: 'DELETE_ARTIFACT', allowed: 'DELETE_ARTIFACT' },
    'scan.complete': { succeeded: 'SCANNING_COMPLETED', allowed: 'SCANNING_COMPLETED' },
    'scan.fail': { succeeded: 'SCANNING_FAILED', failed: 'SCANNING_FAILED', allowed: 'SCANNING_FAILED', refused: 'SCANNING_FAILED' },
    'vulnerability.new': { succeeded: 'NEW_VULNERABILITY', allowed: 'NEW_VULNERABILITY' },
    promotion: { succeeded: 'PROMOTION_SUCCEEDED', allowed: 'PROMOTION_SUCCEEDED', refused: 'PROMOTION_REFUSED' },
    'waiver.request': { succeeded: 'WAIVER_REQUESTED', allowed: 'WAIVER_REQUESTED' },
    'waiver.decide': { succeeded: 'WAIVER_DECIDED', allowed: 'WAIVER_DECIDED', refused: 'WAIVER_DECIDED' },
  };
  test('every action and outcome', () => {
    const actual: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const action of EVENT_ACTIONS) {
      for (const outcome of OUTCOMES) {
        actual[`${action}/${outcome}`] = webhookEventOf({ action, outcome }) ?? '-';
        expected[`${action}/${outcome}`] = TABLE[action]?.[outcome] ?? '-';
      }
    }
    assert.deepEqual(actual, expected);
  });
});

describe('addressKind', () => {
  const CASES: readonly [string, AddressKind | undefined][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'], // NAT64 of 127.0.0.1
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'public'], // documentation: unroutable, and harmless
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['93.184.216.34', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['64:ff9b::808:808', 'public'],
    ['localhost', undefined],
    ['example.com', undefined],
    ['1.2.3', undefined],
  ];
  test('each address', () => {
    const actual = Object.fromEntries(CASES.map(([a]) => [a, addressKind(a)]));
    assert.deepEqual(actual, Object.fromEntries(CASES));
  });
});

describe('bodies beyond a push', () => {
  const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  const ctx = (type: WebhookEventType): PayloadContext => ({ type, repoType: 'public', registryHost: 'reg.example.com' });
  const event = (e: Omit<TimedEvent, 'at' | 'client'>): TimedEvent => ({ ...e, at, client: '10.0.0.9' });
  const digest = `sha256:${'a'.repeat(64)}`;
  const parse = (body: string) => JSON.parse(body) as { type: string; occur_at: number; operator: string; event_data: Record<string, unknown> };

  test('a delete names every tag the artifact had; an untagged one is named by its digest', () => {
    const tagged = parse(deliveryBody(event({ action: 'artifact.delete', actor: 'bob', project: 'team', resource: `team/app@${digest}`, outcome: 'succeeded', detail: { repository: 'team/app', digest, tags: ['1.0', 'latest'] } }), ctx('DELETE_ARTIFACT'), 'default', { id: 'd', webhookId: 1 }));
    assert.equal(tagged.type, 'DELETE_ARTIFACT');
    assert.equal(tagged.occur_at, Math.floor(at / 1000));
    assert.deepEqual(tagged.event_data['resources'], [
      { digest, tag: '1.0', resource_url: 'reg.example.com/team/app:1.0' },
      { digest, tag: 'latest', resource_url: 'reg.example.com/team/app:latest' },
    ]);
    const untagged = parse(deliveryBody(event({ action: 'artifact.delete', actor: 'bob', project: 'team', resource: `team/sub/app@${digest}`, outcome: 'succeeded', detail: { repository: 'team/sub/app', digest, tags: [] } }), ctx('DELETE_ARTIFACT'), 'default', { id: 'd', webhookId: 1 }));
    assert.deepEqual(untagged.event_data['resources'], [{ digest, tag: digest, resource_url: `reg.example.com/team/sub/app@${digest}` }]);
    assert.deepEqual(untagged.event_data['repository'], { name: 'sub/app', namespace: 'team', repo_full_name: 'team/sub/app', repo_type: 'public' });
  });

  test("a completed scan carries Harbor's scan_overview; a failed one its error", () => {
    const done = parse(
      deliveryBody(
        event({ action: 'scan.complete', actor: null, project: 'team', resource: `team/app@${digest}`, outcome: 'succeeded', detail: { repository: 'team/app', digest, summary: { critical: 2, high: 1, medium: 0, low: 3, unknown: 0, fixable: 4 } } }),
        ctx('SCANNING_COMPLETED'),
        'default',
        { id: 'd', webhookId: 1 },
      ),
    );
    assert.equal(done.operator, 'portcullis', 'Portcullis itself acted');
    const [resource] = done.event_data['resources'] as { scan_overview: Record<string, { scan_status: string; severity: string; summary: unknown }> }[];
    const overview = resource!.scan_overview['application/vnd.security.vulnerability.report; version=1.1']!;
    assert.equal(overview.scan_status, 'Success');
    assert.equal(overview.severity, 'Critical');
    assert.deepEqual(overview.summary, { total: 6, fixable: 4, summary: { Critical: 2, High: 1, Low: 3 } });
    // A summary per class: a missing entrypoint (a critical misconfiguration) makes the image critical.
    const perClass = parse(
      deliveryBody(
        event({
          action: 'scan.complete',
          actor: null,
          project: 'team',
          resource: `team/app@${digest}`,
          outcome: 'succeeded',
          detail: { repository: 'team/app', digest, summary: { vulnerabilities: { critical: 0, high: 0, medium: 2, low: 0, unknown: 0, fixable: 1 }, secrets: { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 }, misconfigurations: { critical: 1, high: 0, medium: 0, low: 0, unknown: 0 } } },
        }),
        ctx('SCANNING_COMPLETED'),
        'default',
        { id: 'd', webhookId: 1 },
      ),
    );
    const [pc] = perClass.event_data['resources'] as { scan_overview: Record<string, { severity: string; summary: unknown }> }[];
    const pco = pc!.scan_overview['application/vnd.security.vulnerability.report; version=1.1']!;
    assert.equal(pco.severity, 'Critical');
    assert.deepEqual(pco.summary, { total: 4, fixable: 1, summary: { Critical: 1, High: 1, Medium: 2 } });
    const failed = parse(deliveryBody(event({ action: 'scan.fail', actor: null, project: 'team', resource: `team/app@${digest}`, outcome: 'failed', detail: { repository: 'team/app', digest, error: 'over jobs.maxMemory' } }), ctx('SCANNING_FAILED'), 'default', { id: 'd', webhookId: 1 }));
    const [f] = failed.event_data['resources'] as { scan_overview: Record<string, unknown> }[];
    assert.deepEqual(f!.scan_overview, { 'application/vnd.security.vulnerability.report; version=1.1': { scan_status: 'Error', error: 'over jobs.maxMemory' } });
  });

  test('a refused promotion names its target and carries its gates', () => {
    const gates = [{ gate: 'maxSeverity', passed: false, reason: '14 critical findings', ids: ['CVE-2024-1'] }];
    const e = event({ action: 'promotion', actor: 'ci', project: 'prod', resource: 'prod/app:1.4.2', outcome: 'refused', detail: { source: `staging/app@${digest}`, target: 'prod/app:1.4.2', digest, gates } });
    const body = JSON.parse(deliveryBody(e, ctx('PROMOTION_REFUSED'), 'cloudevents', { id: 'uuid-1', webhookId: 7 })) as Record<string, unknown> & { data: Record<string, unknown> };
    assert.equal(body['type'], 'io.portcullis.promotion.refused');
    assert.equal(body['source'], '/projects/prod/webhooks/7');
    assert.equal(body['id'], 'uuid-1');
    assert.equal(body['time'], new Date(at).toISOString());
    assert.deepEqual(body.data['resources'], [{ digest, tag: '1.4.2', resource_url: 'reg.example.com/prod/app:1.4.2' }]);
    assert.deepEqual(body.data['portcullis'], { action: 'promotion', outcome: 'refused', project: 'prod', resource: 'prod/app:1.4.2', detail: e.detail });
  });

  test('a waiver of a whole project has no resources; a newly affected image lists its new ids', () => {
    const waiver = parse(deliveryBody(event({ action: 'waiver.request', actor: 'dev', project: 'team', resource: 'waiver 7', outcome: 'succeeded', detail: { id: 7, ids: ['CVE-1'] } }), ctx('WAIVER_REQUESTED'), 'default', { id: 'd', webhookId: 1 }));
    assert.equal(waiver.event_data['resources'], undefined);
    assert.equal(waiver.event_data['repository'], undefined);
    assert.deepEqual((waiver.event_data['portcullis'] as { detail: unknown }).detail, { id: 7, ids: ['CVE-1'] });
    const vuln = parse(deliveryBody(event({ action: 'vulnerability.new', actor: null, project: 'team', resource: `team/app@${digest}`, outcome: 'succeeded', detail: { repository: 'team/app', digest, tags: ['1.0'], newVulnerabilities: ['CVE-2025-9'] } }), ctx('NEW_VULNERABILITY'), 'default', { id: 'd', webhookId: 1 }));
    assert.deepEqual(vuln.event_data['resources'], [{ digest, tag: '1.0', resource_url: 'reg.example.com/team/app:1.0' }]);
    assert.deepEqual((vuln.event_data['portcullis'] as { detail: { newVulnerabilities: unknown } }).detail.newVulnerabilities, ['CVE-2025-9']);
  });
});
