import type { IncomingMessage } from 'node:http';

/**
 * Who a request comes from, for login limits and logs: the TCP peer; behind a reverse proxy
 * (`auth.trustProxy`), the last `X-Forwarded-For` entry. That is the one the proxy in front added,
 * the address it saw; entries before it are whatever the client chose to send (a guesser would
 * pick a new one per request), whether the proxy appends to the header or adds its own line.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = req.headers['x-forwarded-for'];
    const last = (Array.isArray(fwd) ? fwd.join(',') : fwd)?.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return (req.socket as IncomingMessage['socket'] | null)?.remoteAddress ?? 'unknown';
}
