/**
 * `portcullis admission cert` and `portcullis admission manifests`: what it takes to run the
 * webhook in a cluster. The certificates and the objects are made in src/admission (pure); this
 * file reads and writes the files. The admission module is imported when a command runs: the
 * rest of the CLI does not pay for it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ManifestOptions, PolicyFile } from '../admission/index.js';
import { CliError } from './errors.js';
import { fileOutput, secretFileOutput, stdoutOutput } from './output.js';
import type { CliIo } from './program.js';
import { packageVersion } from './version.js';

/** The names `manifests` gives the Service and its namespace (ADMISSION_NAME, DEFAULT_NAMESPACE). */
const DEFAULT_SERVICE = 'portcullis-admission';
const DEFAULT_NAMESPACE = 'portcullis-admission';
const CERT_FILES = ['ca.crt', 'tls.crt', 'tls.key'] as const;
/** A serving certificate this close to its end is worth a warning. */
const RENEW_WARNING_DAYS = 30;

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function readText(io: CliIo, path: string, what: string): string {
  try {
    return readFileSync(resolve(io.cwd, path), 'utf8');
  } catch (err) {
    throw new CliError('FAILED', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Writes a file whole or not at all (temporary file, then rename); `mode` holds from its first byte. */
function writeWhole(path: string, text: string, mode: number): void {
  const tmp = join(dirname(path), `.${randomUUID()}.tmp`);
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new CliError('FAILED', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function positiveDays(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new CliError('USAGE', `--days must be a whole number of days (1 or more), not "${value}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerAdmissionDeploy(admission: Command, io: CliIo): void {
  admission
    .command('cert')
    .description("make a CA and the webhook's serving certificate for NAME.NS.svc: writes ca.crt, tls.crt and tls.key (0600)")
    .option('--service <name>', "the webhook's Service", DEFAULT_SERVICE)
    .option('-n, --namespace <ns>', "the webhook's namespace", DEFAULT_NAMESPACE)
    .option('--out <dir>', 'where to write the files (default: the current directory)')
    .option('--days <n>', 'validity of the serving certificate in days (the CA: 10 years)', '365')
    .option('--force', 'replace files of those names')
    .action(async (o: { service: string; namespace: string; out?: string; days: string; force?: boolean }) => {
      const { issueServingCertificates, serviceNameProblem, CA_VALIDITY_DAYS } = await import('../admission/index.js');
      const problem = serviceNameProblem(o.service, o.namespace);
      if (problem !== undefined) throw new CliError('USAGE', problem);
      const days = positiveDays(o.days);
      if (days > CA_VALIDITY_DAYS) throw new CliError('USAGE', `--days must be at most ${CA_VALIDITY_DAYS} (the CA's validity), not ${days}`);
      const dir = resolve(io.cwd, o.out ?? '.');
      const paths = CERT_FILES.map((f) => join(dir, f));
      const present = paths.filter((p) => existsSync(p));
      if (present.length > 0 && o.force !== true) {
        throw new CliError('FAILED', `${present.map((p) => relative(io.cwd, p) || p).join(', ')} already exist${present.length === 1 ? 's' : ''}: give --force to replace, or --out DIR for another directory`);
      }
      const issued = await issueServingCertificates({ service: o.service, namespace: o.namespace, now: new Date(), days });
      try {
        // A new directory holds a private key: only its owner may list it.
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new CliError('FAILED', `cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const [caPath, certPath, keyPath] = paths as [string, string, string];
      writeWhole(caPath, issued.caCert, 0o644);
      writeWhole(certPath, issued.cert, 0o644);
      writeWhole(keyPath, issued.key, 0o600);
      const shown = (p: string) => relative(io.cwd, p) || p;
      const tlsDir = relative(io.cwd, dir) || '.';
      stdoutOutput.result(
        [
          `${shown(caPath)}: a new CA (ECDSA P-256), valid until ${day(issued.caNotAfter)}; its key was not kept, so it can sign nothing else`,
          `${shown(certPath)}: for ${issued.dnsNames.join(', ')}, valid until ${day(issued.notAfter)}`,
          `${shown(keyPath)}: its private key (mode 0600)`,
          `renew before ${day(issued.notAfter)}: docs/admission.md says how, without refusing a pod`,
          `next: portcullis admission manifests${o.namespace !== DEFAULT_NAMESPACE ? ` --namespace ${o.namespace}` : ''} --tls-dir ${tlsDir} --policy POLICY.yaml -o admission.yaml`,
        ].join('\n'),
      );
      if (o.service !== DEFAULT_SERVICE) process.stderr.write(`warning: portcullis admission manifests names the Service ${DEFAULT_SERVICE}: this certificate for ${o.service} suits a deployment of your own\n`);
    });

  admission
    .command('manifests')
    .description('print the Kubernetes objects that run the webhook (YAML, for kubectl apply -f)')
    .option('-n, --namespace <ns>', "the webhook's namespace (one of its own: the webhooks do not judge it)", DEFAULT_NAMESPACE)
    .option('--image <image>', 'the Portcullis image (default registry.example.com/portcullis:VERSION)')
    .option('--ca-file <file>', "the CA certificate(s) the API server trusts for the webhook, for the caBundle (default: DIR/ca.crt of --tls-dir)")
    .option('--tls-dir <dir>', 'include the TLS Secret from DIR/tls.crt and DIR/tls.key (portcullis admission cert --out DIR)')
    .option('--policy <file>', 'the admission policy (YAML) and the key files it names, for the ConfigMap')
    .option('--exclude-namespace <ns>', 'another namespace the webhooks do not judge (repeatable)', collect, [] as string[])
    .option('-o, --output <file>', 'write the result to FILE instead of stdout (0600 when it holds the TLS key)')
    .action(async (o: { namespace: string; image?: string; caFile?: string; tlsDir?: string; policy?: string; excludeNamespace: string[]; output?: string }) => {
      const admissionModule = await import('../admission/index.js');
      const { DEFAULT_IMAGE_REPOSITORY, manifestOptionProblems, renderManifests } = admissionModule;
      const version = packageVersion();
      const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);
      const now = new Date();

      const caFile = o.caFile ?? (o.tlsDir !== undefined && existsSync(resolve(io.cwd, o.tlsDir, 'ca.crt')) ? join(o.tlsDir, 'ca.crt') : undefined);
      const caBundle = caFile !== undefined ? readText(io, caFile, 'the CA file') : undefined;
      if (caBundle !== undefined) {
        const problems = admissionModule.caBundleProblems(caBundle, now);
        if (problems.length > 0) throw new CliError('FAILED', `${caFile}: ${problems.join('; ')}`);
      }
      let tls: ManifestOptions['tls'];
      if (o.tlsDir !== undefined) {
        tls = { cert: readText(io, join(o.tlsDir, 'tls.crt'), 'the certificate'), key: readText(io, join(o.tlsDir, 'tls.key'), 'the key') };
      }
      let policy: ManifestOptions['policy'];
      if (o.policy !== undefined) policy = readPolicy(io, o.policy, admissionModule.policyKeyPaths);

      const options: ManifestOptions = {
        namespace: o.namespace,
        image: o.image ?? `${DEFAULT_IMAGE_REPOSITORY}:${version}`,
        version,
        excludeNamespaces: o.excludeNamespace,
        ...(caBundle !== undefined ? { caBundle } : {}),
        ...(tls !== undefined ? { tls } : {}),
        ...(policy !== undefined ? { policy } : {}),
      };
      const problems = manifestOptionProblems(options);
      if (problems.length > 0) throw new CliError('USAGE', problems.join('; '));
      if (tls !== undefined) {
        const dnsName = `${admissionModule.ADMISSION_NAME}.${o.namespace}.svc`;
        const pair = admissionModule.servingPairProblems({ cert: tls.cert, key: tls.key, dnsName, now, ...(caBundle !== undefined ? { caBundle } : {}) });
        if (pair.length > 0) {
          throw new CliError('FAILED', `${o.tlsDir}: ${pair.join('; ')} (make a pair with: portcullis admission cert --namespace ${o.namespace} --out DIR)`);
        }
        const end = new Date(admissionModule.parseCertificates(tls.cert)[0]!.validTo);
        if (end.getTime() - now.getTime() < RENEW_WARNING_DAYS * 86_400_000) warn(`tls.crt expires on ${day(end)}: renew it (docs/admission.md)`);
      }

      if (caBundle === undefined) warn('no --ca-file: the webhook configurations have no caBundle, and the API server will refuse every pod and workload they match until they have one');
      if (tls === undefined) warn(`no --tls-dir: create the Secret ${admissionModule.TLS_SECRET} by hand (the comment in the output says how)`);
      if (policy === undefined) warn('no --policy: the ConfigMap holds a placeholder policy that admits every image');
      if (o.image === undefined) warn(`no --image: ${options.image} is a placeholder; give the image your cluster pulls Portcullis from`);

      const text = renderManifests(options);
      const output = o.output === undefined ? stdoutOutput : tls !== undefined ? secretFileOutput(resolve(io.cwd, o.output)) : fileOutput(resolve(io.cwd, o.output));
      output.result(text);
    });
}

/** The policy and the key files it names by path (relative to it, as the webhook reads them). */
function readPolicy(io: CliIo, path: string, keyPaths: (text: string) => string[]): { text: string; files: PolicyFile[] } {
  const text = readText(io, path, 'the policy');
  let paths: string[];
  try {
    paths = keyPaths(text);
  } catch (err) {
    throw new CliError('FAILED', `${path}: ${(err as Error).message}`);
  }
  const base = dirname(resolve(io.cwd, path));
  // An absolute path is refused by manifestOptionProblems; read only what can be mounted.
  const files = paths.map((p) => ({ path: p, content: p.startsWith('/') ? '' : readText(io, resolve(base, p), 'the key file') }));
  return { text, files };
}
