/**
 * Just enough of ELF, Mach-O and PE to list sections and map virtual addresses to file offsets, for
 * the catalogers that read what a toolchain embeds in an executable: Go's build info (go.ts) and
 * cargo-auditable's dependency list (rust.ts). Every count and offset comes from an untrusted file,
 * so each read is bounds-checked and each table size capped: a corrupt header gives `undefined` (not
 * an executable) or no sections, never a huge allocation or an exception from a typed-array read.
 */
import type { CatalogFile } from '../cataloger.js';

export interface ExeSection {
  readonly name: string;
  /** The Mach-O segment holding the section (`__DATA`); empty for ELF and PE. */
  readonly segment: string;
  /** Virtual address (for PE, image base included). */
  readonly addr: number;
  readonly offset: number;
  /** Bytes stored in the file: 0 for sections that only take memory (.bss, zerofill). */
  readonly size: number;
}

export interface Executable {
  readonly format: 'elf' | 'macho' | 'pe';
  /** The machine as a GOARCH name (amd64, arm64, 386, ...), when the header names a known one. */
  readonly arch: string | undefined;
  /** Empty when the file has no section table or it cannot be read. */
  readonly sections: readonly ExeSection[];
  /**
   * Where Go's linker puts the build info, found the way Go's debug/buildinfo does: the build info
   * section when there is one, else the start of the first writable data segment.
   */
  readonly dataStart: number | undefined;
  /** Up to `length` bytes at a virtual address, never past the end of the segment that maps it. */
  readAddress(addr: number, length: number): Promise<Uint8Array>;
}

/** Executables worth opening: smaller ones are scripts or stubs, larger ones are not programs. */
const MIN_EXECUTABLE_BYTES = 1024;
export const MAX_EXECUTABLE_BYTES = 512 * 1024 * 1024;

/** Any execute bit (or a Windows .exe) and a plausible size. */
export function wantsExecutable(path: string, size: number, mode: number): boolean {
  return size >= MIN_EXECUTABLE_BYTES && size <= MAX_EXECUTABLE_BYTES && ((mode & 0o111) !== 0 || path.endsWith('.exe'));
}

/** Bytes of headers read at most: a real load-command or section table is a few KiB. */
const MAX_TABLE_BYTES = 4 * 1024 * 1024;

class Malformed extends Error {}

/** Bounds-checked integer reads over a header. */
class Fields {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly little: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(o: number): number {
    this.check(o, 1);
    return this.view.getUint8(o);
  }

  u16(o: number): number {
    this.check(o, 2);
    return this.view.getUint16(o, this.little);
  }

  u32(o: number): number {
    this.check(o, 4);
    return this.view.getUint32(o, this.little);
  }

  /** A 64-bit field; a value past 2^53 is no real offset or address, so the header is corrupt. */
  u64(o: number): number {
    this.check(o, 8);
    const v = this.view.getBigUint64(o, this.little);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Malformed('64-bit field out of range');
    return Number(v);
  }

  word(o: number, is64: boolean): number {
    return is64 ? this.u64(o) : this.u32(o);
  }

  /** A NUL-terminated (or `max`-long) string at `o`. */
  cstring(o: number, max: number): string {
    this.check(o, 0);
    const end = Math.min(this.bytes.byteLength, o + max);
    let i = o;
    while (i < end && this.bytes[i] !== 0) i++;
    return Buffer.from(this.bytes.subarray(o, i)).toString('latin1');
  }

  private check(o: number, n: number): void {
    if (!(o >= 0 && o + n <= this.bytes.byteLength)) throw new Malformed('header field past the end of the file');
  }
}

/** Whether the first bytes are those of an ELF, thin Mach-O or PE (MZ) file. */
export function isExecutableMagic(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const [a, b, c, d] = [head[0]!, head[1]!, head[2]!, head[3]!];
  if (a === 0x7f && b === 0x45 && c === 0x4c && d === 0x46) return true;
  if (a === 0x4d && b === 0x5a) return true;
  return machoMagic(head) !== undefined;
}

