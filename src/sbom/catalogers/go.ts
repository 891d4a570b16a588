/**
 * Go modules, two catalogers:
 * - `goBinaryCataloger`: the build info Go's linker embeds in executables (ELF, Mach-O, PE), found
 *   and decoded as Go's debug/buildinfo does: the 32-byte header starting "\xff Go buildinf:" at
 *   16-byte alignment in the build info section or, lacking one, the first 64 KiB of the data
 *   segment; then the Go version and the module info, either inline as varint-prefixed strings (Go
 *   1.18+, flag 0x2) or through two pointers to Go string headers (older toolchains, pointer size
 *   and byte order from the header). The module info is parsed as runtime/debug.ParseBuildInfo
 *   does. Packages, as Syft makes them: the main module (root, its version `(devel)` kept as Go
 *   wrote it), every dependency with its `=>` replacement applied, and the toolchain as `stdlib`
 *   (version `go1.22.1`, BSD-3-Clause). The main module depends on all the others and carries the
 *   build's facts as properties: goVersion, goExperiments, mainPackage, h1Digest, goos, buildTags,
 *   ldflags, vcs, vcsRevision, vcsTime, vcsModified; `arch` is GOARCH (from the header before 1.18).
 * - `goModCataloger`: go.mod files: the module (root, version `(devel)`), its requirements (single
 *   lines and blocks, `// indirect` kept as a property) with `replace` directives applied.
 *
 * A replacement by another module is reported as that module (property `replaces` names the
 * original `path@version`). A replacement by a local directory (`=> ../fork`) has no module
 * identity: the original path is kept with the version `(devel)` that Go itself gives it, and the
 * directory goes in the property `replacementDir`.
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isExecutableMagic, MAX_EXECUTABLE_BYTES, openExecutable, wantsExecutable, type Executable } from './go-exe.js';

const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const BUILDINFO_HEADER = 32;
/** How far into the data segment the header is looked for, as in debug/buildinfo. */
const SEARCH_WINDOW = 64 * 1024;
/** Far above any real module list (the largest programs' are tens of KiB). */
const MAX_INFO_STRING = 4 * 1024 * 1024;
/** cmd/go frames the module info with 16 sentinel bytes on each side. */
const MODINFO_FRAME = 16;
const DEVEL = '(devel)';

interface Module {
  path: string;
  version: string;
  sum: string;
  replace?: Module;
}

interface ModInfo {
  /** The main package's import path (`path` line). */
  path: string;
  main: Module | undefined;
  deps: Module[];
  settings: Map<string, string>;
}

export const goBinaryCataloger: Cataloger = {
  id: 'go-binary',
  version: 1,
  maxBytes: MAX_EXECUTABLE_BYTES,
  wants: wantsExecutable,
  sniff: isExecutableMagic,
  async parse(file) {
    const exe = await openExecutable(file);
    if (exe === undefined) return [];
    const info = await readBuildInfo(exe);
    if (info === undefined) return [];
    return binaryPackages(info.version, parseModInfo(info.modinfo), exe).map((p): Finding => ({ kind: 'package', package: p }));
  },
};

export const goModCataloger: Cataloger = {
  id: 'go-mod',
  version: 1,
  maxBytes: 4 * 1024 * 1024,
  wants: (path) => path === 'go.mod' || path.endsWith('/go.mod'),
  async parse(file) {
    return goModPackages(parseGoMod(await textOf(file))).map((p): Finding => ({ kind: 'package', package: p }));
  },
};

// ---- build info ----

/**
 * The Go version and module info of an executable, undefined when it has no Go build info. Throws
 * when the header is there but what it points to is not (a truncated or corrupt binary).
 */
