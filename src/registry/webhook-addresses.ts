/**
 * Where a webhook may post: every address a receiver's name resolves to is classified (public,
 * loopback, private, the registry itself, link-local, cloud metadata, …) and checked, and the
 * connection goes to the address that was checked, so a DNS answer that changes in between ("DNS
 * rebinding") changes nothing. Link-local and metadata addresses are refused always; loopback,
 * private ranges and the registry itself unless private receivers are allowed.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/** A resolution that takes longer is a failed attempt (the resolver's own timeouts are longer). */
const RESOLVE_TIMEOUT_MS = 5_000;

/** What an address is, for the guard: `public` passes; see ALWAYS_REFUSED and PRIVATE. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'self' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

/** Refused even with `webhooks.allowPrivate`: nothing legitimate listens there, credentials do. */
const ALWAYS_REFUSED: ReadonlySet<AddressKind> = new Set(['link-local', 'metadata', 'unspecified', 'multicast', 'reserved']);

const DESCRIPTIONS: Readonly<Record<Exclude<AddressKind, 'public'>, string>> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  self: 'the registry itself',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
};

/** The 16 bytes of an IPv6 address, or of an IPv4 one mapped (::ffff:a.b.c.d); undefined when `s` is neither. */
export function ipBytes(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  const ip = zone >= 0 ? s.slice(0, zone) : s;
  const version = isIP(ip);
  if (version === 4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ip.split('.').map(Number)]);
  if (version !== 6) return undefined;
  let text = ip;
  const last = text.lastIndexOf(':');
  if (text.slice(last + 1).includes('.')) {
    const [a, b, c, d] = text.slice(last + 1).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, last + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const groups = (h: string | undefined): number[] => (h === undefined || h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const all = halves.length === 2 ? [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (all.length !== 8) return undefined;
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/** [kind, address, prefix length] over the 16-byte form: the most specific first. */
const RANGES: readonly (readonly [AddressKind, string, number])[] = [
  ['metadata', '169.254.169.254', 128],
  ['metadata', '100.100.100.200', 128], // Alibaba Cloud
  ['metadata', 'fd00:ec2::254', 128], // AWS over IPv6
  ['unspecified', '0.0.0.0', 96 + 8], // "this network"
  ['loopback', '127.0.0.0', 96 + 8],
  ['link-local', '169.254.0.0', 96 + 16],
  ['private', '10.0.0.0', 96 + 8],
  ['private', '172.16.0.0', 96 + 12],
  ['private', '192.168.0.0', 96 + 16],
  ['private', '100.64.0.0', 96 + 10], // carrier-grade NAT
  ['private', '198.18.0.0', 96 + 15], // benchmarking networks
  ['reserved', '192.0.0.0', 96 + 24],
  ['multicast', '224.0.0.0', 96 + 4],
  ['reserved', '240.0.0.0', 96 + 4], // and the broadcast address
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['link-local', 'fe80::', 10],
  ['private', 'fc00::', 7], // unique local
  ['private', 'fec0::', 10], // site-local (deprecated)
  ['private', '64:ff9b:1::', 48], // local-use NAT64
  ['multicast', 'ff00::', 8],
  ['reserved', '100::', 64], // discard-only
];
const PARSED_RANGES = RANGES.map(([kind, address, bits]) => ({ kind, bytes: ipBytes(address)!, bits }));

function inPrefix(ip: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (prefix[i]! & mask)) return false;
  }
  return true;
}

/** The IPv4 address an IPv6 one carries (NAT64, 6to4, IPv4-compatible), mapped; undefined when none. */
function embeddedV4(ip: Uint8Array): Uint8Array | undefined {
  const mapped = (a: number, b: number, c: number, d: number) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
  if (inPrefix(ip, ipBytes('64:ff9b::')!, 96) || inPrefix(ip, ipBytes('::')!, 96)) return mapped(ip[12]!, ip[13]!, ip[14]!, ip[15]!);
  if (ip[0] === 0x20 && ip[1] === 0x02) return mapped(ip[2]!, ip[3]!, ip[4]!, ip[5]!);
  return undefined;
}

/** What kind of address `address` (IPv4 or IPv6, with or without a zone) is; undefined when it is no IP address. */
export function addressKind(address: string): AddressKind | undefined {
  const ip = ipBytes(address);
  if (ip === undefined) return undefined;
  const direct = PARSED_RANGES.find((r) => inPrefix(ip, r.bytes, r.bits))?.kind;
  if (direct !== undefined) return direct;
  const v4 = embeddedV4(ip);
  return (v4 === undefined ? undefined : PARSED_RANGES.find((r) => inPrefix(v4, r.bytes, r.bits))?.kind) ?? 'public';
}

/** Host names that are a metadata service wherever they resolve. */
const METADATA_NAMES: ReadonlySet<string> = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** The addresses a host name resolves to (every one, IPv4 and IPv6); a test injects its own. */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

const systemResolver: Resolver = async (hostname) => (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export type TargetCheck =
  | { readonly kind: 'allowed'; readonly address: string | undefined }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'unresolved'; readonly reason: string };

export interface AddressGuardOptions {
  readonly allowPrivate: boolean;
  /** The registry's external URL: its host is the registry itself. */
  readonly registryUrl?: string | undefined;
  readonly resolve?: Resolver | undefined;
  /** This machine's addresses; default: its network interfaces'. */
  readonly localAddresses?: (() => readonly string[]) | undefined;
}

/** Decides whether a URL's host may be reached, and which address to connect to. */
export class AddressGuard {
  private readonly resolve: Resolver;
  private registryAddresses: { at: number; addresses: readonly string[] } | undefined;

  constructor(private readonly o: AddressGuardOptions) {
    this.resolve = o.resolve ?? systemResolver;
  }

  /** Refused, with the reason, or undefined when an address of this kind may be reached. */
  private refusal(kind: AddressKind, what: string): string | undefined {
    if (kind === 'public') return undefined;
    if (ALWAYS_REFUSED.has(kind) || !this.o.allowPrivate) return `${what} is ${DESCRIPTIONS[kind]}${ALWAYS_REFUSED.has(kind) ? '' : ' (set webhooks.allowPrivate to allow it)'}`;
    return undefined;
  }

  /**
   * Checks `url`'s host: by name, then every address it resolves to. `allowed` names the address to
   * connect to (undefined for a name that does not resolve now, which only `create` accepts).
   */
  async check(url: URL): Promise<TargetCheck> {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
    const literal = addressKind(host);
    if (literal !== undefined) {
      const refused = this.refusal(literal, host) ?? this.refusal((await this.isSelf([host])) ? 'self' : 'public', host);
      return refused === undefined ? { kind: 'allowed', address: host } : { kind: 'refused', reason: refused };
    }
    if (METADATA_NAMES.has(host)) return { kind: 'refused', reason: `${host} is ${DESCRIPTIONS.metadata}` };
    const byName = host === 'localhost' || host.endsWith('.localhost') ? 'loopback' : this.registryHostname() === host ? 'self' : 'public';
    const nameRefused = this.refusal(byName, host);
    if (nameRefused !== undefined) return { kind: 'refused', reason: nameRefused };
    let addresses: readonly string[];
    try {
      addresses = await withTimeout(this.resolve(host), RESOLVE_TIMEOUT_MS, `resolving ${host} took over ${RESOLVE_TIMEOUT_MS / 1000} s`);
    } catch (err) {
      return { kind: 'unresolved', reason: `could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    if (addresses.length === 0) return { kind: 'unresolved', reason: `${host} resolves to no address` };
    for (const a of addresses) {
      const refused = this.refusal(addressKind(a) ?? 'reserved', `${host} resolves to ${a}, which`);
      if (refused !== undefined) return { kind: 'refused', reason: refused };
    }
    if (await this.isSelf(addresses)) {
      const refused = this.refusal('self', `${host} resolves to an address of the registry, which`);
      if (refused !== undefined) return { kind: 'refused', reason: refused };
    }
    return { kind: 'allowed', address: addresses[0] };
  }

  private registryHostname(): string | undefined {
    if (this.o.registryUrl === undefined) return undefined;
    try {
      return new URL(this.o.registryUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
    } catch {
      return undefined;
    }
  }

  /** Whether any of `addresses` is one of this machine's or one the registry's external host resolves to. */
  private async isSelf(addresses: readonly string[]): Promise<boolean> {
    if (this.o.allowPrivate) return false;
    const mine = new Set([...(this.o.localAddresses ?? interfaceAddresses)(), ...(await this.registryHostAddresses())].map(canonical));
    return addresses.some((a) => mine.has(canonical(a)));
  }

  private async registryHostAddresses(): Promise<readonly string[]> {
    const host = this.registryHostname();
    if (host === undefined) return [];
    if (addressKind(host) !== undefined) return [host];
    const now = Date.now();
    if (this.registryAddresses === undefined || now - this.registryAddresses.at > 300_000) {
      const addresses = await withTimeout(this.resolve(host), RESOLVE_TIMEOUT_MS, 'timed out').catch(() => [] as readonly string[]);
      this.registryAddresses = { at: now, addresses };
    }
    return this.registryAddresses.addresses;
  }
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** One spelling per address (the 16 bytes in hex). */
function canonical(address: string): string {
  const b = ipBytes(address);
  return b === undefined ? address : Buffer.from(b).toString('hex');
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}
