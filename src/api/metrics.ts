import { Counter, Gauge, Registry } from 'prom-client';

/** One series of a reading: label values (escaped by prom-client when rendered) and its value. */
export interface Sample {
  labels?: Record<string, string | number>;
  value: number;
}

/**
 * A value read when /metrics is served (from the store or the anchoring worker). `counter` for totals that only
 * grow while the process runs (batches built, …), `gauge` (the default) for levels that go up and down.
 */
export interface Reading {
  name: string;
  help: string;
  type?: 'counter' | 'gauge';
  values: Sample[];
}

/**
 * Prometheus metrics through prom-client (text format 0.0.4, label values escaped). Counters the API increments
 * live in this object's registry; readings taken per request are rendered alongside them by {@link render}.
 */
export class Metrics {
  private readonly registry = new Registry();
  private readonly declared = new Map<string, { help: string; labelNames?: string[] }>();
  private readonly counters = new Map<string, { counter: Counter<string>; labelNames: string[] }>();

  /**
   * Declares a counter. Its label names are `labelNames` or, when not given, those of its first {@link inc}; a
   * later `inc` with other labels is mapped onto them (a missing label is empty, an unknown one is dropped).
   */
  counter(name: string, help: string, labelNames?: string[]): void {
    this.declared.set(name, { help, labelNames });
    if (labelNames) this.create(name, help, labelNames);
  }

  private create(name: string, help: string, labelNames: string[]) {
    const made = { counter: new Counter({ name, help, labelNames, registers: [this.registry] }), labelNames };
    this.counters.set(name, made);
    return made;
  }

  /** Adds `by` (default 1) to a declared counter; unknown names are ignored. */
  inc(name: string, labels: Record<string, string | number> = {}, by = 1): void {
    let c = this.counters.get(name);
    if (!c) {
      const d = this.declared.get(name);
      if (!d) return;
      c = this.create(name, d.help, Object.keys(labels));
    }
    const values: Record<string, string | number> = {};
    for (const k of c.labelNames) values[k] = labels[k] ?? '';
    c.counter.inc(values, by);
  }

  /** The Prometheus text: the counters above, then `readings` (taken by the caller for this request). */
  async render(readings: Reading[] = []): Promise<string> {
    const now = new Registry();
    for (const r of readings) {
      const labelNames = [...new Set(r.values.flatMap((v) => Object.keys(v.labels ?? {})))];
      if (r.type === 'counter') {
        const c = new Counter({ name: r.name, help: r.help, labelNames, registers: [now] });
        for (const v of r.values) c.inc(v.labels ?? {}, v.value);
      } else {
        const g = new Gauge({ name: r.name, help: r.help, labelNames, registers: [now] });
        for (const v of r.values) g.set(v.labels ?? {}, v.value);
      }
    }
    return Registry.merge([this.registry, now]).metrics();
  }
}
