import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { SettingsStore } from '../../storage/index.js';
import type { AccessEntry } from './scope.js';

const SETTINGS_KEY = 'auth.token-signing-key';
const ALG = 'ES256';

export interface TokenClaims {
  /** The account: a username, or `robot$name`. */
  readonly subject: string;
  readonly access: readonly AccessEntry[];
  /** Actions that were asked for and refused: the registry answers these with 403, not a new challenge. */
  readonly refused: readonly AccessEntry[];
  readonly expiresAt: number;
}

/**
 * Issues and verifies the registry's bearer tokens (Docker token authentication): short-lived
 * ES256 JWTs with the granted `access`. The key pair lives in the metadata store, so every
 * replica signs and verifies with the same key.
 */
export class TokenService {
  private readonly verified = new Map<string, TokenClaims>();

  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    readonly keyId: string,
    private readonly issuer: string,
    private readonly service: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {}

  static async create(settings: SettingsStore, options: { issuer: string; service: string; ttlSeconds: number; now: () => number }): Promise<TokenService> {
    let stored = await settings.get(SETTINGS_KEY);
    if (stored === undefined) {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      const jwk = await exportJWK(privateKey);
      stored = await settings.putIfAbsent(SETTINGS_KEY, JSON.stringify({ ...jwk, kid: randomUUID() }));
    }
    const jwk = JSON.parse(stored) as JWK & { kid: string };
    const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
    const { d: _private, ...publicJwk } = jwk;
    const publicKey = (await importJWK(publicJwk, ALG)) as CryptoKey;
    return new TokenService(privateKey, publicKey, jwk.kid, options.issuer, options.service, options.ttlSeconds, options.now);
  }

  get ttl(): number {
    return this.ttlSeconds;
  }

  async issue(subject: string, access: readonly AccessEntry[], refused: readonly AccessEntry[] = []): Promise<{ token: string; issuedAt: Date; expiresIn: number }> {
    const iat = Math.floor(this.now() / 1000);
    const entries = (xs: readonly AccessEntry[]) => xs.map((a) => ({ type: a.type, name: a.name, actions: [...a.actions] }));
    const token = await new SignJWT({ access: entries(access), ...(refused.length > 0 ? { 'portcullis.refused': entries(refused) } : {}) })
      .setProtectedHeader({ alg: ALG, kid: this.keyId, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(subject)
      .setAudience(this.service)
      .setIssuedAt(iat)
      .setNotBefore(iat - 5)
      .setExpirationTime(iat + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, issuedAt: new Date(iat * 1000), expiresIn: this.ttlSeconds };
  }

  /** The claims of a valid token of ours, else undefined. Verified tokens are remembered until they expire. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (cached.expiresAt > this.now()) return cached;
      this.verified.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALG],
        issuer: this.issuer,
        audience: this.service,
        currentDate: new Date(this.now()),
        clockTolerance: 30,
      }));
    } catch {
      return undefined;
    }
    if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number' || !Array.isArray(payload['access'])) return undefined;
    const refused = Array.isArray(payload['portcullis.refused']) ? (payload['portcullis.refused'] as AccessEntry[]) : [];
    const claims: TokenClaims = { subject: payload.sub, access: payload['access'] as AccessEntry[], refused, expiresAt: payload.exp * 1000 };
    if (this.verified.size >= 10_000) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }
}
