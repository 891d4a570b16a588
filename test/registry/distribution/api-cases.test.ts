/**
 * Table-driven HTTP cases of the Distribution API (SQLite): one request each against a small
 * fixture, with the status, error code and headers the OCI Distribution Spec v1.1 asks for.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { OCI_INDEX, OCI_MANIFEST, descriptor, digestOf, errorsOf, makeImage, pushImage, randomBlob, request, sharedServer, startUpload, type Body, type Target } from '../../helpers/push.js';
import { basicAuth, createProject, type TestServer } from '../../helpers/server.js';

interface Fixture {
  readonly s: TestServer;
  readonly image: ReturnType<typeof makeImage>;
  /** Location of an open upload session in fx/app. */
  readonly upload: string;
}

type Auth = 'admin' | 'none' | 'wrong-password' | 'garbage-token';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string | ((f: Fixture) => string);
  readonly auth?: Auth;
  readonly headers?: Record<string, string> | ((f: Fixture) => Record<string, string>);
  readonly body?: Body | ((f: Fixture) => Body);
  readonly status: number;
  /** Error code the body must carry (error responses other than HEAD). */
  readonly code?: string;
  /** Headers the response must carry: exact value, pattern, or a function of the fixture. */
  readonly expect?: Record<string, string | RegExp | ((f: Fixture) => string)>;
}

const index0 = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
const challengeFor = (scope?: string, error?: string) => (f: Fixture) =>
  `Bearer realm="http://${f.s.host}/service/token",service="portcullis"${scope ? `,scope="${scope}"` : ''}${error ? `,error="${error}"` : ''}`;

