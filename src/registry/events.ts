/**
 * What happens in the registry, told once to whoever must know: the audit log appends every
 * change and every decision, webhooks deliver the ones projects subscribed to. Emitters say what
 * happened; sinks decide what to keep. A sink's failure is logged and never undoes or fails what
 * happened (the push is stored; its audit entry failing is an operator's problem, in the log).
 */
import type { Logger } from '../shared/index.js';

/** Every kind of event, closed: the audit log's `action` and the webhooks' source. */
export const EVENT_ACTIONS = [
  'login',
  'artifact.push',
  'artifact.pull',
  'artifact.delete',
  'tag.delete',
  'repository.delete',
  'scan.complete',
  'scan.fail',
  'vulnerability.new',
  'policy.update',
  'trusted-key.add',
  'trusted-key.delete',
  'signing-key.create',
  'signing-key.delete',
  'artifact.sign',
  'promotion',
  'waiver.request',
  'waiver.decide',
  'user.create',
  'user.update',
  'user.delete',
  'project.create',
  'project.update',
  'project.delete',
  'member.set',
  'member.remove',
  'robot.create',
  'robot.update',
  'robot.delete',
  'webhook.create',
  'webhook.delete',
  'gc',
] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

/** `succeeded` and `failed` for acts; `allowed` and `refused` for decisions (a pull, a promotion). */
export type EventOutcome = 'succeeded' | 'failed' | 'allowed' | 'refused';

export interface RegistryEvent {
  readonly action: EventAction;
  /** The user or robot who acted; null for Portcullis itself. */
  readonly actor: string | null;
  readonly client: string | null;
  /** The project the resource belongs to, when it belongs to one. */
  readonly project: string | null;
  /** What was acted on: `team/app@sha256:…`, `team/app:1.0`, `user alice`, `waiver 7`, … */
  readonly resource: string;
  readonly outcome: EventOutcome;
  /** Facts for the record and the webhooks (never a secret). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface TimedEvent extends RegistryEvent {
  readonly at: number;
}

export type EventSink = (e: TimedEvent) => Promise<void>;

export class EventBus {
  private readonly sinks: { readonly name: string; readonly sink: EventSink }[] = [];

  constructor(
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  /** Adds a sink; `name` names it in the log when it fails. */
  add(name: string, sink: EventSink): void {
    this.sinks.push({ name, sink });
  }

  /** Tells every sink; resolves when all have taken it (or failed, which is logged). */
  async emit(event: RegistryEvent): Promise<void> {
    const e: TimedEvent = { ...event, at: this.now() };
    await Promise.all(
      this.sinks.map(({ name, sink }) =>
        sink(e).catch((err: unknown) => this.log.error({ err, sink: name, action: e.action, resource: e.resource }, 'an event sink failed')),
      ),
    );
  }
}
