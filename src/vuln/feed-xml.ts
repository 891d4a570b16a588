/**
 * The XML feeds, read as streams (feed-files.ts hands a file here when its content is XML): Amazon
 * Linux's `updateinfo.xml` (root `<updates>`) and Oracle Linux's ELSA OVAL (root
 * `<oval_definitions>`, an Oracle document). The file is decompressed and parsed as it is read and
 * its records are yielded every XML_BATCH advisories, so memory holds one batch and one element
 * whatever the file's size (Oracle's all-years OVAL is hundreds of MB). A cut or malformed file
 * yields what came before the fault and an error line naming it.
 */
import { VulnError } from './errors.js';
import { openContent, restSkipped, type Compression } from './feed-streams.js';
import { parseAlasUpdate } from './feeds/alas.js';
import { parseElsaDefinition } from './feeds/oracle.js';
import { FeedCollector, type FeedResult } from './feeds/osv.js';
import { createElementReader, xmlRootName, type XmlElement } from './feeds/xml.js';

export type XmlFeedFormat = 'alas-updateinfo' | 'oracle-oval';

/** Advisories per yielded batch. */
const XML_BATCH = 2000;

interface XmlFeedKind {
  readonly format: XmlFeedFormat;
  readonly element: string;
  readonly parse: (el: XmlElement, file: string, out: FeedCollector) => void;
}

/**
 * Which XML feed a document is, from its start (a few KB): the root element, and for OVAL the
 * vendor (Oracle's definitions are read by Oracle's conventions; another vendor's OVAL is not).
 * Undefined with the reason otherwise.
 */
export function xmlFeedKind(head: string): XmlFeedKind | { readonly unknown: string } {
  const root = xmlRootName(head);
  if (root === 'updates') return { format: 'alas-updateinfo', element: 'update', parse: parseAlasUpdate };
  if (root === 'oval_definitions') {
    if (/com\.oracle\.elsa|Oracle Linux|linux\.oracle\.com/.test(head)) return { format: 'oracle-oval', element: 'definition', parse: parseElsaDefinition };
    return { unknown: "an OVAL document of another vendor than Oracle (Red Hat's and SUSE's data are read as OSV)" };
  }
  if (root === 'repomd') return { unknown: 'a repository index (repomd.xml): name its updateinfo.xml.gz, or the mirror.list of the repository' };
  return { unknown: root === undefined ? 'no XML document element' : `an XML document of another kind (<${root}>)` };
}

export interface XmlFeedBatch {
  readonly file: string;
  readonly format: XmlFeedFormat;
  readonly records: FeedResult;
}

/**
 * The records of an XML feed file in batches. `maxBytes` caps the decompressed size (a guard
 * against a decompression bomb; memory does not grow with it). Throws FEED_INVALID when the file is
 * no XML feed Portcullis reads.
 */
export async function* readXmlFeed(path: string, label: string, head: string, compression: Compression | undefined, maxBytes: number): AsyncGenerator<XmlFeedBatch> {
  const kind = xmlFeedKind(head);
  if ('unknown' in kind) throw new VulnError('FEED_INVALID', `${label}: not an advisory feed: ${kind.unknown}`);
  let out = new FeedCollector();
  let first = 0;
  let n = 0;
  const ready: XmlFeedBatch[] = [];
  const name = (from: number, to: number): string => (from === 0 && to === n ? label : `${label} (${kind.element}s ${from}-${to - 1})`);
  const reader = createElementReader(new Set([kind.element]), (el) => {
    kind.parse(el, `${label}[${n}]`, out);
    n += 1;
    if (n - first >= XML_BATCH) {
      ready.push({ file: `${label} (${kind.element}s ${first}-${n - 1})`, format: kind.format, records: out.result() });
      out = new FeedCollector();
      first = n;
    }
  });
  const stream = openContent(path, compression);
  const decoder = new TextDecoder('utf-8');
  let read = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      read += chunk.length;
      if (read > maxBytes) throw new VulnError('FEED_INVALID', `${label}: more than ${maxBytes} bytes once decompressed`);
      reader.write(decoder.decode(chunk, { stream: true }));
      while (ready.length > 0) yield ready.shift()!;
    }
    reader.write(decoder.decode());
    reader.close();
  } catch (err) {
    const why = err instanceof VulnError ? err.message : `${label}: cut short after ${n} ${kind.element}s (a truncated or corrupt file): ${err instanceof Error ? err.message : String(err)}`;
    out.errors.push(`${why}${restSkipped(n, `${kind.element}s`)}`);
  } finally {
    stream.destroy();
  }
  while (ready.length > 0) yield ready.shift()!;
  yield { file: name(first, n), format: kind.format, records: out.result() };
}
