import type { IncomingMessage } from 'node:http';

/**
 * Who a request comes from, for login limits and logs: the TCP peer; behind `proxies` trusted
 * reverse proxies (`auth.trustProxy`), the `X-Forwarded-For` entry that many from the end. Each
 * proxy appends the address it saw (or adds a line of its own, which Node joins), so the last
 * entries are the trusted proxies' word; entries before them are whatever the client sent (a
 * guesser would pick a new one per request).
 */
export function clientAddress(req: IncomingMessage, proxies: number): string {
  if (proxies > 0) {
    const fwd = req.headers['x-forwarded-for'];
    const entries = (Array.isArray(fwd) ? fwd.join(',') : (fwd ?? '')).split(',').map((e) => e.trim()).filter((e) => e !== '');
    // Fewer entries than proxies: the client spoke to a proxy nearer than the outermost.
    const entry = entries[Math.max(0, entries.length - proxies)];
    if (entry !== undefined) return entry;
  }
  return (req.socket as IncomingMessage['socket'] | null)?.remoteAddress ?? 'unknown';
}
