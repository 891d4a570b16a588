/**
 * The secret scanner: finds credentials in one file's bytes. Pure and synchronous; the pipeline
 * reads the files (those `wantsSecretScan` accepts) and adds `layer`/`deleted` to the findings.
 *
 * Speed comes from a keyword prefilter: one pass over the bytes looks up each byte pair in a 64 Ki
 * table holding one rare pair of every rule keyword, confirms the keyword where a pair hits, and the
 * rule regexes then run only on the lines that hold their keywords. Most files never reach a regex.
 */
import type { SecretFinding } from './model.js';
import { isPlaceholder, SECRET_RULES, shannonEntropy, type SecretRule } from './secrets-rules.js';

export { SECRET_RULES, shannonEntropy, type SecretRule };

/** Bumped whenever rules or logic change: it is part of the per-layer cache key. */
export const SECRETS_VERSION = 1;

const MAX_FILE_SIZE = 10 * 1024 * 1024;
/** Trivy reads no file under 10 bytes; no secret fits in one. */
const MIN_FILE_SIZE = 10;
const BINARY_PROBE = 8192;
const MULTILINE_WINDOW = 65536;
const MATCH_WIDTH = 200;

// ---------------------------------------------------------------------------------------------
// Which files to read

/** Extensions of files that cannot hold a text secret (media, fonts, archives, object code). */
const SKIP_EXTENSIONS = new Set([
  'jpg', 'jpeg', 'png', 'gif', 'bmp', 'ico', 'icns', 'svg', 'svgz', 'webp', 'tif', 'tiff', 'psd', 'xpm', 'xbm',
  'ttf', 'otf', 'woff', 'woff2', 'eot', 'pfb', 'pfa', 'pcf', 'afm',
  'zip', 'tar', 'gz', 'tgz', 'gzip', 'bz2', 'xz', 'txz', 'zst', 'lz', 'lz4', 'lzma', 'z', '7z', 'rar',
  'jar', 'war', 'ear', 'whl', 'egg', 'deb', 'udeb', 'rpm', 'apk', 'gem', 'nupkg', 'crate',
  'so', 'a', 'o', 'ko', 'lo', 'la', 'pyc', 'pyo', 'class', 'dll', 'exe', 'bin', 'wasm', 'node', 'dylib',
  'mo', 'gmo', 'cat', 'qm', 'mp3', 'mp4', 'wav', 'ogg', 'flac', 'avi', 'mov', 'mkv', 'webm',
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'socket',
  'md', // Trivy's "markdown" allow rule: documentation, where example tokens live
]);