async function readBuildInfo(exe: Executable): Promise<{ version: string; modinfo: string } | undefined> {
  const start = exe.dataStart;
  if (start === undefined) return undefined;
  const window = await exe.readAddress(start, SEARCH_WINDOW);
  const data = Buffer.from(window.buffer, window.byteOffset, window.byteLength);
  let at = -1;
  for (let i = data.indexOf(BUILDINFO_MAGIC); i >= 0; i = data.indexOf(BUILDINFO_MAGIC, i + 1)) {
    if (i % 16 === 0 && i + BUILDINFO_HEADER <= data.length) {
      at = i;
      break;
    }
  }
  if (at < 0) return undefined;
  const ptrSize = data[at + 14]!;
  const flags = data[at + 15]!;
  let version: Uint8Array;
  let modinfo: Uint8Array;
  if ((flags & 0x2) !== 0) {
    const v = await readVarintString(exe, start + at + BUILDINFO_HEADER);
    version = v.bytes;
    modinfo = (await readVarintString(exe, v.next)).bytes;
  } else {
    if (ptrSize !== 4 && ptrSize !== 8) throw new Error(`Go build info with a pointer size of ${ptrSize}`);
    const bigEndian = flags !== 0;
    version = await readPointerString(exe, readPointer(data, at + 16, ptrSize, bigEndian), ptrSize, bigEndian);
    modinfo = await readPointerString(exe, readPointer(data, at + 16 + ptrSize, ptrSize, bigEndian), ptrSize, bigEndian);
  }
  if (version.length === 0) throw new Error('Go build info without a Go version');
  const framed = modinfo.length >= 2 * MODINFO_FRAME + 1 && modinfo[modinfo.length - MODINFO_FRAME - 1] === 0x0a;
  return {
    version: Buffer.from(version).toString('utf8'),
    modinfo: framed ? Buffer.from(modinfo.subarray(MODINFO_FRAME, modinfo.length - MODINFO_FRAME)).toString('utf8') : '',
  };
}

async function readVarintString(exe: Executable, addr: number): Promise<{ bytes: Uint8Array; next: number }> {
  const head = await exe.readAddress(addr, 10);
  let length = 0;
  let n = 0;
  for (let shift = 0; ; shift += 7) {
    const b = head[n];
    if (b === undefined || shift > 28) throw new Error('Go build info string length is unreadable');
    length += (b & 0x7f) * 2 ** shift;
    n++;
    if ((b & 0x80) === 0) break;
  }
  if (length > MAX_INFO_STRING) throw new Error(`Go build info string of ${length} bytes is over the limit`);
  const bytes = await exe.readAddress(addr + n, length);
  if (bytes.length < length) throw new Error('Go build info string runs past its segment');
  return { bytes, next: addr + n + length };
}

function readPointer(b: Uint8Array, o: number, size: number, bigEndian: boolean): number {
  if (o + size > b.length) throw new Error('Go build info pointer past the end of the header');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (size === 4) return view.getUint32(o, !bigEndian);
  const v = view.getBigUint64(o, !bigEndian);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('Go build info pointer out of range');
  return Number(v);
}

/** A Go string through its header (data pointer, length), as pre-1.18 toolchains stored it. */
async function readPointerString(exe: Executable, addr: number, ptrSize: number, bigEndian: boolean): Promise<Uint8Array> {
  const header = await exe.readAddress(addr, 2 * ptrSize);
  if (header.length < 2 * ptrSize) throw new Error('Go build info string header is not in the file');
  const dataAddr = readPointer(header, 0, ptrSize, bigEndian);
  const length = readPointer(header, ptrSize, ptrSize, bigEndian);
  if (length > MAX_INFO_STRING) throw new Error(`Go build info string of ${length} bytes is over the limit`);
  const bytes = await exe.readAddress(dataAddr, length);
  if (bytes.length < length) throw new Error('Go build info string is not in the file');
  return bytes;
}

/** runtime/debug.ParseBuildInfo, lenient: a malformed line is skipped instead of failing the rest. */
function parseModInfo(text: string): ModInfo {
  const info: ModInfo = { path: '', main: undefined, deps: [], settings: new Map() };
  let last: Module | undefined;
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const word = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    const elems = rest.split('\t');
    switch (word) {
      case 'path':
        info.path = rest;
        break;
      case 'mod':
      case 'dep': {
        last = undefined;
        if (elems.length !== 2 && elems.length !== 3) break;
        const m: Module = { path: elems[0]!, version: elems[1]!, sum: elems[2] ?? '' };
        if (word === 'mod') info.main = m;
        else info.deps.push(m);
        last = m;
        break;
      }
      case '=>':
        if (elems.length === 3 && last !== undefined) last.replace = { path: elems[0]!, version: elems[1]!, sum: elems[2]! };
        last = undefined;
        break;
      case 'build': {
        const eq = rest.indexOf('=');
        if (eq <= 0) break;
        const raw = rest.slice(eq + 1);
        const value = raw.startsWith('"') || raw.startsWith('`') ? goUnquote(raw) : raw;
        if (value !== undefined) info.settings.set(rest.slice(0, eq), value);
        break;
      }
      default:
        break;
    }
  }
  return info;
}

