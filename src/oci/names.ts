import { OciError } from './errors.js';

/** Repository name grammar of the OCI Distribution Spec v1.1. */
const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const PROJECT_RE = new RegExp(`^${NAME_COMPONENT}$`);

/** distribution's limit on a repository name, leaving room for a registry host in a reference. */
export const MAX_NAME_LENGTH = 255;

export interface RepositoryName {
  /** The whole name, e.g. `team/app/api`. */
  readonly name: string;
  /** The first path segment: the Portcullis project. */
  readonly project: string;
  /** The rest of the path within the project, e.g. `app/api`. */
  readonly repository: string;
}

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

/** Parses a repository name; in Portcullis it must be `<project>/<repository>`. */
export function parseRepositoryName(name: string): RepositoryName {
  if (!isRepositoryName(name)) {
    throw new OciError('NAME_INVALID', `invalid repository name "${clip(name)}": use lower-case letters, digits and separators (. _ __ -), path components joined by /, at most ${MAX_NAME_LENGTH} characters`, { detail: { name: clip(name) } });
  }
  const slash = name.indexOf('/');
  if (slash < 0) {
    throw new OciError('NAME_INVALID', `invalid repository name "${name}": Portcullis names are <project>/<repository>, e.g. ${name}/app`, { detail: { name } });
  }
  return { name, project: name.slice(0, slash), repository: name.slice(slash + 1) };
}

export function isProjectName(name: string): boolean {
  return name.length <= 64 && PROJECT_RE.test(name);
}

export function isTag(value: string): boolean {
  return TAG_RE.test(value);
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}
