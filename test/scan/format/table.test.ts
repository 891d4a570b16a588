/**
 * The table report: Trivy's per-target heading and `Total:` line with per-severity counts, a box
 * table per kind of finding, colour only when asked, long cells wrapped to the width given, and a
 * clear line per target when nothing was found.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport } from '../../../src/scan/format/index.js';
import { CLEAN, OS_TARGET, REPORT } from './fixture.js';

const ESC = '\u001b';
const table = (color = false, width?: number): string => formatReport(REPORT, 'table', { color, ...(width !== undefined ? { width } : {}) });

/** The block of lines under a heading, up to the next blank-line-separated heading. */
function section(out: string, heading: string): string[] {
  const lines = out.split('\n');
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `no heading ${JSON.stringify(heading)} in:\n${out}`);
  const rest = lines.slice(start);
  const end = rest.findIndex((l, i) => i > 2 && l === '' && !(rest[i + 1] ?? '').startsWith('┌'));
  return end < 0 ? rest : rest.slice(0, end);
}

/** The cells of the table rows (not borders, not the header), trimmed. */
function rows(block: readonly string[]): string[][] {
  const boxed = block.filter((l) => l.startsWith('│'));
  return boxed.slice(1).map((l) => l.slice(1, -1).split('│').map((c) => c.trim()));
}

test('table: each target has a heading, an underline and the per-severity Total line', () => {
  const out = table();
  const os = section(out, OS_TARGET);
  assert.equal(os[1], '='.repeat(OS_TARGET.length));
  assert.equal(os[2], 'Total: 5 (UNKNOWN: 0, LOW: 1, MEDIUM: 1, HIGH: 2, CRITICAL: 1)');
  assert.equal(section(out, 'app/package-lock.json (npm)')[2], 'Total: 2 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 1)');
  assert.equal(section(out, 'app/config/.env (secrets)')[2], 'Total: 1 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 1)');
  assert.equal(section(out, 'image config (image-config)')[2], 'Total: 2 (UNKNOWN: 0, LOW: 1, MEDIUM: 0, HIGH: 1, CRITICAL: 0)');
});

test('table: the vulnerability table has Trivy\'s columns and one row per finding, in Trivy\'s order', () => {
  const block = section(table(), OS_TARGET);
  const header = block.find((l) => l.startsWith('│'))!;
  assert.deepEqual(
    header.slice(1, -1).split('│').map((c) => c.trim()),
    ['Library', 'Vulnerability', 'Severity', 'Status', 'Installed Version', 'Fixed Version', 'Title'],
  );
  const first = rows(block).filter((r) => r[0] !== '' || r[1] !== '');
  assert.deepEqual(
    first.map((r) => r.slice(0, 6)),
    [
      ['apt', 'CVE-2011-3374', 'LOW', 'will_not_fix', '2.6.1', ''],
      ['libc-bin', 'CVE-2024-2961', 'HIGH', 'fixed', '2.36-9+deb12u4', '2.36-9+deb12u7'],
      ['libc6', 'CVE-2023-6246', 'CRITICAL', 'fixed', '2.36-9+deb12u4', '2.36-9+deb12u7'],
      ['libc6', 'CVE-2024-2961', 'HIGH', 'fixed', '2.36-9+deb12u4', '2.36-9+deb12u7'],
      ['libc6', 'CVE-2023-4039', 'MEDIUM', 'affected', '2.36-9+deb12u4', ''],
    ],
  );
  // The title, then the primary URL on the next line of the same cell.
  const iconv = block.findIndex((l) => l.includes('CVE-2024-2961') && l.includes('libc6'));
  // Trivy cuts titles at 12 words.
  assert.ok(block[iconv]!.includes('glibc: Out of bounds write in iconv may lead to remote code... '));
  assert.ok(block[iconv + 1]!.includes('https://avd.aquasec.com/nvd/cve-2024-2961'));
});

test('table: secrets and misconfigurations have their own columns', () => {
  const out = table();
  const secrets = section(out, 'app/config/.env (secrets)');
  assert.deepEqual(
    secrets.find((l) => l.startsWith('│'))!.slice(1, -1).split('│').map((c) => c.trim()),
    ['Category', 'Rule', 'Severity', 'Path:Line', 'Match', 'Layer'],
  );
  const [row] = rows(secrets);
  assert.deepEqual(row!.slice(0, 5), ['AWS', 'aws-access-key-id', 'CRITICAL', 'app/config/.env:3', 'AWS_ACCESS_KEY_ID=********************']);
  assert.match(row![5]!, /^sha256:[0-9a-f]{12}$/);
  const misconfigs = section(out, 'image config (image-config)');
  assert.deepEqual(
    misconfigs.find((l) => l.startsWith('│'))!.slice(1, -1).split('│').map((c) => c.trim()),
    ['ID', 'Severity', 'Title', 'Message'],
  );
  assert.deepEqual(
    rows(misconfigs).filter((r) => r[0] !== '').map((r) => r.slice(0, 2)),
    [
      ['DS002', 'HIGH'],
      ['DS026', 'LOW'],
    ],
  );
});

test('table: no escape codes without colour; coloured severities with it', () => {
  const plain = table(false);
  assert.equal(plain.includes(ESC), false);
  const colored = table(true);
  assert.ok(colored.includes(`${ESC}[31mCRITICAL${ESC}[0m`), 'CRITICAL in red');
  assert.ok(colored.includes(`${ESC}[91mHIGH${ESC}[0m`), 'HIGH in bright red');
  assert.ok(colored.includes(`${ESC}[34mLOW${ESC}[0m`), 'LOW in blue');
  // Colour changes nothing but the codes: the same text, the same alignment.
  assert.equal(colored.replace(/\u001b\[[0-9;]*m/g, ''), plain);
});

test('table: a width wraps long cells so every line fits; without one nothing wraps', () => {
  const narrow = table(false, 110);
  for (const line of narrow.split('\n')) assert.ok([...line].length <= 110, `too wide (${[...line].length}): ${line}`);
  assert.ok(narrow.includes('allocations') && narrow.includes('ARM64'), 'wrapped text is kept, not cut');
  const wide = table(false);
  assert.ok(wide.split('\n').some((l) => [...l].length > 110), 'the fixture has lines longer than 110 columns');
  // Box borders stay aligned: every line of one table has the same length.
  const block = section(narrow, OS_TARGET).filter((l) => /^[│┌├└]/.test(l));
  assert.equal(new Set(block.map((l) => [...l].length)).size, 1);
});

test('table: nothing found prints one clear line per target', () => {
  assert.equal(formatReport(CLEAN, 'table'), `${OS_TARGET}: no vulnerabilities found\napp/package-lock.json (npm): no vulnerabilities found\n`);
  assert.equal(formatReport({ ...CLEAN, results: [] }, 'table'), `${REPORT.artifactName}: no targets to scan were found, nothing to report\n`);
});

test('table: a target with nothing found among others shows Total: 0 and no table', () => {
  const mixed = { ...REPORT, results: [...REPORT.results, { target: 'srv/requirements.txt', class: 'lang-pkgs' as const, type: 'pip', vulnerabilities: [] }] };
  const block = section(formatReport(mixed, 'table'), 'srv/requirements.txt (pip)');
  assert.deepEqual(block.slice(0, 3), ['srv/requirements.txt (pip)', '==========================', 'Total: 0 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0)']);
  assert.equal(block.some((l) => l.startsWith('┌')), false);
});