function binaryPackages(versionLine: string, info: ModInfo, exe: Executable): RawPackage[] {
  // "go1.21.0 X:boringcrypto": the version, then experiments.
  const [goVersion = '', ...rest] = versionLine.split(' ');
  const experiments = rest.filter((x) => x.startsWith('X:')).map((x) => x.slice(2));
  const arch = info.settings.get('GOARCH') ?? exe.arch;
  const out = new Map<string, RawPackage>();
  const add = (p: RawPackage): string => {
    const key = packageKey(p);
    if (!out.has(key)) out.set(key, p);
    return key;
  };
  const archField = arch !== undefined && arch !== '' ? { arch } : {};

  const deps = info.deps.map((dep) => add({ type: 'golang', ...moduleIdentity(dep), ...archField }));
  if (/^go\d/.test(goVersion)) {
    deps.push(add({ type: 'golang', name: 'stdlib', version: goVersion, licenses: ['BSD-3-Clause'], ...archField, properties: { goVersion } }));
  }
  const main = info.main ?? (info.path !== '' ? { path: info.path, version: DEVEL, sum: '' } : undefined);
  if (main !== undefined) {
    const s = info.settings;
    const properties = definedOnly({
      goVersion,
      goExperiments: experiments.length > 0 ? experiments.join(',') : undefined,
      mainPackage: info.path || undefined,
      h1Digest: main.sum || undefined,
      goos: s.get('GOOS'),
      buildTags: s.get('-tags'),
      ldflags: s.get('-ldflags'),
      vcs: s.get('vcs'),
      vcsRevision: s.get('vcs.revision'),
      vcsTime: s.get('vcs.time'),
      vcsModified: s.get('vcs.modified'),
    });
    const root: RawPackage = { type: 'golang', name: main.path, version: main.version || DEVEL, root: true, ...archField, properties, dependsOn: deps };
    return [root, ...[...out.values()].filter((p) => packageKey(p) !== packageKey(root))];
  }
  return [...out.values()];
}

/** Name, version and provenance properties of a module, its replacement applied. */
function moduleIdentity(m: { path: string; version: string; sum?: string; replace?: { path: string; version: string; sum?: string } | undefined }): Pick<RawPackage, 'name' | 'version' | 'properties'> {
  const r = m.replace;
  if (r === undefined) return { name: m.path, version: m.version || DEVEL, ...withProperties({ h1Digest: m.sum || undefined }) };
  const replaces = m.version !== '' ? `${m.path}@${m.version}` : m.path;
  if (isDirectoryPath(r.path)) return { name: m.path, version: r.version || DEVEL, properties: { replaces, replacementDir: r.path } };
  return { name: r.path, version: r.version || DEVEL, ...withProperties({ replaces, h1Digest: r.sum || undefined }) };
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = v;
  return out;
}

function withProperties(record: Record<string, string | undefined>): { properties?: Record<string, string> } {
  const properties = definedOnly(record);
  return Object.keys(properties).length > 0 ? { properties } : {};
}

/** golang.org/x/mod/modfile.IsDirectoryPath: a replacement that is a file system path, not a module. */
function isDirectoryPath(path: string): boolean {
  return path === '.' || path === '..' || /^(\.\.?[/\\]|\/|\\|[A-Za-z]:[/\\])/.test(path);
}

const ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, "'": 39, '"': 34 };

/** strconv.Unquote for the quoting strconv.Quote produces; undefined when the text is not one quoted string. */
function goUnquote(s: string): string | undefined {
  if (s.length >= 2 && s.startsWith('`') && s.endsWith('`')) {
    const body = s.slice(1, -1);
    return body.includes('`') ? undefined : body;
  }
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) return undefined;
  const body = s.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"') return undefined;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const e = body[++i];
    if (e === undefined) return undefined;
    if (e in ESCAPES) bytes.push(ESCAPES[e]!);
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return undefined;
      const v = parseInt(hex, 16);
      if (e === 'x') bytes.push(v);
      else if (v > 0x10ffff) return undefined;
      else bytes.push(...Buffer.from(String.fromCodePoint(v), 'utf8'));
      i += n;
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return undefined;
      bytes.push(parseInt(oct, 8));
      i += 2;
    } else return undefined;
  }
  return Buffer.from(bytes).toString('utf8');
}

