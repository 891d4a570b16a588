import { MAX_MANIFEST_BYTES, MediaType, OciError, digestOf, isDigest, isTag, parseDigest, parseManifest, parseRepositoryName, type Digest } from '../../oci/index.js';
import { clientAddress } from '../auth/client-address.js';
import type { PullRefusal } from '../gates.js';
import { authorize, challenge, originOf, type RequestContext } from './context.js';
import { readBody, type Reply } from './http.js';

/** Largest page a listing returns, whatever `n` asks for. */
const MAX_PAGE = 10_000;

type Reference = { readonly kind: 'digest'; readonly digest: Digest } | { readonly kind: 'tag'; readonly tag: string };

function parseReference(reference: string, forWrite: boolean): Reference {
  if (reference.includes(':')) return { kind: 'digest', digest: parseDigest(reference).digest };
  if (!isTag(reference)) {
    throw forWrite
      ? new OciError('MANIFEST_INVALID', `invalid tag "${reference.slice(0, 130)}": up to 128 characters of [A-Za-z0-9_.-], not starting with . or -`)
      : new OciError('MANIFEST_UNKNOWN', `manifest unknown: invalid tag "${reference.slice(0, 130)}"`);
  }
  return { kind: 'tag', tag: reference };
}

export async function getManifest(ctx: RequestContext, name: string, reference: string): Promise<Reply> {
  await authorize(ctx, name, 'pull');
  parseReference(reference, false);
  const head = ctx.req.method === 'HEAD';
  const { deps } = ctx;
  const m = await deps.meta.artifacts.getManifest(name, reference, !head);
  if (m === undefined) throw new OciError('MANIFEST_UNKNOWN', `manifest unknown: ${name}${reference.includes(':') ? '@' : ':'}${reference}`, { detail: { name, reference } });
  // The gate judges pulls of content; HEAD only names the manifest (as in Harbor), which is what
  // signing an image that is not yet signed needs.
  const refusal = head ? undefined : await deps.gates.checkPull(name, m.digest, async () => (m.content === undefined ? undefined : { bytes: m.content, mediaType: m.mediaType }));
  if (refusal !== undefined) await refusePull(ctx, name, reference, m.digest, refusal);
  const headers = {
    'Content-Type': m.mediaType,
    'Docker-Content-Digest': m.digest,
    'Content-Length': m.size,
    ETag: `"${m.digest}"`,
  };
  if (!head) {
    // Told, not awaited: a pull never waits for the audit log or webhooks.
    const origin = originOf(ctx, clientAddress(ctx.req, deps.options.trustProxy));
    void deps.events.emit({ action: 'artifact.pull', actor: origin.actor ?? null, client: origin.client ?? null, project: parseRepositoryName(name).project, resource: `${name}@${m.digest}`, outcome: 'allowed', detail: { repository: name, digest: m.digest, ...(isDigest(reference) ? {} : { tag: reference }) } });
  }
  const inm = ctx.req.headers['if-none-match'];
  if (inm !== undefined && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${m.digest}"`)) {
    return { status: 304, headers: { 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"` } };
  }
  return head ? { status: 200, headers } : { status: 200, headers, body: m.content! };
}

/** 412 with every failed gate in words and as data; the refusal is an event (the audit log keeps it). */
async function refusePull(ctx: RequestContext, name: string, reference: string, digest: Digest, refusal: PullRefusal): Promise<never> {
  const failed = refusal.decision.gates.filter((g) => !g.passed);
  const ids = [...new Set(failed.flatMap((g) => (g.gate === 'signature' ? [] : g.ids)))];
  const how =
    ids.length > 0
      ? ` To pull it, fix the image, or ask the security team to approve a waiver: portcullis waiver request --project ${refusal.project} --repository ${name} --digest ${digest} ${ids
          .slice(0, 5)
          .map((id) => `--id ${id}`)
          .join(' ')} --reason "…" --expires 30d`
      : '';
  const message = `pull of ${name}${reference.includes(':') ? '@' : ':'}${reference} refused by the policy of project ${refusal.project}: ${failed.map((g) => g.reason).join('; ')}.${how}`;
  const origin = originOf(ctx, clientAddress(ctx.req, ctx.deps.options.trustProxy));
  await ctx.deps.events.emit({
    action: 'artifact.pull',
    actor: origin.actor ?? null,
    client: origin.client ?? null,
    project: refusal.project,
    resource: `${name}@${digest}`,
    outcome: 'refused',
    detail: { repository: name, digest, gates: failed.map((g) => ({ gate: g.gate, reason: g.reason, ids: g.ids })) },
  });
  throw new OciError('DENIED', message, { status: 412, detail: { gates: failed.map((g) => ({ gate: g.gate, reason: g.reason, ids: [...g.ids] })) } });
}

export async function putManifest(ctx: RequestContext, name: string, reference: string): Promise<Reply> {
  await authorize(ctx, name, 'push');
  const ref = parseReference(reference, true);
  const { deps, req } = ctx;
  const body = await readBody(req, MAX_MANIFEST_BYTES, () => new OciError('MANIFEST_INVALID', `manifest exceeds the ${MAX_MANIFEST_BYTES}-byte limit`, { status: 413 }));
  const algorithm = ref.kind === 'digest' ? parseDigest(ref.digest).algorithm : 'sha256';
  if (ref.kind === 'digest') {
    // Checked before anything is stored: content that does not hash to the digest it is put under is refused whole.
    parseManifest(body, req.headers['content-type']);
    const digest = digestOf(body, algorithm);
    if (ref.digest !== digest) throw new OciError('DIGEST_INVALID', `manifest hashes to ${digest}, not ${ref.digest}`, { detail: { digest: ref.digest } });
  }
  const origin = originOf(ctx, clientAddress(req, deps.options.trustProxy));
  const { digest, manifest } = await deps.writer.putManifest(name, body, req.headers['content-type'], ref.kind === 'tag' ? ref.tag : null, origin, algorithm);
  deps.log.info({ repository: name, digest, tag: ref.kind === 'tag' ? ref.tag : undefined, mediaType: manifest.mediaType }, 'manifest stored');
  const headers: Record<string, string | number> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 };
  if (manifest.subject !== undefined) headers['OCI-Subject'] = manifest.subject.digest;
  return { status: 201, headers };
}

export async function deleteManifest(ctx: RequestContext, name: string, reference: string): Promise<Reply> {
  await authorize(ctx, name, 'delete');
  const ref = parseReference(reference, true);
  const { deps } = ctx;
  const origin = originOf(ctx, clientAddress(ctx.req, deps.options.trustProxy));
  if (ref.kind === 'tag') {
    await deps.writer.deleteTag(name, ref.tag, origin);
    deps.log.info({ repository: name, tag: ref.tag }, 'tag deleted');
    return { status: 202 };
  }
  await deps.writer.deleteManifest(name, ref.digest, origin);
  deps.log.info({ repository: name, digest: ref.digest }, 'manifest deleted');
  return { status: 202 };
}

function pageParams(url: URL): { limit: number; after: string | undefined; asked: number | undefined } {
  const n = url.searchParams.get('n');
  let asked: number | undefined;
  if (n !== null) {
    asked = Number(n);
    if (!/^\d+$/.test(n) || !Number.isSafeInteger(asked)) throw new OciError('PAGINATION_NUMBER_INVALID', `invalid n=${n.slice(0, 20)}: expected a non-negative integer`);
  }
  const last = url.searchParams.get('last') ?? undefined;
  return { limit: Math.min(asked ?? MAX_PAGE, MAX_PAGE), after: last, asked };
}

function nextLink(path: string, limit: number, last: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ ...extra, n: String(limit), last });
  return `<${path}?${q.toString()}>; rel="next"`;
}

