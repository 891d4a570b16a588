/** PEM blocks (RFC 7468) as Go's encoding/pem writes and reads them: 64-column base64, headers skipped. */

export interface PemBlock {
  readonly type: string;
  readonly bytes: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order. Lines with a colon (RFC 1421 headers) are not base64 and are skipped. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = m[2]!
      .split(/\r?\n/)
      .filter((line) => !line.includes(':'))
      .join('');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body.trim())) continue;
    out.push({ type: m[1]!, bytes: Buffer.from(body.trim(), 'base64') });
  }
  return out;
}

export function toPem(type: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}-----END ${type}-----\n`;
}