// ---- go.mod ----

interface GoMod {
  module: string | undefined;
  requires: { path: string; version: string; indirect: boolean }[];
  replaces: { oldPath: string; oldVersion: string | undefined; newPath: string; newVersion: string }[];
}

/** The directives of a go.mod that say what is built: module, require and replace. */
function parseGoMod(text: string): GoMod {
  const mod: GoMod = { module: undefined, requires: [], replaces: [] };
  let block: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const { tokens, comment } = tokenize(line);
    if (block !== undefined) {
      if (tokens[0] === ')') block = undefined;
      else if (tokens.length > 0) directive(mod, block, tokens, comment);
      continue;
    }
    const [verb, ...args] = tokens;
    if (verb === undefined) continue;
    if (args.length === 1 && args[0] === '(') block = verb;
    else directive(mod, verb, args, comment);
  }
  return mod;
}

function directive(mod: GoMod, verb: string, args: string[], comment: string): void {
  switch (verb) {
    case 'module':
      if (args[0] !== undefined) mod.module = args[0];
      break;
    case 'require':
      if (args.length >= 2) mod.requires.push({ path: args[0]!, version: args[1]!, indirect: /^\s*indirect\s*(;|$)/.test(comment) });
      break;
    case 'replace': {
      const arrow = args.indexOf('=>');
      const left = args.slice(0, arrow);
      const right = args.slice(arrow + 1);
      if (arrow < 1 || left.length > 2 || right.length < 1 || right.length > 2) break;
      mod.replaces.push({ oldPath: left[0]!, oldVersion: left[1], newPath: right[0]!, newVersion: right[1] ?? '' });
      break;
    }
    default:
      break;
  }
}

/** The tokens of one go.mod line (quoted strings unquoted, `=>` and parentheses on their own) and its `//` comment. */
function tokenize(line: string): { tokens: string[]; comment: string } {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') i++;
    else if (line.startsWith('//', i)) return { tokens, comment: line.slice(i + 2) };
    else if (c === '(' || c === ')') {
      tokens.push(c);
      i++;
    } else if (line.startsWith('=>', i)) {
      tokens.push('=>');
      i += 2;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += c === '"' && line[j] === '\\' ? 2 : 1;
      const raw = line.slice(i, j + 1);
      tokens.push(goUnquote(raw) ?? raw.slice(1, -1));
      i = j + 1;
    } else {
      let j = i;
      while (j < line.length && !' \t()"`'.includes(line[j]!) && !line.startsWith('//', j) && !line.startsWith('=>', j)) j++;
      tokens.push(line.slice(i, j));
      i = j;
    }
  }
  return { tokens, comment: '' };
}

function goModPackages(mod: GoMod): RawPackage[] {
  const out = new Map<string, RawPackage>();
  const direct: string[] = [];
  for (const req of mod.requires) {
    // A replacement naming the version beats one for every version of the path.
    const replace =
      mod.replaces.find((r) => r.oldPath === req.path && r.oldVersion === req.version) ?? mod.replaces.find((r) => r.oldPath === req.path && r.oldVersion === undefined);
    const identity = moduleIdentity({ path: req.path, version: req.version, replace: replace === undefined ? undefined : { path: replace.newPath, version: replace.newVersion } });
    const p: RawPackage = {
      type: 'golang',
      ...identity,
      ...(req.indirect ? { properties: { ...identity.properties, indirect: 'true' } } : {}),
    };
    const key = packageKey(p);
    if (!out.has(key)) out.set(key, p);
    if (!req.indirect && !direct.includes(key)) direct.push(key);
  }
  if (mod.module === undefined) return [...out.values()];
  const root: RawPackage = { type: 'golang', name: mod.module, version: DEVEL, root: true, dependsOn: direct };
  return [root, ...out.values()];
}
