import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Digest } from '../../oci/index.js';
import type { ArtifactRecord, ScanResultRecord } from '../../storage/index.js';
import { SCAN_JOB } from '../scan.js';
import { isImageArtifact, summaryJson } from '../scan-summary.js';
import { demand, parse, projectAccess, repositoryName, requireAdmin, type ManagementDeps } from './context.js';
import { ApiError } from './errors.js';

type ArtifactParams = { Params: { project: string; repo: string; reference: string } };

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

  /** The image and its stored result; undefined result when it has none yet. */
  async function lookUp(req: FastifyRequest<ArtifactParams>): Promise<{ name: string; artifact: ArtifactRecord; result: ScanResultRecord | undefined }> {
    const access = await projectAccess(deps, req, req.params.project);
    demand(req, access, 'pull');
    const name = repositoryName(access.project.name, req.params.repo);
    const artifact = await meta.artifacts.getArtifact(name, req.params.reference);
    if (artifact === undefined) throw new ApiError('NOT_FOUND', `artifact ${name}:${req.params.reference} not found`);
    return { name, artifact, result: await meta.scans.get(name, artifact.digest) };
  }

  /**
   * 202 while the scan is queued or running (a request for an image that never had one queues
   * it); a scan that failed for good is `{status: "failed", error}` for the summary and a 404 for the report.
   */
  async function pending(name: string, artifact: ArtifactRecord, reply: FastifyReply, what: 'summary' | 'report'): Promise<FastifyReply> {
    if (!isImageArtifact(artifact)) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} is not a container image: it is not scanned`);
    const job = await meta.jobs.get(SCAN_JOB, `${name}@${artifact.digest}`);
    if (job?.state === 'failed') {
      const error = `${name}@${artifact.digest} could not be scanned: ${job.error ?? 'unknown error'}`;
      if (what === 'report') throw new ApiError('NOT_FOUND', error);
      return reply.send({ status: 'failed', error, attempts: job.attempts });
    }
    // A done job without a result: the image was deleted after its scan and pushed again.
    if (job === undefined || job.state === 'done') await deps.scan.enqueue(name, artifact.digest);
    return reply
      .code(202)
      .header('Retry-After', '5')
      .send({ status: 'pending', job: job === undefined || job.state === 'done' ? 'queued' : job.state, attempts: job?.attempts ?? 0, ...(job?.error !== null && job?.error !== undefined ? { lastError: job.error } : {}) });
  }

  app.get<ArtifactParams>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan', async (req, reply) => {
    const { name, artifact, result } = await lookUp(req);
    if (result === undefined) return pending(name, artifact, reply, 'summary');
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
  });

  app.get<ArtifactParams & { Querystring: { format?: string } }>('/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan/report', async (req, reply) => {
    const format = req.query.format ?? 'json';
    if (!Object.hasOwn(REPORT_FORMATS, format)) throw new ApiError('BAD_REQUEST', `format "${format.slice(0, 40)}" is not one of ${Object.keys(REPORT_FORMATS).join(', ')}`);
    const { name, artifact, result } = await lookUp(req);
    if (result === undefined) return pending(name, artifact, reply, 'report');
    const f = format as keyof typeof REPORT_FORMATS;
    // Findings an approved waiver covers are shown as waived, with the waiver.
    const body = await deps.scan.formattedReport(name, result, f, await deps.gates.decisionsFor(name, artifact.digest as Digest));
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