const CASES: readonly Case[] = [
  // --- base and authentication
  { name: 'base endpoint with credentials', method: 'GET', path: '/v2/', status: 200 },
  { name: 'base endpoint without credentials', method: 'GET', path: '/v2/', auth: 'none', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': challengeFor() } },
  { name: 'base endpoint, wrong password', method: 'GET', path: '/v2/', auth: 'wrong-password', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': /^Bearer realm=/ } },
  { name: 'base endpoint, garbage token', method: 'GET', path: '/v2/', auth: 'garbage-token', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': challengeFor(undefined, 'invalid_token') } },
  { name: 'private pull, anonymous', method: 'GET', path: '/v2/fx/app/manifests/v1', auth: 'none', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': challengeFor('repository:fx/app:pull') } },
  { name: 'private HEAD, anonymous', method: 'HEAD', path: '/v2/fx/app/manifests/v1', auth: 'none', status: 401, expect: { 'www-authenticate': challengeFor('repository:fx/app:pull') } },
  { name: 'private push, anonymous', method: 'POST', path: '/v2/fx/app/blobs/uploads/', auth: 'none', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': challengeFor('repository:fx/app:pull,push') } },
  { name: 'private delete, anonymous', method: 'DELETE', path: (f) => `/v2/fx/app/manifests/${f.image.digest}`, auth: 'none', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': /scope="repository:fx\/app:delete"/ } },
  { name: 'public pull, anonymous', method: 'GET', path: '/v2/pubfx/app/manifests/v1', auth: 'none', status: 200, expect: { 'content-type': OCI_MANIFEST, 'docker-content-digest': (f) => f.image.digest } },
  { name: 'public push, anonymous', method: 'POST', path: '/v2/pubfx/app/blobs/uploads/', auth: 'none', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': /scope="repository:pubfx\/app:pull,push"/ } },
  { name: 'catalog, anonymous', method: 'GET', path: '/v2/_catalog', auth: 'none', status: 401, code: 'UNAUTHORIZED', expect: { 'www-authenticate': challengeFor('registry:catalog:*') } },

  // --- names
  { name: 'upper-case name', method: 'GET', path: '/v2/Fx/App/manifests/v1', status: 400, code: 'NAME_INVALID' },
  { name: 'single-segment name', method: 'GET', path: '/v2/app/manifests/v1', status: 400, code: 'NAME_INVALID' },
  { name: 'upper-case name on push', method: 'POST', path: '/v2/fx/App/blobs/uploads/', status: 400, code: 'NAME_INVALID' },
  { name: 'single-segment name on push', method: 'POST', path: '/v2/fx/blobs/uploads/', status: 400, code: 'NAME_INVALID' },
  { name: 'name with a bad separator', method: 'GET', path: '/v2/fx/a..b/tags/list', status: 400, code: 'NAME_INVALID' },
  { name: 'blob push to a missing project (admin)', method: 'POST', path: '/v2/noproject/app/blobs/uploads/', status: 404, code: 'NAME_UNKNOWN' },
  { name: 'monolithic push to a missing project (admin)', method: 'POST', path: `/v2/noproject/app/blobs/uploads/?digest=${digestOf('abc')}`, body: 'abc', status: 404, code: 'NAME_UNKNOWN' },
  { name: 'manifest push to a missing project (admin)', method: 'PUT', path: '/v2/noproject/app/manifests/v1', headers: { 'Content-Type': OCI_INDEX }, body: index0, status: 404, code: 'NAME_UNKNOWN' },

  // --- pulls
  { name: 'manifest by tag', method: 'GET', path: '/v2/fx/app/manifests/v1', status: 200, expect: { 'content-type': OCI_MANIFEST, 'docker-content-digest': (f) => f.image.digest, 'content-length': (f) => String(f.image.manifest.byteLength) } },
  { name: 'manifest HEAD by digest', method: 'HEAD', path: (f) => `/v2/fx/app/manifests/${f.image.digest}`, status: 200, expect: { 'docker-content-digest': (f) => f.image.digest, 'content-length': (f) => String(f.image.manifest.byteLength) } },
  { name: 'manifest, If-None-Match', method: 'GET', path: '/v2/fx/app/manifests/v1', headers: (f) => ({ 'If-None-Match': `"${f.image.digest}"` }), status: 304, expect: { 'docker-content-digest': (f) => f.image.digest } },
  { name: 'unknown tag', method: 'GET', path: '/v2/fx/app/manifests/nope', status: 404, code: 'MANIFEST_UNKNOWN' },
  { name: 'unknown manifest digest', method: 'GET', path: `/v2/fx/app/manifests/${digestOf('nope')}`, status: 404, code: 'MANIFEST_UNKNOWN' },
  { name: 'unknown manifest HEAD', method: 'HEAD', path: '/v2/fx/app/manifests/nope', status: 404 },
  { name: 'manifest in an unknown repository', method: 'GET', path: '/v2/fx/none/manifests/v1', status: 404, code: 'MANIFEST_UNKNOWN' },
  { name: 'unknown blob', method: 'GET', path: `/v2/fx/app/blobs/${digestOf('nope')}`, status: 404, code: 'BLOB_UNKNOWN' },
  { name: 'unknown blob HEAD', method: 'HEAD', path: `/v2/fx/app/blobs/${digestOf('nope')}`, status: 404 },
  { name: 'blob with an invalid digest', method: 'GET', path: '/v2/fx/app/blobs/sha256:abc', status: 400, code: 'DIGEST_INVALID' },
  { name: 'blob with an unknown algorithm', method: 'GET', path: '/v2/fx/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e', status: 400, code: 'DIGEST_INVALID' },
  { name: 'blob range', method: 'GET', path: (f) => `/v2/fx/app/blobs/${f.image.layers[0]!.digest}`, headers: { Range: 'bytes=0-99' }, status: 206, expect: { 'content-range': (f) => `bytes 0-99/${f.image.layers[0]!.data.byteLength}`, 'content-length': '100' } },
  { name: 'blob suffix range', method: 'GET', path: (f) => `/v2/fx/app/blobs/${f.image.layers[0]!.digest}`, headers: { Range: 'bytes=-10' }, status: 206, expect: { 'content-range': (f) => `bytes ${f.image.layers[0]!.data.byteLength - 10}-${f.image.layers[0]!.data.byteLength - 1}/${f.image.layers[0]!.data.byteLength}` } },
  { name: 'blob range past the end', method: 'GET', path: (f) => `/v2/fx/app/blobs/${f.image.layers[0]!.digest}`, headers: { Range: 'bytes=100000-' }, status: 416, expect: { 'content-range': (f) => `bytes */${f.image.layers[0]!.data.byteLength}` } },
  { name: 'tags of an unknown repository', method: 'GET', path: '/v2/fx/none/tags/list', status: 404, code: 'NAME_UNKNOWN' },
  { name: 'tags with a bad n', method: 'GET', path: '/v2/fx/app/tags/list?n=-1', status: 400 },
  { name: 'referrers with an invalid digest', method: 'GET', path: '/v2/fx/app/referrers/sha256:zz', status: 400 },
  { name: 'referrers of an unknown subject', method: 'GET', path: `/v2/fx/app/referrers/${digestOf('nope')}`, status: 200, expect: { 'content-type': OCI_INDEX } },

  // --- uploads
  { name: 'start an upload', method: 'POST', path: '/v2/fx/app/blobs/uploads/', status: 202, expect: { location: /^\/v2\/fx\/app\/blobs\/uploads\/[^/]+$/ } },
  { name: 'upload status', method: 'GET', path: (f) => f.upload, status: 204, expect: { location: /\/v2\/fx\/app\/blobs\/uploads\//, range: /^0-\d+$/ } },
  { name: 'close an upload without a digest', method: 'PUT', path: (f) => f.upload, status: 400, code: 'DIGEST_INVALID' },
  { name: 'close an upload with a malformed digest', method: 'PUT', path: (f) => `${f.upload}?digest=sha256:123`, status: 400, code: 'DIGEST_INVALID' },
  { name: 'unknown upload id', method: 'GET', path: '/v2/fx/app/blobs/uploads/0b4c1bd0-3a8e-4a53-9d3c-8b7c6f1f6a2e', status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  { name: 'PATCH of an unknown upload', method: 'PATCH', path: '/v2/fx/app/blobs/uploads/0b4c1bd0-3a8e-4a53-9d3c-8b7c6f1f6a2e', body: 'abc', status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  { name: 'upload id of fx/app used on fx/other', method: 'GET', path: (f) => f.upload.replace('/fx/app/', '/fx/other/'), status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  { name: 'chunk not starting at the stored size', method: 'PATCH', path: (f) => f.upload, headers: { 'Content-Range': '10-19' }, body: 'x'.repeat(10), status: 416, expect: { range: /^0-\d+$/, location: /\/v2\/fx\/app\/blobs\/uploads\// } },
  { name: 'monolithic push with a wrong digest', method: 'POST', path: `/v2/fx/app/blobs/uploads/?digest=${digestOf('other')}`, body: 'content', status: 400, code: 'DIGEST_INVALID' },
  { name: 'monolithic push with an invalid digest', method: 'POST', path: '/v2/fx/app/blobs/uploads/?digest=sha256:xyz', body: 'content', status: 400, code: 'DIGEST_INVALID' },
  { name: 'monolithic push', method: 'POST', path: `/v2/fx/app/blobs/uploads/?digest=${digestOf('content')}`, body: 'content', status: 201, expect: { location: `/v2/fx/app/blobs/${digestOf('content')}`, 'docker-content-digest': digestOf('content') } },

  // --- manifests
  { name: 'broken JSON manifest', method: 'PUT', path: '/v2/fx/app/manifests/broken', headers: { 'Content-Type': OCI_MANIFEST }, body: '{"schemaVersion":2,', status: 400, code: 'MANIFEST_INVALID' },
  { name: 'manifest with a missing layer', method: 'PUT', path: '/v2/fx/app/manifests/missing', headers: { 'Content-Type': OCI_MANIFEST }, body: (f) => missingLayerManifest(f), status: 400, code: 'MANIFEST_BLOB_UNKNOWN' },
  { name: 'manifest PUT with a mismatched digest', method: 'PUT', path: `/v2/fx/app/manifests/${digestOf('x')}`, headers: { 'Content-Type': OCI_INDEX }, body: index0, status: 400, code: 'DIGEST_INVALID' },
  { name: 'manifest PUT with an invalid digest reference', method: 'PUT', path: '/v2/fx/app/manifests/sha256:abc', headers: { 'Content-Type': OCI_INDEX }, body: index0, status: 400, code: 'DIGEST_INVALID' },
  { name: 'manifest PUT with an invalid tag', method: 'PUT', path: '/v2/fx/app/manifests/-bad', headers: { 'Content-Type': OCI_INDEX }, body: index0, status: 400 },
  { name: 'manifest PUT by digest', method: 'PUT', path: `/v2/fx/app/manifests/${digestOf(index0)}`, headers: { 'Content-Type': OCI_INDEX }, body: index0, status: 201, expect: { 'docker-content-digest': digestOf(index0), location: `/v2/fx/app/manifests/${digestOf(index0)}` } },
  { name: 'DELETE of an unknown manifest', method: 'DELETE', path: `/v2/fx/app/manifests/${digestOf('nope')}`, status: 404, code: 'MANIFEST_UNKNOWN' },
  { name: 'DELETE of an unknown tag', method: 'DELETE', path: '/v2/fx/app/manifests/nope', status: 404, code: 'MANIFEST_UNKNOWN' },
  { name: 'DELETE of an unknown blob', method: 'DELETE', path: `/v2/fx/app/blobs/${digestOf('nope')}`, status: 404, code: 'BLOB_UNKNOWN' },

  // --- methods and unknown endpoints
  { name: 'POST on a manifest', method: 'POST', path: '/v2/fx/app/manifests/v1', status: 405, code: 'UNSUPPORTED', expect: { allow: 'GET, HEAD, PUT, DELETE' } },
  { name: 'PUT on a blob', method: 'PUT', path: `/v2/fx/app/blobs/${digestOf('content')}`, body: 'content', status: 405, code: 'UNSUPPORTED', expect: { allow: 'GET, HEAD, DELETE' } },
  { name: 'DELETE on the base endpoint', method: 'DELETE', path: '/v2/', status: 405, code: 'UNSUPPORTED' },
  { name: 'unknown endpoint', method: 'GET', path: '/v2/fx/app/nothing', status: 404 },
];

function missingLayerManifest(f: Fixture): string {
  const layer = randomBlob(10);
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(f.image.config), layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: 10 }] });
}

describe('distribution API: table of HTTP cases', () => {
  const server = sharedServer();
  let fixture: Fixture;
  const auths: Record<Auth, () => string | null> = {
    admin: () => fixture.s.adminAuth,
    none: () => null,
    'wrong-password': () => basicAuth('admin', 'not-the-password'),
    'garbage-token': () => 'Bearer not.a.token',
  };

  before(async () => {
    const s = server();
    const admin: Target = { url: s.url, auth: s.adminAuth };
    await createProject(s, 'fx');
    await createProject(s, 'pubfx', true);
    const image = makeImage({ layers: 1, layerSize: 4096 });
    await pushImage(admin, 'fx/app', 'v1', image);
    await pushImage(admin, 'pubfx/app', 'v1', image);
    await pushImage(admin, 'fx/other', 'v1', makeImage({ layers: 0 }));
    const upload = await startUpload(admin, 'fx/app');
    fixture = { s, image, upload };
  });

  for (const c of CASES) {
    test(`${c.method} ${typeof c.path === 'string' ? c.path.slice(0, 60) : '<fixture>'}: ${c.name} → ${c.status}${c.code ? ` ${c.code}` : ''}`, async () => {
      const f = fixture;
      const path = typeof c.path === 'function' ? c.path(f) : c.path;
      const headers = typeof c.headers === 'function' ? c.headers(f) : c.headers;
      const body = typeof c.body === 'function' ? c.body(f) : c.body;
      const res = await request({ url: f.s.url }, c.method, path, { auth: auths[c.auth ?? 'admin'](), headers, body });
      const text = c.method === 'HEAD' ? '' : await res.text();
      assert.equal(res.status, c.status, `status (body: ${text.slice(0, 300)})`);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
      if (c.code !== undefined && c.method !== 'HEAD') {
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const errors = await errorsOf(new Response(text));
        assert.ok(
          errors.some((e) => e.code === c.code),
          `expected ${c.code} in ${text}`,
        );
      }
      if (c.status >= 400 && c.method !== 'HEAD' && c.code === undefined && text !== '' && res.headers.get('content-type')?.startsWith('application/json')) {
        await errorsOf(new Response(text)); // error bodies have the spec's shape
      }
      if (c.status === 401) assert.ok(res.headers.get('www-authenticate') !== null, '401 carries WWW-Authenticate');
      for (const [name, want] of Object.entries(c.expect ?? {})) {
        const got = res.headers.get(name);
        if (want instanceof RegExp) assert.match(got ?? '', want, name);
        else assert.equal(got, typeof want === 'function' ? want(f) : want, name);
      }
    });
  }
});
