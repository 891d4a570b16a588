import { z } from 'zod';
import { parseDuration, parseSize } from '../shared/index.js';

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: use e.g. 90s, 30m, 1h, 7d` });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size: use e.g. 512MiB, 20GiB or a number of bytes` });
    return z.NEVER;
  }
  return bytes;
});

const addr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 0.0.0.0:5000 or :5000')
  .refine((v) => !/:\d{1,5}$/.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0 to 65535');

/** The longest delay a Node.js timer can wait (2^31-1 ms, about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The configuration file's schema. Every key is optional; unknown keys are errors. */
export const configSchema = z
  .object({
    addr: addr.default('0.0.0.0:5000'),
    data: z.string().min(1).default('./data'),
    /** Names this replica in the job queue (who holds a running job); default `<host name>:<data directory>`. */
    replicaId: z.string().min(1).max(200).optional(),
    externalUrl: z.url({ protocol: /^https?$/ }).optional(),
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
    log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).strict().prefault({}),
    database: z
      .object({
        kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
        path: z.string().min(1).optional(),
        url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL').optional(),
        schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier').default('portcullis'),
        maxConnections: z.number().int().min(1).max(1000).default(10),
      })
      .strict()
      .prefault({}),
    storage: z.object({ kind: z.literal('filesystem').default('filesystem'), path: z.string().min(1).optional() }).strict().prefault({}),
    auth: z
      .object({
        service: z.string().min(1).default('portcullis'),
        tokenTtl: duration.prefault(300),
        /**
         * Reverse proxies in front that are trusted to set X-Forwarded-*: true means one; a number
         * counts them (a CDN before nginx: 2). The client is the address that many hops back.
         */
        trustProxy: z
          .union([z.boolean(), z.number().int().min(0).max(16)])
          .default(false)
          .transform((v) => (v === true ? 1 : v === false ? 0 : v)),
        maxFailedLogins: z.number().int().min(1).default(10),
        failedLoginWindow: duration.prefault(300),
      })
      .strict()
      .prefault({}),
    registry: z.object({ maxBlobSize: size.prefault('20GiB') }).strict().prefault({}),
    gc: z.object({ grace: duration.prefault('1h'), uploadTtl: duration.prefault('24h'), interval: duration.prefault(0).refine((ms) => ms <= MAX_TIMER_MS, 'at most 24d (a longer schedule: run portcullis gc from cron)'), deleteUntagged: z.boolean().default(false) }).strict().prefault({}),
    projects: z.object({ creation: z.enum(['everyone', 'adminonly']).default('everyone') }).strict().prefault({}),
    sbom: z.object({ enabled: z.boolean().default(true) }).strict().prefault({}),
    scan: z
      .object({
        enabled: z.boolean().default(true),
        /** The advisory DB (`portcullis db build`); default `<data>/advisory.db`. */
        db: z.string().min(1).optional(),
        /** Older than this, results carry a warning that the DB is stale. */
        maxDbAge: duration.prefault('7d'),
        /**
         * Keeping the DB current: one replica at a time fetches the feeds every `interval` (0: never;
         * soon after the first start) and hands the DB it built to the others (docs/scan.md).
         */
        update: z
          .object({
            interval: duration.prefault('12h').refine((ms) => ms === 0 || ms >= 1000, '0 (off) or at least 1s'),
            /** Feed URLs in place of the official set (an internal mirror, say). */
            feeds: z.array(z.url({ protocol: /^https?$/ })).min(1, 'at least one feed URL (or leave it out for the official feeds)').optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        /** The heap cap of the threads that read images for SBOMs and scans. */
        maxMemory: size.prefault('2GiB').refine((n) => n >= 64 * 1024 * 1024, 'at least 64MiB'),
        /** How long one SBOM or scan of an image may run. */
        timeout: duration.prefault('10m').refine((ms) => ms >= 1000 && ms <= MAX_TIMER_MS, 'between 1s and 24d'),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        /** How long audit entries are kept: 0 keeps every entry; else the chain is cut at a recorded checkpoint. */
        retention: duration.prefault(0).refine((ms) => ms === 0 || (ms >= 86_400_000 && ms <= 3650 * 86_400_000), '0 (keep every entry) or 1d to 3650d'),
      })
      .strict()
      .prefault({}),
    webhooks: z
      .object({
        /** Receivers on loopback, private networks and the registry's own host may be reached (link-local and metadata addresses never). */
        allowPrivate: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    signing: z
      .object({
        /** Encrypts projects' signing keys at rest; every replica needs the same one. */
        secret: z.string().min(16, 'at least 16 characters').optional(),
        /** Where the secret is kept when none is given (created on first use, mode 0600); default `<data>/signing.secret`. */
        secretFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

/** The validated configuration, with derived paths filled in. */
export interface Config extends Omit<Parsed, 'database' | 'storage' | 'scan' | 'signing'> {
  readonly database: Parsed['database'] & { readonly path: string };
  readonly storage: Parsed['storage'] & { readonly path: string };
  readonly scan: Omit<Parsed['scan'], 'db'> & { readonly db: string };
  readonly signing: { readonly secret?: string; readonly secretFile: string };
}
