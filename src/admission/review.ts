/**
 * Kubernetes' AdmissionReview (admission.k8s.io/v1) in and out: the request checked for shape,
 * the pod spec found in each kind that holds one (a Pod, or the pod template of a workload), every
 * image of its containers, init containers and ephemeral containers with the JSON Pointer of its
 * field, and the response (allowed or denied with a status, warnings, a JSONPatch). Pure.
 */
import { AdmissionError } from './errors.js';

export const REVIEW_API_VERSION = 'admission.k8s.io/v1';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** What the webhook reads of a review's request. */
export interface ReviewRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly subResource?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly operation: Operation;
  readonly dryRun: boolean;
  readonly object: unknown;
  readonly oldObject: unknown;
  readonly user?: string;
}

/** An image of a pod spec, where it is (a JSON Pointer into the object, for the patch). */
export interface ImageSite {
  readonly image: string;
  readonly pointer: string;
  readonly container: string;
}

/** Kinds whose objects hold a pod spec, and where it is. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const ADMITTED_KINDS = Object.keys(POD_SPEC_PATHS);

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The request of a review document; AdmissionError BAD_REVIEW (a 400) when it is none. */
export function parseReview(doc: unknown): ReviewRequest {
  if (!isObject(doc)) throw new AdmissionError('BAD_REVIEW', 'the body is not a JSON object');
  if (doc['kind'] !== 'AdmissionReview') throw new AdmissionError('BAD_REVIEW', `kind is ${JSON.stringify(doc['kind'])}, not AdmissionReview`);
  if (doc['apiVersion'] !== REVIEW_API_VERSION) throw new AdmissionError('BAD_REVIEW', `apiVersion is ${JSON.stringify(doc['apiVersion'])}: this webhook speaks ${REVIEW_API_VERSION} (set admissionReviewVersions: ["v1"])`);
  const r = doc['request'];
  if (!isObject(r)) throw new AdmissionError('BAD_REVIEW', 'the review has no request');
  const uid = r['uid'];
  if (typeof uid !== 'string' || uid === '' || uid.length > 128) throw new AdmissionError('BAD_REVIEW', 'request.uid is missing');
  const kind = r['kind'];
  if (!isObject(kind) || typeof kind['kind'] !== 'string' || typeof kind['version'] !== 'string') throw new AdmissionError('BAD_REVIEW', 'request.kind is missing');
  const operation = r['operation'];
  if (operation !== 'CREATE' && operation !== 'UPDATE' && operation !== 'DELETE' && operation !== 'CONNECT') throw new AdmissionError('BAD_REVIEW', `request.operation ${JSON.stringify(operation)} is not one of CREATE, UPDATE, DELETE, CONNECT`);
  const str = (k: string): string | undefined => (typeof r[k] === 'string' && r[k] !== '' ? (r[k] as string) : undefined);
  const user = isObject(r['userInfo']) && typeof r['userInfo']['username'] === 'string' ? r['userInfo']['username'] : undefined;
  const sub = str('subResource');
  const name = str('name');
  const namespace = str('namespace');
  return {
    uid,
    kind: { group: typeof kind['group'] === 'string' ? kind['group'] : '', version: kind['version'], kind: kind['kind'] },
    ...(sub !== undefined ? { subResource: sub } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    operation,
    dryRun: r['dryRun'] === true,
    object: r['object'] ?? null,
    oldObject: r['oldObject'] ?? null,
    ...(user !== undefined ? { user } : {}),
  };
}

/**
 * Every image of the object's pod spec with its pointer; undefined for an object this webhook does
 * not judge (another kind, a DELETE, a sub-resource other than ephemeral containers).
 * AdmissionError BAD_REVIEW for an object of a judged kind that is malformed.
 */
export function imagesOf(request: ReviewRequest): ImageSite[] | undefined {
  if (request.operation === 'DELETE' || request.operation === 'CONNECT') return undefined;
  const path = POD_SPEC_PATHS[request.kind.kind];
  if (path === undefined) return undefined;
  // Of a pod's sub-resources only ephemeral containers add images (kubectl debug); status,
  // binding and the rest change none.
  if (request.subResource !== undefined && !(request.kind.kind === 'Pod' && request.subResource === 'ephemeralcontainers')) return undefined;
  return podSpecImages(request.object, path, request.kind.kind);
}

/** The images of the pod spec at `path` in `object`, with pointers. */
export function podSpecImages(object: unknown, path: readonly string[], kind: string): ImageSite[] {
  let spec: unknown = object;
  for (const key of path) {
    if (!isObject(spec)) throw new AdmissionError('BAD_REVIEW', `the ${kind} has no ${path.join('.')}`);
    spec = spec[key];
  }
  if (!isObject(spec)) throw new AdmissionError('BAD_REVIEW', `the ${kind} has no ${path.join('.')}`);
  const out: ImageSite[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new AdmissionError('BAD_REVIEW', `${path.join('.')}.${list} is not a list`);
    containers.forEach((c: unknown, i) => {
      if (!isObject(c) || typeof c['image'] !== 'string' || c['image'] === '') throw new AdmissionError('BAD_REVIEW', `${path.join('.')}.${list}[${i}] has no image`);
      out.push({ image: c['image'], pointer: `/${[...path, list, String(i), 'image'].join('/')}`, container: typeof c['name'] === 'string' ? c['name'] : `${list}[${i}]` });
    });
  }
  return out;
}

/** Where a kind keeps its pod spec (for manifests read offline). */
export function podSpecPath(kind: string): readonly string[] | undefined {
  return POD_SPEC_PATHS[kind];
}

export interface ReviewAnswer {
  readonly allowed: boolean;
  /** Why it is denied: the status message the API server shows the user. */
  readonly message?: string;
  readonly code?: number;
  readonly warnings?: readonly string[];
  /** JSONPatch operations (mutating endpoint only). */
  readonly patch?: readonly { readonly op: 'replace'; readonly path: string; readonly value: string }[];
}

/** An AdmissionReview response to `uid`. */
export function reviewResponse(uid: string, answer: ReviewAnswer): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: answer.allowed };
  if (!answer.allowed) response['status'] = { code: answer.code ?? 403, message: answer.message ?? 'denied' };
  // Kubernetes shows at most a few warnings of at most 120 characters comfortably; longer ones are still kept whole.
  if (answer.warnings !== undefined && answer.warnings.length > 0) response['warnings'] = answer.warnings;
  if (answer.allowed && answer.patch !== undefined && answer.patch.length > 0) {
    response['patchType'] = 'JSONPatch';
    response['patch'] = Buffer.from(JSON.stringify(answer.patch)).toString('base64');
  }
  return { apiVersion: REVIEW_API_VERSION, kind: 'AdmissionReview', response };
}
