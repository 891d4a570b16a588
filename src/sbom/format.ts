/**
 * The output formats of `portcullis sbom`: CycloneDX 1.6 JSON, SPDX 2.3 JSON, Portcullis's own JSON
 * (the inventory as the scanner reads it) and a table for people.
 */
import { toCycloneDx, type WriterOptions } from './cyclonedx.js';
import type { Inventory } from './model.js';
import { toSpdx } from './spdx.js';

export const SBOM_FORMATS = ['cyclonedx-json', 'spdx-json', 'json', 'table'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

export function isSbomFormat(value: string): value is SbomFormat {
  return (SBOM_FORMATS as readonly string[]).includes(value);
}

/** The JSON document of format `json`: versioned, so readers can tell what they hold. */
export const INVENTORY_SCHEMA = 'https://portcullis.dev/schemas/inventory/v1';

export function formatInventory(inventory: Inventory, format: SbomFormat, options: WriterOptions & { readonly namespaceId?: string }): string {
  switch (format) {
    case 'cyclonedx-json':
      return `${toCycloneDx(inventory, options)}\n`;
    case 'spdx-json':
      return toSpdx(inventory, options);
    case 'json':
      return `${JSON.stringify({ schema: INVENTORY_SCHEMA, ...inventory }, null, 2)}\n`;
    case 'table':
      return toTable(inventory);
  }
}

function toTable(inventory: Inventory): string {
  const rows = inventory.packages.map((p) => [p.name, p.version, p.type]);
  const header = ['NAME', 'VERSION', 'TYPE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const lines = [line(header), ...rows.map(line)];
  if (rows.length === 0) lines.push('(no packages found)');
  return `${lines.join('\n')}\n`;
}
