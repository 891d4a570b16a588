/**
 * RPM builds that do not stand in for one another. Pure.
 *
 * - Modular builds (RHEL 8+ AppStream modules and their rebuilds): the release carries
 *   `.module+el8.9.0+…` (AlmaLinux: `.module_el8.9.0+…`). A fix shipped in a module stream says
 *   nothing of the plain build of the same package, and the other way round.
 * - Oracle's Ksplice userspace builds (`…-151.0.1.ksplice1.el8`): likewise a line of their own.
 *
 * A record speaks for a package only when its fixed versions are of the package's kind (Trivy
 * and Clair draw the same line). Module streams: an installed modular RPM carries its
 * MODULARITYLABEL (`nodejs:18:8090020231019152822:a75119d5`) and is looked up as
 * `nodejs:18/nodejs`; feeds that state a record's stream (the `rpmmod` qualifier of Red Hat's
 * purls, Oracle's "Module nodejs:18 is enabled") key the record by the same name, so a nodejs:18
 * fix never judges a nodejs:20 package. Records of modular builds whose stream the feed does not
 * state (AlmaLinux and Rocky publish none) stay under the plain name and are consulted for a
 * package of any stream of that name: a stream they do not belong to may then be judged by them.
 */
import type { AffectedRecord } from './model.js';

/** What a record lookup needs of the DB. */
export interface RecordLookup {
  affected(ecosystem: string, name: string): readonly AffectedRecord[];
}

const MODULE = /\.module[+_]/;
const KSPLICE = /\.ksplice\d/;

/** The kind of build an EVR names: '' (a plain build), `module`, `ksplice` or `module+ksplice`. */
export function rpmBuildKind(version: string): string {
  const module = MODULE.test(version);
  const ksplice = KSPLICE.test(version);
  return module ? (ksplice ? 'module+ksplice' : 'module') : ksplice ? 'ksplice' : '';
}

/** `name:stream` of a MODULARITYLABEL (`name:stream:version:context`); undefined for none or garbage. */
export function moduleStream(label: string | undefined): string | undefined {
  if (label === undefined) return undefined;
  const [name, stream] = label.trim().split(':');
  return name !== undefined && stream !== undefined && name !== '' && stream !== '' ? `${name}:${stream}` : undefined;
}

/** The DB name of a package of a module stream: `nodejs:18/nodejs` (RPM names hold no `/`). */
export function modularName(stream: string, name: string): string {
  return `${stream}/${name}`;
}

/** The versions a record states: the kind of build it is about. */
function recordVersions(r: AffectedRecord): string[] {
  const out: string[] = [...r.versions];
  if (r.fixedVersion !== undefined) out.push(r.fixedVersion);
  for (const range of r.ranges) for (const e of range.events) for (const v of Object.values(e) as string[]) if (v !== '0') out.push(v);
  return out;
}

/**
 * The records that may speak for an RPM of `version` looked up as `name`: those keyed by its name
 * and, for a package of a module stream, the modular records of the plain name whose stream is
 * not stated; of these, only the records about builds of the package's kind. A record that states
 * no version (an open issue) speaks for every kind.
 */
export function rpmRecords(db: RecordLookup, ecosystem: string, name: string, version: string): AffectedRecord[] {
  const slash = name.indexOf('/');
  const records = slash < 0 ? [...db.affected(ecosystem, name)] : [...db.affected(ecosystem, name), ...db.affected(ecosystem, name.slice(slash + 1))];
  const kind = rpmBuildKind(version);
  return records.filter((r) => recordVersions(r).every((v) => rpmBuildKind(v) === kind));
}
