import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ROUTE_METHODS, parseRoute, type Route } from '../../../src/registry/distribution/routes.js';

const DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const UUID = '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

describe('parseRoute', () => {
  const table: [string, Route][] = [
    ['/v2', { kind: 'base' }],
    ['/v2/', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/team/app/manifests/latest', { kind: 'manifest', name: 'team/app', reference: 'latest' }],
    [`/v2/team/app/manifests/${DIGEST}`, { kind: 'manifest', name: 'team/app', reference: DIGEST }],
    ['/v2/a/b/c/d/manifests/v1.2.3', { kind: 'manifest', name: 'a/b/c/d', reference: 'v1.2.3' }],
    [`/v2/team/app/blobs/${DIGEST}`, { kind: 'blob', name: 'team/app', digest: DIGEST }],
    ['/v2/team/app/blobs/uploads/', { kind: 'upload-start', name: 'team/app' }],
    ['/v2/team/app/blobs/uploads', { kind: 'upload-start', name: 'team/app' }],
    [`/v2/team/app/blobs/uploads/${UUID}`, { kind: 'upload', name: 'team/app', id: UUID }],
    ['/v2/team/app/tags/list', { kind: 'tags', name: 'team/app' }],
    [`/v2/team/app/referrers/${DIGEST}`, { kind: 'referrers', name: 'team/app', digest: DIGEST }],

    // Names whose components are route keywords: the suffix decides.
    ['/v2/team/blobs/manifests/latest', { kind: 'manifest', name: 'team/blobs', reference: 'latest' }],
    ['/v2/team/manifests/manifests/latest', { kind: 'manifest', name: 'team/manifests', reference: 'latest' }],
    ['/v2/team/uploads/manifests/latest', { kind: 'manifest', name: 'team/uploads', reference: 'latest' }],
    ['/v2/team/blobs/uploads/manifests/latest', { kind: 'manifest', name: 'team/blobs/uploads', reference: 'latest' }],
    ['/v2/team/tags/list/manifests/latest', { kind: 'manifest', name: 'team/tags/list', reference: 'latest' }],
    ['/v2/team/referrers/manifests/latest', { kind: 'manifest', name: 'team/referrers', reference: 'latest' }],
    [`/v2/team/manifests/blobs/${DIGEST}`, { kind: 'blob', name: 'team/manifests', digest: DIGEST }],
    [`/v2/team/blobs/blobs/${DIGEST}`, { kind: 'blob', name: 'team/blobs', digest: DIGEST }],
    [`/v2/team/blobs/uploads/blobs/${DIGEST}`, { kind: 'blob', name: 'team/blobs/uploads', digest: DIGEST }],
    ['/v2/team/blobs/blobs/uploads/', { kind: 'upload-start', name: 'team/blobs' }],
    ['/v2/team/uploads/blobs/uploads/', { kind: 'upload-start', name: 'team/uploads' }],
    ['/v2/team/manifests/blobs/uploads/', { kind: 'upload-start', name: 'team/manifests' }],
    [`/v2/team/blobs/uploads/blobs/uploads/${UUID}`, { kind: 'upload', name: 'team/blobs/uploads', id: UUID }],
    ['/v2/team/manifests/tags/list', { kind: 'tags', name: 'team/manifests' }],
    [`/v2/team/blobs/referrers/${DIGEST}`, { kind: 'referrers', name: 'team/blobs', digest: DIGEST }],
    ['/v2/team/app/manifests/manifests', { kind: 'manifest', name: 'team/app', reference: 'manifests' }],
    ['/v2/team/app/manifests/blobs', { kind: 'manifest', name: 'team/app', reference: 'blobs' }],
    ['/v2/team/app/manifests/list', { kind: 'manifest', name: 'team/app', reference: 'list' }],
    ['/v2/_catalog/manifests/latest', { kind: 'manifest', name: '_catalog', reference: 'latest' }],

    // Percent-encoding is decoded before matching.
    ['/v2/team/app/manifests/sha256%3Ae3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', { kind: 'manifest', name: 'team/app', reference: DIGEST }],
    ['/v2/team/app/blobs/sha256%3ae3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', { kind: 'blob', name: 'team/app', digest: DIGEST }],
    ['/v2/team/app/referrers/sha256%3Ae3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', { kind: 'referrers', name: 'team/app', digest: DIGEST }],
    ['/v2/%74eam/app/manifests/%6Catest', { kind: 'manifest', name: 'team/app', reference: 'latest' }],
    // As with Go's net/http (which distribution uses), %2F in the path is a slash.
    ['/v2/team%2Fapp/manifests/latest', { kind: 'manifest', name: 'team/app', reference: 'latest' }],
    ['/v2/team/app/manifests/a%2Fb', { kind: 'unknown' }],
    ['/v2/team/app/manifests/%ZZ', { kind: 'unknown' }],
    ['/v2/team/app/manifests/%', { kind: 'unknown' }],
    ['/v2/team/app/manifests/%E0%A4%A', { kind: 'unknown' }],

    // Unknown
    ['/', { kind: 'unknown' }],
    ['', { kind: 'unknown' }],
    ['/v1/', { kind: 'unknown' }],
    ['/v2x', { kind: 'unknown' }],
    ['/v22/team/app/manifests/latest', { kind: 'unknown' }],
    ['/V2/team/app/manifests/latest', { kind: 'unknown' }],
    ['/v2/team/app', { kind: 'unknown' }],
    ['/v2/_catalog/', { kind: 'unknown' }],
    ['/v2/team/app/manifests/', { kind: 'unknown' }],
    ['/v2/team/app/manifests', { kind: 'unknown' }],
    ['/v2/team/app/manifests/latest/', { kind: 'unknown' }],
    ['/v2/team/app/blobs/', { kind: 'unknown' }],
    [`/v2/team/app/blobs/uploads/${UUID}/`, { kind: 'unknown' }],
    ['/v2/team/app/tags/list/', { kind: 'unknown' }],
    ['/v2/team/app/tags', { kind: 'unknown' }],
    ['/v2/team/app/referrers/', { kind: 'unknown' }],
    ['/v2/manifests/latest', { kind: 'unknown' }],
    ['/v2//manifests/latest', { kind: 'unknown' }],
    ['/v2/team/app/unknown/latest', { kind: 'unknown' }],
    ['/prefix/v2/team/app/manifests/latest', { kind: 'unknown' }],
  ];
  for (const [path, expected] of table) {
    test(`${JSON.stringify(path)} → ${expected.kind}${'name' in expected ? ` ${expected.name}` : ''}`, () => {
      assert.deepEqual(parseRoute(path), expected);
    });
  }

  test('names are not validated here (the handlers do), but are passed through whole', () => {
    assert.deepEqual(parseRoute('/v2/Team/App/manifests/latest'), { kind: 'manifest', name: 'Team/App', reference: 'latest' });
    assert.deepEqual(parseRoute('/v2/single/tags/list'), { kind: 'tags', name: 'single' });
  });
});

describe('ROUTE_METHODS', () => {
  const expected: Record<Route['kind'], string[]> = {
    base: ['GET', 'HEAD'],
    catalog: ['GET'],
    manifest: ['DELETE', 'GET', 'HEAD', 'PUT'],
    blob: ['DELETE', 'GET', 'HEAD'],
    'upload-start': ['POST'],
    upload: ['DELETE', 'GET', 'PATCH', 'PUT'],
    tags: ['GET'],
    referrers: ['GET'],
    unknown: [],
  };
  for (const [kind, methods] of Object.entries(expected)) {
    test(`${kind}: ${methods.join(', ') || 'none'}`, () => {
      assert.deepEqual([...ROUTE_METHODS[kind as Route['kind']]].sort(), methods);
    });
  }
});
