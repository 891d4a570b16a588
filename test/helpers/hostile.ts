/** Hostile image content, made in code: a jar bomb and a package database no real image has. */
import { deflateRawSync } from 'node:zlib';
import { crc32 } from './zip.js';

const MiB = 1024 * 1024;

/**
 * A jar bomb of overlapping entries: one local entry holding 40 MiB of zeros deflated (about
 * 40 KB), and `count` central-directory entries, each a nested `.jar`, all pointing at it. Every
 * entry is inflated in full before it turns out not to be an archive.
 */
export function jarBomb(count: number): Buffer {
  const inner = Buffer.alloc(40 * MiB);
  const data = deflateRawSync(inner, { level: 9 });
  const crc = crc32(inner);
  const name = Buffer.from('a.jar');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(inner.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const n = Buffer.from(`lib/n${i}.jar`);
    const h = Buffer.alloc(46);
    h.writeUInt32LE(0x02014b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(20, 6);
    h.writeUInt16LE(8, 10);
    h.writeUInt32LE(crc, 16);
    h.writeUInt32LE(data.length, 20);
    h.writeUInt32LE(inner.length, 24);
    h.writeUInt16LE(n.length, 28);
    h.writeUInt32LE(0, 42);
    central.push(h, n);
  }
  const dir = Buffer.concat(central);
  const dirOffset = local.length + name.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(dir.length, 12);
  eocd.writeUInt32LE(dirOffset, 16);
  return Buffer.concat([local, name, data, dir, eocd]);
}

/** A dpkg status database of `n` packages (a hostile image's: real ones hold a few thousand). */
export function hugeStatus(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`Package: p${i}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.${i}\n`);
  return parts.join('\n');
}

