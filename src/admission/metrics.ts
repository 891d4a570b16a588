/**
 * The webhook's Prometheus metrics (prom-client, the text format Prometheus scrapes): decisions
 * by endpoint and result, review latency, the answers the caches gave, and the process's own
 * (memory, CPU, event loop delay).
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { CacheCounts } from './facts.js';

export type DecisionResult = 'allowed' | 'denied' | 'warned' | 'error';

export class AdmissionMetrics {
  readonly registry = new Registry();
  private readonly decisions: Counter<'endpoint' | 'result'>;
  private readonly latency: Histogram<'endpoint'>;
  private readonly images: Counter<'mode' | 'result'>;

  constructor(cache: CacheCounts) {
    // The process's own: memory, CPU, event loop delay, open handles (prom-client's defaults).
    collectDefaultMetrics({ register: this.registry });
    this.decisions = new Counter({ name: 'portcullis_admission_reviews_total', help: 'Admission reviews answered, by endpoint and result', labelNames: ['endpoint', 'result'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'portcullis_admission_review_duration_seconds',
      help: 'Time from a review received to its answer sent',
      labelNames: ['endpoint'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.images = new Counter({ name: 'portcullis_admission_images_total', help: 'Images judged, by the deciding rule mode and result', labelNames: ['mode', 'result'], registers: [this.registry] });
    // Counted by the fact source; read at each scrape.
    for (const [name, help, read] of [
      ['portcullis_admission_cache_hits_total', 'Registry answers taken from the cache (tags, signatures, attestations, Portcullis facts)', () => cache.hits],
      ['portcullis_admission_cache_misses_total', 'Registry answers fetched', () => cache.misses],
    ] as const) {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    }
  }

  review(endpoint: 'validate' | 'mutate', result: DecisionResult, seconds: number): void {
    this.decisions.inc({ endpoint, result });
    this.latency.observe({ endpoint }, seconds);
  }

  image(mode: string, result: 'allowed' | 'denied' | 'warned'): void {
    this.images.inc({ mode, result });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