export async function listTags(ctx: RequestContext, name: string): Promise<Reply> {
  await authorize(ctx, name, 'pull');
  const page = pageParams(ctx.url);
  if (page.limit === 0) return { status: 200, body: { name, tags: [] } };
  const tags = await ctx.deps.meta.artifacts.listTags(name, { limit: page.limit + 1, after: page.after });
  if (tags === undefined) throw new OciError('NAME_UNKNOWN', `repository name not known to registry: ${name}`, { detail: { name } });
  const headers: Record<string, string> = {};
  if (tags.length > page.limit) {
    tags.length = page.limit;
    headers['Link'] = nextLink(`/v2/${name}/tags/list`, page.limit, tags.at(-1)!);
  }
  return { status: 200, headers, body: { name, tags } };
}

export async function catalog(ctx: RequestContext): Promise<Reply> {
  const { deps, caller } = ctx;
  if (caller.kind === 'anonymous') {
    throw new OciError('UNAUTHORIZED', 'authentication required', { headers: { 'WWW-Authenticate': challenge(ctx, 'registry:catalog:*') } });
  }
  const principal = caller.kind === 'basic' ? caller.principal : caller.claims.access.some((a) => a.type === 'registry' && a.name === 'catalog') ? await deps.auth.principalOf(caller.claims.subject) : undefined;
  if (principal === undefined) {
    throw new OciError('UNAUTHORIZED', 'authentication required', { headers: { 'WWW-Authenticate': challenge(ctx, 'registry:catalog:*', 'insufficient_scope') } });
  }
  const page = pageParams(ctx.url);
  if (page.limit === 0) return { status: 200, body: { repositories: [] } };
  const repos = await deps.meta.artifacts.listRepositories(null, await deps.auth.visibility(principal), { limit: page.limit + 1, after: page.after });
  const names = repos.map((r) => r.name);
  const headers: Record<string, string> = {};
  if (names.length > page.limit) {
    names.length = page.limit;
    headers['Link'] = nextLink('/v2/_catalog', page.limit, names.at(-1)!);
  }
  return { status: 200, headers, body: { repositories: names } };
}

export async function referrers(ctx: RequestContext, name: string, rawDigest: string): Promise<Reply> {
  await authorize(ctx, name, 'pull');
  const subject = parseDigest(rawDigest).digest;
  const artifactType = ctx.url.searchParams.get('artifactType');
  const { deps } = ctx;
  if ((await deps.meta.artifacts.getRepository(name)) === undefined) throw new OciError('NAME_UNKNOWN', `repository name not known to registry: ${name}`);
  const found = await deps.meta.artifacts.referrers(name, subject, artifactType);
  const headers: Record<string, string> = { 'Content-Type': MediaType.OciIndex };
  if (artifactType !== null) headers['OCI-Filters-Applied'] = 'artifactType';
  const manifests = found.map((r) => ({
    mediaType: r.mediaType,
    digest: r.digest,
    size: r.size,
    ...(r.artifactType !== null ? { artifactType: r.artifactType } : {}),
    ...(r.annotations !== null ? { annotations: r.annotations } : {}),
  }));
  return { status: 200, headers, body: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests })) };
}
