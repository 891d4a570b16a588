/**
 * The catalogue of configuration checks: ids, severities and texts (Trivy's Dockerfile ids where they
 * mean the same thing: DS001, DS002, DS026; `PCL-IMG-*` for our own), shared by the image checks and
 * the Dockerfile checks. Pure.
 */
import type { ConfigFinding, Severity } from './model.js';

/** Bump whenever a check is added or changes what it reports: scan results are cached by it. */
export const MISCONFIG_VERSION = 1;

export interface Rule {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly resolution: string;
  readonly severity: Severity;
  readonly primaryUrl?: string;
}

export const RULES = {
  program: {
    id: 'PCL-IMG-001',
    title: 'The program the container runs is missing or not executable',
    description:
      'The entrypoint and command of the image name a program that is not in the image, is a dangling symbolic link or a directory, or has no execute permission: every container started from it fails at once.',
    resolution: 'Fix the ENTRYPOINT/CMD path (or the COPY that should have put the program there), or make the file executable (chmod +x).',
    severity: 'CRITICAL',
  },
  noCommand: {
    id: 'PCL-IMG-002',
    title: 'The image has nothing to run',
    description:
      'The image config has neither an Entrypoint nor a Cmd, so a container cannot start unless a command is given at run time. Base images (distroless, scratch-based) are often built this way on purpose, hence the medium severity; for an image that is deployed as is, it is an outage.',
    resolution: 'Add an ENTRYPOINT or CMD to the Dockerfile, unless the image is only a base for others.',
    severity: 'MEDIUM',
  },
  secret: {
    id: 'PCL-IMG-003',
    title: 'Secret in the image configuration',
    description:
      'A secret is set in an ENV, ARG or LABEL, or leaked into the build history. Anyone who can pull the image can read it (docker inspect, docker history), and it cannot be removed without rebuilding.',
    resolution: 'Rotate the secret, then pass it at run time (orchestrator secrets, mounted files) or at build time with `RUN --mount=type=secret`, never through ENV, ARG or LABEL.',
    severity: 'CRITICAL',
  },
  latest: {
    id: 'DS001',
    title: "':latest' tag used",
    description: 'An image named without a tag, or by `:latest`, can change under the same name at any time: builds and deployments stop being reproducible.',
    resolution: 'Name a specific version tag, or better a digest (image@sha256:...).',
    severity: 'MEDIUM',
    primaryUrl: 'https://avd.aquasec.com/misconfig/ds001',
  },
  root: {
    id: 'DS002',
    title: "Image user should not be 'root'",
    description: 'A container running as root turns any escape from the application into root in the container, and a step closer to the host.',
    resolution: "Add a non-root user and switch to it with 'USER <name or uid>' in the final stage.",
    severity: 'HIGH',
    primaryUrl: 'https://avd.aquasec.com/misconfig/ds002',
  },
  healthcheck: {
    id: 'DS026',
    title: 'No HEALTHCHECK defined',
    description: 'Without a HEALTHCHECK, the runtime cannot tell a hung container from a healthy one.',
    resolution: 'Add a HEALTHCHECK instruction to the final stage of the Dockerfile.',
    severity: 'LOW',
    primaryUrl: 'https://avd.aquasec.com/misconfig/ds026',
  },
} as const satisfies Record<string, Rule>;

export function finding(rule: Rule, message: string, lines?: { readonly start: number; readonly end: number }): ConfigFinding {
  return {
    id: rule.id,
    title: rule.title,
    description: rule.description,
    message,
    resolution: rule.resolution,
    severity: rule.severity,
    ...(rule.primaryUrl !== undefined ? { primaryUrl: rule.primaryUrl } : {}),
    ...(lines !== undefined ? { lines } : {}),
  };
}

/** The user string when it means uid 0 (`''`, `root`, `0`, `0:0`, `root:app`, ...), else undefined. */
export function rootUser(user: string): string | undefined {
  const trimmed = user.trim();
  const name = trimmed.split(':')[0]!;
  return name === '' || name === 'root' || name === '0' ? trimmed : undefined;
}
