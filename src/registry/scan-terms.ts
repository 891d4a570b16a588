import type { ScanResultStore } from '../storage/index.js';

/** Terms remembered per process (a bound on memory in a long-lived one: start over rather than grow). */
const TERMS_LIMIT = 1_000_000;

/**
 * The store's term dictionary (vulnerability ids and match keys as numbers), remembered: asked
 * for what it lacks a batch at a time. Numbers never change, so what is remembered stays true.
 */
export class TermCache {
  private readonly byTerm = new Map<string, number>();
  private readonly byId = new Map<number, string>();

  constructor(private readonly store: ScanResultStore) {}

  /** The numbers of these strings, numbering new ones. */
  async ids(terms: readonly string[]): Promise<number[]> {
    const out = terms.map((t) => this.byTerm.get(t));
    const missing = [...new Set(terms.filter((_, i) => out[i] === undefined))];
    if (missing.length === 0) return out as number[];
    const numbered = new Map<string, number>();
    (await this.store.intern(missing)).forEach((id, i) => numbered.set(missing[i]!, id));
    this.room(missing.length);
    for (const [t, id] of numbered) this.remember(t, id);
    return terms.map((t, i) => out[i] ?? numbered.get(t)!);
  }

  /** Fetches the strings of these numbers (those not remembered) so that `termOf` knows them. */
  async load(ids: readonly number[]): Promise<void> {
    const missing = [...new Set(ids.filter((id) => !this.byId.has(id)))];
    if (missing.length === 0) return;
    const terms = await this.store.terms(missing);
    this.room(missing.length);
    missing.forEach((id, i) => {
      const t = terms[i];
      if (t !== undefined) this.remember(t, id);
    });
  }

  idOf(term: string): number | undefined {
    return this.byTerm.get(term);
  }

  termOf(id: number): string | undefined {
    return this.byId.get(id);
  }

  private room(n: number): void {
    if (this.byTerm.size + n <= TERMS_LIMIT) return;
    this.byTerm.clear();
    this.byId.clear();
  }

  private remember(term: string, id: number): void {
    this.byTerm.set(term, id);
    this.byId.set(id, term);
  }
}
