import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { clientAddress } from '../../../src/registry/auth/client-address.js';

const req = (headers: Record<string, string | string[]>, remoteAddress = '10.0.0.1'): IncomingMessage => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

test('without a trusted proxy the TCP peer is the client, whatever X-Forwarded-For says', () => {
  assert.equal(clientAddress(req({ 'x-forwarded-for': '203.0.113.9' }), 0), '10.0.0.1');
});

test('behind one proxy the entry it added (the last) counts; what the client sent before it does not', () => {
  // nginx's $proxy_add_x_forwarded_for appends the peer it saw to what the client sent.
  assert.equal(clientAddress(req({ 'x-forwarded-for': '198.51.100.7, 203.0.113.9' }), 1), '203.0.113.9');
  assert.equal(clientAddress(req({ 'x-forwarded-for': '203.0.113.9' }), 1), '203.0.113.9');
  // HAProxy's option forwardfor adds a header line of its own (node joins repeated lines).
  assert.equal(clientAddress(req({ 'x-forwarded-for': ['198.51.100.7', '203.0.113.9'] }), 1), '203.0.113.9');
});

test('behind two proxies (a CDN, then nginx) the client is two entries from the end', () => {
  // The client forged one entry; the CDN appended the client, nginx the CDN's edge.
  const h = { 'x-forwarded-for': '198.51.100.7, 203.0.113.9, 192.0.2.50' };
  assert.equal(clientAddress(req(h), 2), '203.0.113.9');
  assert.equal(clientAddress(req(h), 1), '192.0.2.50', 'one hop: everyone behind that edge would share its address');
  // A client that reached nginx directly has fewer entries than hops: the first one.
  assert.equal(clientAddress(req({ 'x-forwarded-for': '203.0.113.9' }), 2), '203.0.113.9');
});

test('behind a proxy without the header, the peer', () => {
  assert.equal(clientAddress(req({}), 1), '10.0.0.1');
  assert.equal(clientAddress(req({ 'x-forwarded-for': ' ' }), 1), '10.0.0.1');
});

test('a request whose socket is gone has an unknown address, not an exception', () => {
  assert.equal(clientAddress({ headers: {}, socket: null } as unknown as IncomingMessage, 0), 'unknown');
});