/** Lockfiles: digests, not secrets (Trivy skips the same). */
const SKIP_NAMES = new Set(['go.mod', 'go.sum', 'package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'Pipfile.lock', 'Gemfile.lock', 'poetry.lock', 'composer.lock', 'Cargo.lock']);

/**
 * Trees that are the OS's or a runtime's own files, package databases and pseudo file systems.
 * usr/share, usr/include and usr/lib are Trivy's "usr-dirs" allow rule; the runtime trees are its
 * node.js, golang, python, rubygems and wordpress rules.
 */
const SKIP_PREFIXES = [
  'usr/share/', 'usr/include/', 'usr/lib/', 'usr/local/go/', 'usr/local/lib/python', 'usr/src/wordpress/', 'opt/yarn-v',
  'var/lib/dpkg/', 'var/lib/rpm/', 'lib/apk/db/', 'var/lib/apt/lists/', 'var/cache/apt/', 'var/cache/ldconfig/', 'var/cache/man/', 'var/cache/fontconfig/', 'var/log/anaconda/',
  'lib/modules/', 'lib/firmware/', 'lib/terminfo/', 'etc/terminfo/', 'etc/ssl/certs/',
  'proc/', 'sys/', 'dev/',
];

/** Directories anywhere in a path: VCS data, vendored dependencies, translations (Trivy's vendor and locale rules). */
const SKIP_SEGMENTS = ['/.git/', '/node_modules/', '/vendor/', '/locale/', '/locales/', '/zoneinfo/'];

/** Trivy's "tests" and "examples" allow rules: test data and examples hold fake secrets by design. */
const TEST_PATH = /[/_.-]test/i;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** Cheap, from path/size/mode alone: whether to read the file at all (it sees every file of every layer). */
export function wantsSecretScan(path: string, size: number, mode: number): boolean {
  if (size < MIN_FILE_SIZE || size > MAX_FILE_SIZE) return false;
  const type = mode & S_IFMT;
  if (type !== 0 && type !== S_IFREG) return false; // tar modes may carry permission bits only
  let p = path;
  while (p.startsWith('/') || p.startsWith('./')) p = p.startsWith('/') ? p.slice(1) : p.slice(2);
  for (const prefix of SKIP_PREFIXES) if (p.startsWith(prefix)) return false;
  const slashed = `/${p}`;
  for (const segment of SKIP_SEGMENTS) if (slashed.includes(segment)) return false;
  const base = p.slice(p.lastIndexOf('/') + 1);
  if (SKIP_NAMES.has(base)) return false;
  const dot = base.lastIndexOf('.');
  if (dot > 0 && SKIP_EXTENSIONS.has(base.slice(dot + 1).toLowerCase())) return false;
  if (base.includes('.so.')) return false; // libfoo.so.1.2
  return !TEST_PATH.test(slashed) && !p.includes('example');
}

// ---------------------------------------------------------------------------------------------
// The keyword prefilter

/** One keyword, found through one of its byte pairs at `offset`. */
interface Probe {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly caseSensitive: boolean;
  readonly rules: readonly number[];
}

interface CompiledRule {
  readonly rule: SecretRule;
  readonly regex: RegExp;
}

interface Prefilter {
  /** Pairs are looked up at every `stride`-th offset: each keyword registers `stride` consecutive pairs. */
  readonly stride: number;
  /** By byte pair (`first << 8 | second`): 0, or the slot of the probes that look at that pair. */
  readonly slots: Uint16Array;
  /** By slot: a 256-bit set of the bytes that may follow the pair (a trigram check before the probes). */
  readonly next: Uint32Array;
  /** By slot. */
  readonly probes: readonly (readonly Probe[])[];
  /** Rules without usable keywords: they run on every line. */
  readonly everywhere: readonly number[];
  readonly rules: readonly CompiledRule[];
}

/**
 * The 160 most frequent byte pairs (case-folded) in text and code: Debian's /usr/share and
 * /usr/lib/python3, measured. A keyword is looked up through its rarest pairs; a common pair such
 * as `cr` (script, description) would send a large share of all lines to verification.
 */
const COMMON_PAIRS = new Map(
  '  |de|in|e |re|er|th|co|on|st| t|an|te|es|or|li|se|en|it|s |, |le|ti|od|at| c| a|n |</| i|he|t |ar|as| s|pa|al|no|ri|nt|io|la|me|ss|tr|is|om|d |et|cl|ed| l|="|s/|ro| o|ng|to|r |><|nd|sp|ta|il|ra|ma| f|ll|ns|: |pe|nc|ce|el|ec|ct|ve|pr|am| <|tt| p|ib|fi|si|ne|ic|ht|di|f |na| d| r|">|ge| \'|ef| "| n|js|e/|ea|ac| b|ex|/n|ch|t/|ul|ut|y |op|a |ha| w|/c|.c|ca|ke|e>| e|un|ur|ad| m|fo|--|/s|pp|mp|lo|s=|oc|o |> |ou|rt|rs|tp|us|if| h|bs|gi|l | (|s:|ty|pt|e_|os|ot|of|//|ps|lu|ts|# |so|be'
    .split('|')
    .map((pair, rank) => [pair, rank] as const),
);
const LETTER_FREQUENCY = 'etaoinsrhldcupmfgwybvkxjqz';

/** Rough cost of looking a pair up: the common pairs by rank, the others by their letters' frequency. */
function pairWeight(a: number, b: number, caseSensitive: boolean): number {
  const fold = (c: number): number => (c >= 65 && c <= 90 ? c | 0x20 : c);
  const rank = COMMON_PAIRS.get(String.fromCharCode(fold(a), fold(b)));
  const upper = (c: number): boolean => caseSensitive && c >= 65 && c <= 90;
  // Upper case is rare in text: an upper-case pair that is common folded is still fairly rare.
  const scale = upper(a) || upper(b) ? 0.05 : 1;
  if (rank !== undefined) return scale * (1000 + (160 - rank) * 20);
  return scale * charWeight(fold(a)) * charWeight(fold(b));
}

function charWeight(c: number): number {
  if (c >= 97 && c <= 122) return 14 - (LETTER_FREQUENCY.indexOf(String.fromCharCode(c)) * 13) / 26;
  if (c === 32) return 15;
  if (c >= 48 && c <= 57) return 1;
  if (c === 95 || c === 46 || c === 45) return 2;
  return 0.5;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function pairVariants(a: number, b: number, caseSensitive: boolean): number[] {
  const as = caseSensitive || !isLetter(a) ? [a] : [a | 0x20, a & ~0x20];
  const bs = caseSensitive || !isLetter(b) ? [b] : [b | 0x20, b & ~0x20];
  return as.flatMap((x) => bs.map((y) => (x << 8) | y));
}

const prefilters = new WeakMap<readonly SecretRule[], Prefilter>();
const MAX_STRIDE = 3;

interface Keyword {
  /** Lower-cased unless case-sensitive. */
  readonly bytes: Uint8Array;
  readonly caseSensitive: boolean;
  readonly rules: number[];
}

function prefilterFor(rules: readonly SecretRule[]): Prefilter {
  const cached = prefilters.get(rules);
  if (cached !== undefined) return cached;
  const keywords = new Map<string, Keyword>();
  const everywhere: number[] = [];
  const compiled: CompiledRule[] = [];
  rules.forEach((rule, index) => {
    compiled.push({ rule, regex: new RegExp(rule.regex.source, `gd${rule.regex.flags.includes('i') ? 'i' : ''}`) });
    const caseSensitive = rule.caseSensitiveKeywords === true;
    const usable = rule.keywords.filter((k) => k.length >= 2 && /^[\x20-\x7e]+$/.test(k));
    if (usable.length === 0 || usable.length !== rule.keywords.length) {
      everywhere.push(index);
      return;
    }
    for (const raw of usable) {
      const keyword = caseSensitive ? raw : raw.toLowerCase();
      const key = `${caseSensitive ? 's' : 'i'}:${keyword}`;
      const existing = keywords.get(key);
      if (existing !== undefined) existing.rules.push(index);
      else keywords.set(key, { bytes: Uint8Array.from(keyword, (ch) => ch.charCodeAt(0)), caseSensitive, rules: [index] });
    }
  });
  // A keyword of length L holds L-1 pairs; looking at every stride-th offset must land on one of them.
  let stride = MAX_STRIDE;
  for (const k of keywords.values()) stride = Math.min(stride, k.bytes.length - 1);
  const slots = new Uint16Array(65536);
  const probes: Probe[][] = [[]];
  const follow: number[][] = [[]];
  for (const k of keywords.values()) {
    // The window of `stride` consecutive pairs with the lowest total weight.
    let from = 0;
    let best = Infinity;
    for (let j = 0; j + stride < k.bytes.length; j++) {
      let w = 0;
      for (let o = j; o < j + stride; o++) w += pairWeight(k.bytes[o]!, k.bytes[o + 1]!, k.caseSensitive);
      if (w < best) {
        best = w;
        from = j;
      }
    }
    for (let offset = from; offset < from + stride; offset++) {
      const probe: Probe = { bytes: k.bytes, offset, caseSensitive: k.caseSensitive, rules: k.rules };
      const third = k.bytes[offset + 2];
      const allowed = third === undefined ? null : pairVariants(third, third, k.caseSensitive).map((v) => v & 0xff);
      for (const pair of pairVariants(k.bytes[offset]!, k.bytes[offset + 1]!, k.caseSensitive)) {
        if (slots[pair] === 0) {
          slots[pair] = probes.length;
          probes.push([]);
          follow.push([]);
        }
        probes[slots[pair]!]!.push(probe);
        follow[slots[pair]!]!.push(...(allowed ?? Array.from({ length: 256 }, (_, c) => c)));
      }
    }
  }
  const next = new Uint32Array(probes.length * 8);
  follow.forEach((bytes, slot) => {
    for (const c of bytes) next[slot * 8 + (c >> 5)]! |= 1 << (c & 31);
  });
  const prefilter: Prefilter = { stride, slots, next, probes, everywhere, rules: compiled };
  prefilters.set(rules, prefilter);
  return prefilter;
}

function keywordAt(content: Uint8Array, start: number, probe: Probe): boolean {
  const kw = probe.bytes;
  if (start < 0 || start + kw.length > content.length) return false;
  if (probe.caseSensitive) {
    for (let k = 0; k < kw.length; k++) if (content[start + k] !== kw[k]) return false;
    return true;
  }
  for (let k = 0; k < kw.length; k++) {
    const c = content[start + k]!;
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== kw[k]) return false;
  }
  return true;
}

/** Per rule, the start offsets of the lines holding one of its keywords (unordered, may repeat). */
function candidateLines(content: Uint8Array, prefilter: Prefilter): number[][] {
  const lines: number[][] = prefilter.rules.map(() => []);
  const { slots, next, stride, probes } = prefilter;
  const end = content.length - 2;
  let i = 0;
  for (;;) {
    i = nextCandidate(content, i, end, slots, next, stride);
    if (i >= end) break;
    probeAt(content, i, probes[slots[(content[i]! << 8) | content[i + 1]!]!]!, lines);
    i += stride;
  }
  // The last pair has no byte after it for the trigram check.
  for (; i < content.length - 1; i += stride) {
    const slot = slots[(content[i]! << 8) | content[i + 1]!]!;
    if (slot !== 0) probeAt(content, i, probes[slot]!, lines);
  }
  return lines;
}

/** The hot loop: the first offset from `i` (stepping by `stride`) whose pair and following byte may start a keyword, or `end` or past it. */
function nextCandidate(content: Uint8Array, i: number, end: number, slots: Uint16Array, next: Uint32Array, stride: number): number {
  for (; i < end; i += stride) {
    const slot = slots[(content[i]! << 8) | content[i + 1]!]!;
    if (slot === 0) continue;
    const c = content[i + 2]!;
    if ((next[(slot << 3) | (c >> 5)]! & (1 << (c & 31))) !== 0) return i;
  }
  return i;
}

function probeAt(content: Uint8Array, i: number, probes: readonly Probe[], lines: number[][]): void {
  for (const probe of probes) {
    const start = i - probe.offset;
    if (!keywordAt(content, start, probe)) continue;
    const lineStart = start === 0 ? 0 : content.lastIndexOf(10, start - 1) + 1;
    for (const r of probe.rules) {
      const list = lines[r]!;
      if (list[list.length - 1] !== lineStart) list.push(lineStart);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Matching

/** A secret at byte offsets [start, end), inside a match that spans [matchStart, matchEnd). */
interface Hit {
  readonly rule: SecretRule;
  readonly start: number;
  readonly end: number;
  readonly matchStart: number;
  readonly matchEnd: number;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function lineEndOf(content: Uint8Array, from: number): number {
  const nl = content.indexOf(10, from);
  return nl === -1 ? content.length : nl;
}

/** Runs one rule over [from, to), keeping the matches that start before `startBefore`. */
function matchRegion(content: Uint8Array, compiled: CompiledRule, from: number, to: number, startBefore: number, hits: Hit[]): void {
  // latin1 keeps one character per byte, so string indices are byte offsets.
  const text = latin1.decode(content.subarray(from, to));
  const { regex, rule } = compiled;
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m[0].length === 0) regex.lastIndex++;
    if (from + m.index >= startBefore) break;
    const [s, e] = m.indices?.groups?.['secret'] ?? [m.index, m.index + m[0].length];
    const secret = text.slice(s, e);
    if (isPlaceholder(secret) || /example/i.test(m[0])) continue;
    if (rule.minEntropy !== undefined && shannonEntropy(secret) < rule.minEntropy) continue;
    if (rule.check !== undefined && !rule.check(secret)) continue;
    hits.push({ rule, start: from + s, end: from + e, matchStart: from + m.index, matchEnd: from + m.index + m[0].length });
  }
}

function findHits(content: Uint8Array, rules: readonly SecretRule[]): Hit[] {
  const prefilter = prefilterFor(rules);
  const lines = candidateLines(content, prefilter);
  for (const r of prefilter.everywhere) {
    const list = lines[r]!;
    for (let ls = 0; ls < content.length; ls = lineEndOf(content, ls) + 1) list.push(ls);
  }
  const hits: Hit[] = [];
  prefilter.rules.forEach((compiled, r) => {
    let previous = -1;
    for (const lineStart of lines[r]!.sort((a, b) => a - b)) {
      if (lineStart === previous) continue;
      previous = lineStart;
      const lineEnd = lineEndOf(content, lineStart);
      if (compiled.rule.multiline === true) {
        const to = Math.min(content.length, Math.max(lineEnd, lineStart + MULTILINE_WINDOW));
        matchRegion(content, compiled, lineStart, to, lineEnd + 1, hits);
      } else {
        const to = lineEnd > lineStart && content[lineEnd - 1] === 13 ? lineEnd - 1 : lineEnd;
        matchRegion(content, compiled, lineStart, to, Infinity, hits);
      }
    }
  });
  // The generic rule yields to any specific rule that found a secret in the same place.
  const specific = hits.filter((h) => h.rule.fallback !== true).sort((a, b) => a.start - b.start);
  const maxEnd: number[] = [];
  for (const h of specific) maxEnd.push(Math.max(h.end, maxEnd[maxEnd.length - 1] ?? 0));
  const overlapsSpecific = (h: Hit): boolean => {
    let lo = 0;
    let hi = specific.length; // the first specific hit starting at or after h.end
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (specific[mid]!.start < h.end) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && maxEnd[lo - 1]! > h.start;
  };
  const kept = hits.filter((h) => h.rule.fallback !== true || !overlapsSpecific(h));
  // Two keyword lines can find one multi-line match twice.
  const seen = new Set<string>();
  return kept.filter((h) => {
    const key = `${h.rule.id}:${h.start}:${h.end}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Reporting

function countNewlines(content: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = content.indexOf(10, from); i !== -1 && i < to; i = content.indexOf(10, i + 1)) n++;
  return n;
}

/** The line around `hit`, at most MATCH_WIDTH bytes, with every secret on it replaced by `*`. */
function redactedLine(content: Uint8Array, hit: Hit, lineStart: number, onLine: readonly Hit[]): string {
  let lineEnd = lineEndOf(content, lineStart);
  if (lineEnd > lineStart && content[lineEnd - 1] === 13) lineEnd--;
  let from = lineStart;
  let to = lineEnd;
  if (to - from > MATCH_WIDTH) {
    from = Math.max(lineStart, hit.start - 50);
    to = Math.min(lineEnd, from + MATCH_WIDTH);
  }
  let out = '';
  let at = from;
  for (const h of onLine) {
    const s = Math.max(h.start, at);
    const e = Math.min(h.end, to);
    if (e <= s) continue;
    out += utf8.decode(content.subarray(at, s)) + '*'.repeat(e - s);
    at = e;
  }
  out += utf8.decode(content.subarray(at, to));
  // A secret cut by the window, or repeated where no rule reported it, must not show either.
  for (const h of onLine) {
    const secret = latin1.decode(content.subarray(h.start, Math.min(h.end, h.start + 4096)));
    for (const piece of [secret, secret.slice(0, 16)]) if (piece.length >= 8 && out.includes(piece)) out = out.split(piece).join('*'.repeat(piece.length));
  }
  return out.trim();
}

/** Findings in one file's content. Never returns the secret itself. */
export function scanSecrets(path: string, content: Uint8Array, rules: readonly SecretRule[] = SECRET_RULES): SecretFinding[] {
  if (content.length === 0 || content.subarray(0, BINARY_PROBE).indexOf(0) !== -1) return [];
  const hits = findHits(content, rules).sort((a, b) => a.matchStart - b.matchStart || a.rule.id.localeCompare(b.rule.id));
  if (hits.length === 0) return [];
  const cleanPath = path.replace(/^\.?\/+/, '');
  const findings: SecretFinding[] = [];
  let line = 1;
  let counted = 0;
  const lineStartOf = (at: number): number => (at === 0 ? 0 : content.lastIndexOf(10, at - 1) + 1);
  // Every secret shown on a line, by line: a match masks all of them, not only its own.
  const byLine = new Map<number, Hit[]>();
  for (const h of hits) {
    const ls = lineStartOf(h.start);
    const list = byLine.get(ls);
    if (list === undefined) byLine.set(ls, [h]);
    else list.push(h);
  }
  for (const list of byLine.values()) list.sort((a, b) => a.start - b.start);
  for (const hit of hits) {
    line += countNewlines(content, counted, hit.matchStart);
    counted = hit.matchStart;
    const lineStart = lineStartOf(hit.matchStart);
    const onLine = byLine.get(lineStart) ?? [];
    findings.push({
      ruleId: hit.rule.id,
      category: hit.rule.category,
      title: hit.rule.title,
      severity: hit.rule.severity,
      path: cleanPath,
      startLine: line,
      endLine: line + countNewlines(content, hit.matchStart, Math.max(hit.matchStart, hit.matchEnd - 1)),
      match: redactedLine(content, hit, lineStart, onLine),
    });
  }
  return findings;
}
