/**
 * A zip written entry by entry to a file, deflated, with Zip64 end records when it holds more than
 * 65,535 entries (as osv.dev's npm all.zip does): the benchmark's feeds in osv.dev's form.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';

interface Central {
  readonly name: Buffer;
  readonly crc: number;
  readonly compressed: number;
  readonly size: number;
  readonly offset: number;
}

export class ZipWriter {
  private readonly fd: number;
  private offset = 0;
  private readonly entries: Central[] = [];

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  private write(b: Buffer): void {
    writeSync(this.fd, b);
    this.offset += b.length;
  }

  add(fileName: string, content: Buffer): void {
    const name = Buffer.from(fileName, 'utf8');
    const data = deflateRawSync(content);
    const crc = crc32(content);
    if (this.offset > 0xfffffff0 || data.length > 0xfffffff0) throw new Error('the benchmark zip writer keeps entries below 4 GB');
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(8, 8); // deflate
    h.writeUInt32LE(0, 10); // time, date
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(data.length, 18);
    h.writeUInt32LE(content.length, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(0, 28);
    this.entries.push({ name, crc, compressed: data.length, size: content.length, offset: this.offset });
    this.write(h);
    this.write(name);
    this.write(data);
  }

  close(): void {
    const start = this.offset;
    for (const e of this.entries) {
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(45, 4);
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(0x0800, 8);
      c.writeUInt16LE(8, 10);
      c.writeUInt32LE(0, 12);
      c.writeUInt32LE(e.crc, 16);
      c.writeUInt32LE(e.compressed, 20);
      c.writeUInt32LE(e.size, 24);
      c.writeUInt16LE(e.name.length, 28);
      c.writeUInt32LE(e.offset, 42);
      this.write(c);
      this.write(e.name);
    }
    const size = this.offset - start;
    const count = this.entries.length;
    if (count > 0xfffe) {
      const zip64 = this.offset;
      const r = Buffer.alloc(56);
      r.writeUInt32LE(0x06064b50, 0);
      r.writeBigUInt64LE(44n, 4);
      r.writeUInt16LE(45, 12);
      r.writeUInt16LE(45, 14);
      r.writeBigUInt64LE(BigInt(count), 24);
      r.writeBigUInt64LE(BigInt(count), 32);
      r.writeBigUInt64LE(BigInt(size), 40);
      r.writeBigUInt64LE(BigInt(start), 48);
      this.write(r);
      const l = Buffer.alloc(20);
      l.writeUInt32LE(0x07064b50, 0);
      l.writeBigUInt64LE(BigInt(zip64), 8);
      l.writeUInt32LE(1, 16);
      this.write(l);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, 0xffff), 8);
    end.writeUInt16LE(Math.min(count, 0xffff), 10);
    end.writeUInt32LE(size, 12);
    end.writeUInt32LE(start, 16);
    this.write(end);
    closeSync(this.fd);
  }
}
