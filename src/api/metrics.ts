/** A minimal Prometheus text-format registry (counters and gauges), no dependency. */
export class Metrics {
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly help = new Map<string, string>();

  counter(name: string, help: string): void {
    this.help.set(name, help);
    if (!this.counters.has(name)) this.counters.set(name, new Map());
  }

  inc(name: string, labels: Record<string, string | number> = {}, by = 1): void {
    const series = this.counters.get(name);
    if (!series) return;
    const key = Object.entries(labels)
      .map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, '_')}"`)
      .join(',');
    series.set(key, (series.get(key) ?? 0) + by);
  }

  /** Renders counters plus the given gauges. */
  render(
    gauges: { name: string; help: string; values: { labels?: Record<string, string>; value: number }[] }[],
  ): string {
    const lines: string[] = [];
    for (const [name, series] of this.counters) {
      lines.push(`# HELP ${name} ${this.help.get(name)}`, `# TYPE ${name} counter`);
      for (const [labels, v] of series) lines.push(`${name}${labels ? `{${labels}}` : ''} ${v}`);
    }
    for (const g of gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const v of g.values) {
        const labels = Object.entries(v.labels ?? {})
          .map(([k, x]) => `${k}="${x}"`)
          .join(',');
        lines.push(`${g.name}${labels ? `{${labels}}` : ''} ${v.value}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
