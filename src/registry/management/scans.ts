import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Digest } from '../../oci/index.js';
import type { ArtifactRecord, ScanResultRecord } from '../../storage/index.js';
import { SCAN_JOB } from '../scan.js';
import { platformImages } from '../platform-images.js';
import { addSummaries, isImageArtifact, summaryJson } from '../scan-summary.js';
import { forPlatform } from './platform.js';
import { demand, parse, projectAccess, repositoryName, requireAdmin, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

type ArtifactParams = { Params: { project: string; repo: string; reference: string } };

type ScanState =
  | { readonly status: 'done'; readonly result: ScanResultRecord }
  | { readonly status: 'pending'; readonly job: string; readonly attempts: number; readonly lastError?: string }
  | { readonly status: 'failed'; readonly error: string; readonly attempts: number };

type DoneJson = {
  readonly status: 'done';
  readonly summary: Record<string, unknown>;
  readonly vulnerabilitiesEvaluated: boolean;
  readonly dbBuiltAt: string | null;
  readonly scannedAt: string;
  readonly warnings: readonly string[];
};

const REPORT_FORMATS = {
  json: 'application/json',
  sarif: 'application/sarif+json',
  table: 'text/plain; charset=utf-8',
} as const;

/**
 * Scan results of images (pull right on the repository, as the image itself) and the
 * re-evaluation of every stored image against the current advisory DB (system administrators).
 */
export function registerScanRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { meta } = deps;

  /** The artifact a request names (pull right on its repository, as the image itself). */
  async function lookUp(req: FastifyRequest<ArtifactParams>): Promise<{ name: string; artifact: ArtifactRecord }> {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const name = repositoryName(access.project.name, req.params.repo);
    const artifact = await meta.artifacts.getArtifact(name, req.params.reference);
    if (artifact === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
    return { name, artifact };
  }

  /**
   * Where an image's scan stands: its stored result; pending while the scan is queued or running
   * (an image that never had one, or whose result went with a delete and push, is queued now);
   * failed for good with the reason.
   */
  async function stateOf(name: string, artifact: ArtifactRecord): Promise<ScanState> {
    const result = await meta.scans.get(name, artifact.digest);
    if (result !== undefined) return { status: 'done', result };
    const job = await meta.jobs.get(SCAN_JOB, `${name}@${artifact.digest}`);
    if (job?.state === 'failed') return { status: 'failed', error: `${name}@${artifact.digest} could not be scanned: ${job.error ?? 'unknown error'}`, attempts: job.attempts };
    // A done job without a result: the image was deleted after its scan and pushed again.
    if (job === undefined || job.state === 'done') await deps.scan.enqueue(name, artifact.digest);
    return { status: 'pending', job: job === undefined || job.state === 'done' ? 'queued' : job.state, attempts: job?.attempts ?? 0, ...(job?.error !== null && job?.error !== undefined ? { lastError: job.error } : {}) };
  }

  /** A stored result as the API shows it, with the warnings of its DB's age. */
  function doneJson(result: ScanResultRecord): DoneJson {
    const warnings: string[] = [...result.warnings];
    if (result.dbBuiltAt === null) warnings.push('vulnerabilities were not evaluated: there was no advisory DB when the image was scanned (secrets and configuration were)');
    else if (deps.now() - Date.parse(result.dbBuiltAt) > deps.scan.maxDbAgeMs) warnings.push(`the advisory DB these results come from was built at ${result.dbBuiltAt}, longer ago than scan.maxDbAge: recent vulnerabilities are missing`);
    return {
      status: 'done',
      summary: summaryJson(result.summary),
      vulnerabilitiesEvaluated: result.dbBuiltAt !== null,
      dbBuiltAt: result.dbBuiltAt,
      scannedAt: new Date(result.scannedAt).toISOString(),
      warnings,
    };
  }

  const stateJson = (state: ScanState): Record<string, unknown> => {
    if (state.status === 'done') return doneJson(state.result);
    const { status, ...rest } = state;
    return { status, ...rest };
  };

  /**
   * An image: its summary (202 while pending; `{status: "failed", error}` when it failed for good).
   * A multi-platform index: every platform's entry and the roll-up of those done, as Harbor rolls
   * up an index (pending while any platform is; done when any is done, a failed platform named in
   * the warnings; failed when all failed).
   */
  app.get<ArtifactParams>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan', async (req, reply) => {
    const { name, artifact } = await lookUp(req);
    const images = await platformImages(meta, name, artifact);
    if (images === undefined) {
      if (!isImageArtifact(artifact)) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} is not a container image: it is not scanned`);
      const state = await stateOf(name, artifact);
      return reply.code(state.status === 'pending' ? 202 : 200).headers(state.status === 'pending' ? { 'Retry-After': '5' } : {}).send(stateJson(state));
    }
    if (images.length === 0) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} is an index that lists no container image of a platform: it is not scanned`);
    const states: ScanState[] = [];
    for (const image of images) states.push(await stateOf(name, image.artifact));
    // Each platform's entry, made once: the roll-up reads the done ones.
    const entries = states.map(stateJson);
    const done = entries.filter((e): e is DoneJson => e['status'] === 'done');
    const pending = states.some((s) => s.status === 'pending');
    const warnings = images.flatMap((image, i) => {
      const s = states[i]!;
      if (s.status === 'failed') return [`${image.platform}: ${s.error}`];
      return s.status === 'done' ? (entries[i] as DoneJson).warnings.map((w) => `${image.platform}: ${w}`) : [];
    });
    const body = {
      status: pending ? 'pending' : done.length > 0 ? 'done' : 'failed',
      summary: summaryJson(addSummaries(states.flatMap((s) => (s.status === 'done' ? [s.result.summary] : [])))),
      vulnerabilitiesEvaluated: done.length > 0 && done.every((d) => d.vulnerabilitiesEvaluated),
      // The oldest: the roll-up is as current as its least current platform.
      dbBuiltAt: done.some((d) => d.dbBuiltAt === null) ? null : (done.map((d) => d.dbBuiltAt!).sort()[0] ?? null),
      scannedAt: done.map((d) => d.scannedAt).sort()[0] ?? null,
      warnings,
      platforms: images.map((image, i) => ({ platform: image.platform, digest: image.digest, ...entries[i]! })),
    };
    return reply.code(pending ? 202 : 200).headers(pending ? { 'Retry-After': '5' } : {}).send(body);
  });

  app.get<ArtifactParams & { Querystring: { format?: string; platform?: string } }>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan/report', async (req, reply) => {
    const format = req.query.format ?? 'json';
    if (!Object.hasOwn(REPORT_FORMATS, format)) throw new ApiError('BAD_REQUEST', `format "${format.slice(0, 40)}" is not one of ${Object.keys(REPORT_FORMATS).join(', ')}`);
    const { name, artifact: named } = await lookUp(req);
    const artifact = await forPlatform(meta, name, named, req.query.platform, 'scan report');
    if (!isImageArtifact(artifact)) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} is not a container image: it is not scanned`);
    const state = await stateOf(name, artifact);
    if (state.status === 'failed') throw new ApiError('NOT_FOUND', state.error);
    if (state.status === 'pending') return reply.code(202).header('Retry-After', '5').send(stateJson(state));
    const f = format as keyof typeof REPORT_FORMATS;
    // Findings an approved waiver covers are shown as waived, with the waiver.
    const body = await deps.scan.formattedReport(name, state.result, f, await deps.gates.decisionsFor(name, artifact.digest as Digest));
    if (body === undefined) throw new ApiError('NOT_FOUND', `the scan report of ${name}@${artifact.digest} is listed but its content is gone`);
    return reply.header('Content-Type', REPORT_FORMATS[f]).send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });

  app.post('/api/v1/system/vulndb/reevaluate', async (req) => {
    const p = requireAdmin(req);
    parse(z.object({}).strict(), req.body);
    deps.log.info({ actor: p.name }, 're-evaluation requested');
    const outcome = await deps.scan.reevaluate();
    if (outcome.kind === 'no-db') throw new ApiError('CONFLICT', `nothing to evaluate against: ${outcome.reason}`);
    return { dbBuiltAt: outcome.dbBuiltAt, evaluated: outcome.evaluated, skipped: outcome.skipped, newlyAffected: outcome.newlyAffected };
  });
}
