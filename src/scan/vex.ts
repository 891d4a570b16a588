/**
 * OpenVEX documents (v0.2.0, and the v0.0.x forms with string vulnerabilities and products): the
 * statements a supplier makes about its products' vulnerabilities. Pure: the caller passes the text.
 */
import type { Node as YamlNode } from 'yaml';
import { ScanError } from './errors.js';
import { yaml } from './lazy-yaml.js';

export const VEX_STATUSES = ['not_affected', 'affected', 'fixed', 'under_investigation'] as const;
export type VexStatus = (typeof VEX_STATUSES)[number];

export interface VexProduct {
  /** A purl (`pkg:deb/debian/bash`, `pkg:oci/app?repository_url=...`) or an image reference. */
  readonly id: string;
  readonly subcomponents: readonly string[];
}

export interface VexStatement {
  readonly vulnerability: string;
  readonly aliases: readonly string[];
  readonly products: readonly VexProduct[];
  readonly status: VexStatus;
  readonly justification?: string;
  readonly impactStatement?: string;
  /** The statement's time, else the document's: a later statement overrides an earlier one. */
  readonly timestamp?: string;
  /** 1-based line of the statement in its file. */
  readonly line: number;
}

export interface VexStatements {
  readonly source: string;
  readonly statements: readonly VexStatement[];
}

function vexError(name: string, line: number, what: string): ScanError {
  return new ScanError('VEX_INVALID', `${name}:${line}: ${what}`, { detail: { file: name, line } });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads an OpenVEX document (v0.2.0; the v0.0.x forms with string vulnerabilities and products too). */
export function parseOpenVex(text: string, name: string): VexStatements {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    // Node 20 says "at position N", newer versions "(line L column C)".
    const message = err instanceof Error ? err.message : String(err);
    const lineMatch = /line (\d+)/.exec(message);
    const pos = /position (\d+)/.exec(message);
    const line = lineMatch !== null ? Number(lineMatch[1]) : pos !== null ? text.slice(0, Number(pos[1])).split('\n').length : 1;
    throw vexError(name, line, `not valid JSON: ${message}`);
  }
  // The same text as YAML (JSON is YAML) gives each statement's line for the messages.
  const { LineCounter, isSeq, parseDocument } = yaml();
  const counter = new LineCounter();
  const located = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const statementNodes = located.getIn(['statements']) as YamlNode | undefined;
  const lineOfStatement = (i: number): number => {
    const node = isSeq(statementNodes) ? (statementNodes.items[i] as YamlNode | undefined) : undefined;
    return node?.range == null ? 1 : counter.linePos(node.range[0]).line;
  };

  if (!isObject(doc)) throw vexError(name, 1, 'not an OpenVEX document (expected a JSON object)');
  const context = doc['@context'];
  if (typeof context !== 'string' || !context.startsWith('https://openvex.dev/ns')) throw vexError(name, 1, `not an OpenVEX document: @context is ${JSON.stringify(context ?? null)}, expected https://openvex.dev/ns/v0.2.0`);
  const docTime = typeof doc['timestamp'] === 'string' ? doc['timestamp'] : undefined;
  const list = doc['statements'];
  if (!Array.isArray(list)) throw vexError(name, 1, 'no statements list');

  const statements = list.map((s, i): VexStatement => {
    const line = lineOfStatement(i);
    const where = `statement ${i + 1}`;
    if (!isObject(s)) throw vexError(name, line, `${where} is not an object`);
    const vuln = s['vulnerability'];
    let vulnerability: string;
    let aliases: string[] = [];
    if (typeof vuln === 'string') vulnerability = vuln;
    else if (isObject(vuln) && typeof vuln['name'] === 'string') {
      vulnerability = vuln['name'];
      const a = vuln['aliases'];
      if (a !== undefined && !(Array.isArray(a) && a.every((x) => typeof x === 'string'))) throw vexError(name, line, `${where}: vulnerability.aliases must be a list of strings`);
      aliases = (a ?? []) as string[];
    } else throw vexError(name, line, `${where}: vulnerability must have a name`);
    if (vulnerability === '') throw vexError(name, line, `${where}: the vulnerability name is empty`);

    const status = s['status'];
    if (typeof status !== 'string' || !(VEX_STATUSES as readonly string[]).includes(status)) throw vexError(name, line, `${where}: status ${JSON.stringify(status ?? null)} is not one of ${VEX_STATUSES.join(', ')}`);

    // v0.0.x put subcomponents on the statement, for all its products.
    const shared = idsOf(s['subcomponents'], name, line, `${where}: subcomponents`);
    const rawProducts = s['products'];
    if (!Array.isArray(rawProducts) || rawProducts.length === 0) throw vexError(name, line, `${where}: products must be a non-empty list`);
    const products = rawProducts.map((p): VexProduct => {
      if (typeof p === 'string') return { id: p, subcomponents: shared };
      if (isObject(p) && typeof p['@id'] === 'string' && p['@id'] !== '') return { id: p['@id'], subcomponents: [...shared, ...idsOf(p['subcomponents'], name, line, `${where}: subcomponents`)] };
      throw vexError(name, line, `${where}: every product needs an @id`);
    });

    const justification = s['justification'];
    const impact = s['impact_statement'];
    const time = typeof s['timestamp'] === 'string' ? s['timestamp'] : docTime;
    return {
      vulnerability,
      aliases,
      products,
      status: status as VexStatus,
      ...(typeof justification === 'string' && justification !== '' ? { justification } : {}),
      ...(typeof impact === 'string' && impact !== '' ? { impactStatement: impact } : {}),
      ...(time !== undefined ? { timestamp: time } : {}),
      line,
    };
  });
  return { source: name, statements };
}

function idsOf(value: Json | undefined, name: string, line: number, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw vexError(name, line, `${what} must be a list`);
  return value.map((x) => {
    if (typeof x === 'string' && x !== '') return x;
    if (isObject(x) && typeof x['@id'] === 'string' && x['@id'] !== '') return x['@id'];
    throw vexError(name, line, `${what}: every entry needs an @id`);
  });
}