/** The executable structure of a file, or undefined when it is not a (readable) ELF, Mach-O or PE. */
export async function openExecutable(file: CatalogFile): Promise<Executable | undefined> {
  const head = await file.read(0, 64);
  try {
    if (head.length >= 16 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return await openElf(file, head);
    if (machoMagic(head) !== undefined) return await openMacho(file, head);
    if (head.length >= 64 && head[0] === 0x4d && head[1] === 0x5a) return await openPe(file, head);
  } catch (err) {
    if (err instanceof Malformed) return undefined;
    throw err;
  }
  return undefined;
}

interface Region {
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
}

function executable(file: CatalogFile, format: Executable['format'], arch: string | undefined, sections: readonly ExeSection[], regions: readonly Region[], dataStart: number | undefined): Executable {
  return {
    format,
    arch,
    sections,
    dataStart,
    async readAddress(addr, length) {
      const r = regions.find((x) => addr >= x.addr && addr < x.addr + x.size);
      if (r === undefined || length <= 0) return new Uint8Array(0);
      return file.read(r.offset + (addr - r.addr), Math.min(length, r.addr + r.size - addr));
    },
  };
}

// ---- ELF ----

const PT_LOAD = 1;
const PF_X = 1;
const PF_W = 2;
const SHT_NOBITS = 8;
const SHF_ALLOC = 2;

const ELF_MACHINES: Readonly<Record<number, string>> = { 3: '386', 8: 'mips', 20: 'ppc', 21: 'ppc64', 22: 's390x', 40: 'arm', 62: 'amd64', 183: 'arm64', 243: 'riscv64', 258: 'loong64' };

function elfArch(machine: number, is64: boolean, little: boolean): string | undefined {
  const base = ELF_MACHINES[machine];
  if (base === 'mips') return `${is64 ? 'mips64' : 'mips'}${little ? 'le' : ''}`;
  if (base === 'ppc64' && little) return 'ppc64le';
  return base;
}

async function openElf(file: CatalogFile, head: Uint8Array): Promise<Executable | undefined> {
  const cls = head[4];
  const data = head[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const is64 = cls === 2;
  const little = data === 1;
  const h = new Fields(head, little);
  const machine = h.u16(18);
  const phoff = h.word(is64 ? 32 : 28, is64);
  const shoff = h.word(is64 ? 40 : 32, is64);
  const phentsize = h.u16(is64 ? 54 : 42);
  const phnum = h.u16(is64 ? 56 : 44);
  const shentsize = h.u16(is64 ? 58 : 46);
  const shnum = h.u16(is64 ? 60 : 48);
  const shstrndx = h.u16(is64 ? 62 : 50);

  const segments: { flags: number; region: Region }[] = [];
  if (phnum > 0 && phentsize >= (is64 ? 56 : 32) && phnum * phentsize <= MAX_TABLE_BYTES) {
    const table = new Fields(await file.read(phoff, phnum * phentsize), little);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      try {
        if (table.u32(o) !== PT_LOAD) continue;
        const flags = table.u32(is64 ? o + 4 : o + 24);
        const offset = table.word(is64 ? o + 8 : o + 4, is64);
        const addr = table.word(is64 ? o + 16 : o + 8, is64);
        const size = table.word(is64 ? o + 32 : o + 16, is64);
        segments.push({ flags, region: { addr, offset, size } });
      } catch (err) {
        // A program header table cut short by truncation: keep the segments read so far.
        if (err instanceof Malformed) break;
        throw err;
      }
    }
  }

  const sections = await elfSections(file, little, is64, shoff, shentsize, shnum, shstrndx);
  const buildinfo = sections.find((s) => s.name === '.go.buildinfo');
  const dataSegment = segments.find((s) => (s.flags & (PF_X | PF_W)) === PF_W);
  const regions =
    segments.length > 0 ? segments.map((s) => s.region) : sections.filter((s) => s.size > 0 && s.addr !== 0).map((s) => ({ addr: s.addr, offset: s.offset, size: s.size }));
  return executable(file, 'elf', elfArch(machine, is64, little), sections, regions, buildinfo?.addr ?? dataSegment?.region.addr);
}

/** The section table, or [] when it is missing or unreadable (stripped, truncated, corrupt). */
async function elfSections(file: CatalogFile, little: boolean, is64: boolean, shoff: number, shentsize: number, shnum: number, shstrndx: number): Promise<ExeSection[]> {
  const entsize = is64 ? 64 : 40;
  if (shoff === 0 || shentsize < entsize) return [];
  try {
    let count = shnum;
    let strndx = shstrndx;
    if (count === 0 || strndx === 0xffff) {
      // Extended numbering: the real count and string-table index live in section 0.
      const first = new Fields(await file.read(shoff, shentsize), little);
      if (count === 0) count = first.word(is64 ? 32 : 20, is64);
      if (strndx === 0xffff) strndx = first.u32(is64 ? 40 : 24);
    }
    if (count === 0 || count * shentsize > MAX_TABLE_BYTES) return [];
    const table = new Fields(await file.read(shoff, count * shentsize), little);
    const raw: { nameOff: number; type: number; flags: number; addr: number; offset: number; size: number }[] = [];
    for (let i = 0; i < count; i++) {
      const o = i * shentsize;
      raw.push({
        nameOff: table.u32(o),
        type: table.u32(o + 4),
        flags: table.word(o + 8, is64),
        addr: table.word(is64 ? o + 16 : o + 12, is64),
        offset: table.word(is64 ? o + 24 : o + 16, is64),
        size: table.word(is64 ? o + 32 : o + 20, is64),
      });
    }
    const strtab = raw[strndx];
    const names = strtab !== undefined && strtab.type !== SHT_NOBITS && strtab.size <= MAX_TABLE_BYTES ? new Fields(await file.read(strtab.offset, strtab.size), little) : undefined;
    return raw.map((s) => ({
      name: names !== undefined && s.nameOff < names.bytes.length ? names.cstring(s.nameOff, 256) : '',
      segment: '',
      // Only allocated sections have a meaningful address.
      addr: (s.flags & SHF_ALLOC) !== 0 ? s.addr : 0,
      offset: s.offset,
      size: s.type === SHT_NOBITS ? 0 : s.size,
    }));
  } catch (err) {
    if (err instanceof Malformed) return [];
    throw err;
  }
}

// ---- Mach-O ----

const LC_SEGMENT = 0x1;
const LC_SEGMENT_64 = 0x19;
const ZEROFILL_TYPES = new Set([0x1, 0xc, 0x12]);
const MACHO_CPUS: Readonly<Record<number, string>> = { 7: '386', 0x01000007: 'amd64', 12: 'arm', 0x0100000c: 'arm64', 18: 'ppc', 0x01000012: 'ppc64' };

/** Thin Mach-O only: a fat file's magic (cafebabe) is also a Java class file's. */
function machoMagic(head: Uint8Array): { little: boolean; is64: boolean } | undefined {
  if (head.length < 4) return undefined;
  const le = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (le === 0xfeedface || le === 0xfeedfacf) return { little: true, is64: le === 0xfeedfacf };
  if (be === 0xfeedface || be === 0xfeedfacf) return { little: false, is64: be === 0xfeedfacf };
  return undefined;
}

async function openMacho(file: CatalogFile, head: Uint8Array): Promise<Executable | undefined> {
  const { little, is64 } = machoMagic(head)!;
  const h = new Fields(head, little);
  const cpu = h.u32(4);
  const ncmds = h.u32(16);
  const sizeofcmds = h.u32(20);
  const start = is64 ? 32 : 28;
  if (sizeofcmds > MAX_TABLE_BYTES) return undefined;
  const cmds = new Fields(await file.read(start, sizeofcmds), little);
  const sections: ExeSection[] = [];
  const segments: { name: string; region: Region; maxprot: number; initprot: number }[] = [];
  let o = 0;
  for (let i = 0; i < ncmds && o + 8 <= cmds.bytes.length; i++) {
    const cmd = cmds.u32(o);
    const size = cmds.u32(o + 4);
    if (size < 8 || o + size > cmds.bytes.length) break;
    if (cmd === LC_SEGMENT || cmd === LC_SEGMENT_64) {
      const wide = cmd === LC_SEGMENT_64;
      const name = cmds.cstring(o + 8, 16);
      const addr = cmds.word(o + 24, wide);
      const offset = cmds.word(wide ? o + 40 : o + 32, wide);
      const filesize = cmds.word(wide ? o + 48 : o + 36, wide);
      const maxprot = cmds.u32(wide ? o + 56 : o + 40);
      const initprot = cmds.u32(wide ? o + 60 : o + 44);
      const nsects = cmds.u32(wide ? o + 64 : o + 48);
      segments.push({ name, region: { addr, offset, size: filesize }, maxprot, initprot });
      const sectSize = wide ? 80 : 68;
      let s = o + (wide ? 72 : 56);
      for (let j = 0; j < nsects && s + sectSize <= o + size; j++, s += sectSize) {
        const flags = cmds.u32(wide ? s + 64 : s + 56);
        sections.push({
          name: cmds.cstring(s, 16),
          segment: cmds.cstring(s + 16, 16),
          addr: cmds.word(s + 32, wide),
          offset: cmds.u32(wide ? s + 48 : s + 40),
          size: ZEROFILL_TYPES.has(flags & 0xff) ? 0 : cmds.word(wide ? s + 40 : s + 36, wide),
        });
      }
    }
    o += size;
  }
  const buildinfo = sections.find((s) => s.name === '__go_buildinfo');
  const rw = segments.find((s) => s.region.addr !== 0 && s.region.size !== 0 && s.initprot === 3 && s.maxprot === 3);
  const regions = segments.filter((s) => s.name !== '__PAGEZERO' && s.region.size > 0).map((s) => s.region);
  return executable(file, 'macho', MACHO_CPUS[cpu], sections, regions, buildinfo?.addr ?? rw?.region.addr);
}

// ---- PE ----

const PE_MACHINES: Readonly<Record<number, string>> = { 0x14c: '386', 0x8664: 'amd64', 0x1c0: 'arm', 0x1c4: 'arm', 0xaa64: 'arm64' };
/** IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ | IMAGE_SCN_MEM_WRITE. */
const SCN_DATA_RW = 0xc0000040;
const SCN_ALIGN_32BYTES = 0x00600000;

async function openPe(file: CatalogFile, head: Uint8Array): Promise<Executable | undefined> {
  const lfanew = new Fields(head, true).u32(0x3c);
  if (lfanew > MAX_TABLE_BYTES) return undefined;
  const coff = new Fields(await file.read(lfanew, 24), true);
  if (coff.u32(0) !== 0x00004550) return undefined;
  const machine = coff.u16(4);
  const nsections = coff.u16(6);
  const symtab = coff.u32(12);
  const nsymbols = coff.u32(16);
  const optSize = coff.u16(20);
  if (optSize + nsections * 40 > MAX_TABLE_BYTES) return undefined;
  const table = new Fields(await file.read(lfanew + 24, optSize + nsections * 40), true);
  const magic = table.u16(0);
  if (magic !== 0x10b && magic !== 0x20b) return undefined;
  const imageBase = magic === 0x20b ? table.u64(24) : table.u32(28);
  // Names longer than 8 bytes are "/<offset>" into the COFF string table after the symbols.
  const strings = symtab !== 0 ? symtab + nsymbols * 18 : undefined;
  const sections: ExeSection[] = [];
  const regions: Region[] = [];
  let dataStart: number | undefined;
  for (let i = 0; i < nsections; i++) {
    const o = optSize + i * 40;
    let name = table.cstring(o, 8);
    const va = table.u32(o + 12);
    const rawSize = table.u32(o + 16);
    const rawOffset = table.u32(o + 20);
    const characteristics = table.u32(o + 36);
    if (name.startsWith('/') && strings !== undefined && /^\/\d{1,7}$/.test(name)) {
      name = new Fields(await file.read(strings + Number(name.slice(1)), 256), true).cstring(0, 256);
    }
    sections.push({ name, segment: '', addr: imageBase + va, offset: rawOffset, size: rawSize });
    regions.push({ addr: imageBase + va, offset: rawOffset, size: rawSize });
    if (dataStart === undefined && va !== 0 && rawSize !== 0 && (characteristics & ~SCN_ALIGN_32BYTES) >>> 0 === SCN_DATA_RW) dataStart = imageBase + va;
  }
  return executable(file, 'pe', PE_MACHINES[machine], sections, regions, dataStart);
}
