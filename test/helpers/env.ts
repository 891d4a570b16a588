import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** PostgreSQL for the tests: the machine's server at 127.0.0.1:5432 (trust auth, database `test`). */
export const POSTGRES_URL = process.env['PORTCULLIS_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other run uses, so runs never see each other's tables. */
export function uniqueSchema(prefix = 'pc_test'): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
}

const found = new Map<string, string | undefined>();

/** The path of a command on PATH, or undefined. */
export function which(tool: string): string | undefined {
  if (!found.has(tool)) {
    let path: string | undefined;
    try {
      path = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      path = undefined;
    }
    found.set(tool, path);
  }
  return found.get(tool);
}

/**
 * Skips the test when a real peer (skopeo, umoci, ...) is missing, except under CI=true where a
 * missing tool is a failure: CI installs them, so absence there means the setup broke.
 */
export function requireTools(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((x) => which(x) === undefined);
  if (missing.length === 0) return true;
  const msg = `missing ${missing.join(', ')}: install with apt-get install -y ${missing.join(' ')}`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}

/**
 * Like requireTools, for a module of a Python interpreter (Debian's /usr/bin/python3 holds the
 * python3-* packages; the python3 on PATH may be another build without them).
 */
export function requirePythonModule(t: TestContext, python: string, module: string, aptPackage: string): boolean {
  if (!requireTools(t, python)) return false;
  try {
    execFileSync(python, ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    const msg = `${python} cannot import ${module}: install with apt-get install -y ${aptPackage}`;
    if (process.env['CI'] === 'true') throw new Error(msg);
    t.skip(msg);
    return false;
  }
}

/** A fresh temporary directory removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'portcullis-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every regular file below `dir` (absolute paths; symlinks are not followed). */
export function filesBelow(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) filesBelow(p, out);
    else if (st.isFile()) out.push(p);
  }
  return out;
}
