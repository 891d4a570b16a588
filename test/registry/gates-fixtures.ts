/**
 * What the gate tests share: an advisory DB with a few npm advisories, images made of npm
 * packages with a config that passes the image checks (a program that exists, a user, a health
 * check) unless a test breaks it, and small API helpers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { buildDb, type Advisory } from '../helpers/advisory-db.js';
import { tempDir } from '../helpers/env.js';
import type { LayerEntry } from '../helpers/images.js';
import type { Target } from '../helpers/push.js';
import { artifactPath, pushLayeredImage, scanStatus, settled } from '../helpers/registry-jobs.js';
import { basicAuth, startTestServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

export const CRITICAL = 'CVE-2099-9001';
export const HIGH_UNFIXED = 'CVE-2099-9002';
export const MEDIUM = 'CVE-2099-9003';

export const ADVISORIES: readonly Advisory[] = [
  { id: CRITICAL, ecosystem: 'npm', name: 'left-pad', fixed: '1.3.1', severity: 'CRITICAL' },
  { id: HIGH_UNFIXED, ecosystem: 'npm', name: 'is-odd', severity: 'HIGH' },
  { id: MEDIUM, ecosystem: 'npm', name: 'is-even', fixed: '2.0.0', severity: 'MEDIUM' },
];

// A GitHub token (the format only: 36 characters that were never a real token).
export const TOKEN = `ghp_${'A1b2C3d4E5'.repeat(3)}f6G7h8`;

export interface ImageSpec {
  /** npm packages installed, `name@version`. */
  readonly packages?: readonly string[];
  /** The entrypoint; the image holds /app/processor only. */
  readonly entrypoint?: string;
  /** A file holding a token. */
  readonly secret?: boolean;
  /** Makes the image unique (a file of this content). */
  readonly nonce?: string;
}

export function layersOf(spec: ImageSpec): LayerEntry[][] {
  const packages: LayerEntry[] = (spec.packages ?? []).map((p) => {
    const [name, version] = p.split('@') as [string, string];
    return { type: 'file', path: `app/node_modules/${name}/package.json`, data: JSON.stringify({ name, version, license: 'MIT' }) };
  });
  return [
    [{ type: 'file', path: 'app/processor', data: '#!/bin/sh\necho ok\n', mode: 0o755 }, ...packages, ...(spec.nonce !== undefined ? [{ type: 'file' as const, path: 'app/nonce', data: spec.nonce }] : [])],
    ...(spec.secret === true ? [[{ type: 'file' as const, path: 'app/deploy.env', data: `GITHUB_TOKEN=${TOKEN}\n` }]] : []),
  ];
}

/** A config the image checks find nothing in but what the spec breaks. */
export function configOf(spec: ImageSpec): Record<string, unknown> {
  return { Entrypoint: [spec.entrypoint ?? '/app/processor'], User: '1000', Healthcheck: { Test: ['CMD', '/app/processor'] } };
}

export async function pushSpec(target: Target, repo: string, tag: string, spec: ImageSpec): Promise<string> {
  return (await pushLayeredImage(target, repo, tag, layersOf(spec), configOf(spec))).digest;
}

/** A server that scans (against the DB of ADVISORIES, built now) and makes SBOMs. */
export async function gatedServer(t: TestContext, options: TestServerOptions & { clock?: () => number } = {}): Promise<TestServer> {
  const db = join(tempDir(t, 'portcullis-gates-db-'), 'advisory.db');
  const now = options.clock ?? Date.now;
  await buildDb(db, ADVISORIES, new Date(now() - 60_000));
  return startTestServer(t, { ...options, ...(options.clock !== undefined ? { now: options.clock } : {}), config: { ...options.config, scan: { enabled: true, db }, sbom: { enabled: true } } });
}

/** Waits until the image's scan and SBOM are stored. */
export async function analysed(s: TestServer, repo: string, ref: string): Promise<void> {
  const scan = await scanStatus(s.url, repo, ref, s.adminAuth);
  assert.equal(scan.status, 'done', JSON.stringify(scan));
  assert.equal((await settled(s.url, `${artifactPath(repo, ref)}/sbom`, s.adminAuth)).status, 200);
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: any;
}

/** One management API call as `auth` (admin when undefined). */
export async function api(s: TestServer, method: string, path: string, body?: unknown, auth: string = s.adminAuth): Promise<ApiAnswer> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { Authorization: auth, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

export async function ok(answer: Promise<ApiAnswer>, status = 200): Promise<any> {
  const a = await answer;
  assert.equal(a.status, status, JSON.stringify(a.body));
  return a.body;
}

/** Creates a user (in the security team when asked); resolves to its Authorization value. */
export async function user(s: TestServer, name: string, options: { securityTeam?: boolean; admin?: boolean } = {}): Promise<string> {
  const password = `${name}-password-1`;
  await ok(api(s, 'POST', '/api/v1/users', { username: name, password, securityTeam: options.securityTeam === true, admin: options.admin === true }), 201);
  return basicAuth(name, password);
}

export const policyPath = (project: string): string => `/api/v1/projects/${project}/policy`;

/** The failed gates of a refusal, as `gate: ids`. */
export function failedGates(body: any): string[] {
  const gates = (body?.errors?.[0]?.detail?.gates ?? []) as { gate: string; ids: string[] }[];
  return gates.map((g) => (g.ids.length === 0 ? g.gate : `${g.gate}: ${[...g.ids].sort().join(' ')}`)).sort();
}
