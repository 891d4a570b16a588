/** The authorization table's types, shared by the modules that add rows to it. */
import type { TestServer } from '../../helpers/server.js';

export const WHO = ['anonymous', 'outsider', 'guest', 'developer', 'maintainer', 'projectAdmin', 'robot', 'admin'] as const;
export type Who = (typeof WHO)[number];
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Expected statuses in WHO order: anonymous, outsider, guest, developer, maintainer, projectAdmin, robot, admin. */
export type Expect = readonly [number, number, number, number, number, number, number, number];

export interface Req {
  readonly path: string;
  readonly body?: unknown;
}

export interface Row {
  readonly method: Method;
  /** The route as registered with fastify. */
  readonly route: string;
  /** What distinguishes this row from others on the same route. */
  readonly note: string;
  /** The request one principal sends; may first create fresh resources, so mutating rows do not interfere. */
  readonly request: (who: Who) => Req | Promise<Req>;
  readonly expect: Expect;
  /** Checks the request's effect: a refused request changed nothing, an accepted one did its work. */
  readonly verify?: (req: Req, status: number) => Promise<void>;
}

/** What a module of rows gets to build its requests: the server, the project the rows are for, and helpers. */
export interface RowContext {
  readonly s: TestServer;
  /** `team` (private) or `open` (public). */
  readonly project: string;
  /** `/api/v1/projects/${project}` */
  readonly P: string;
  /** A row: its expected statuses in WHO order (deletions check that the resource went exactly when they succeeded). */
  row(method: Method, route: string, note: string, request: Row['request'], expect: Expect): Row;
  /** A name no other row uses. */
  fresh(prefix: string): string;
  /** A fresh project with the same memberships as `project`. */
  freshProject(): Promise<string>;
  /** A fresh repository of `project` holding one image (tag latest); resolves to its name within the project. */
  freshRepo(): Promise<string>;
}
