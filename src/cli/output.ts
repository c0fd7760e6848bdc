/** Output helpers: results on stdout, diagnostics and progress on stderr. */
export const MARK = { passed: '✓', failed: '✗', skipped: '–' } as const;

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

export function note(line: string): void {
  process.stderr.write(line + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A plain text table (left-aligned columns, two spaces apart). */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/**
 * A tiny progress bar on stderr, drawn only on a terminal (or with NOTARY_PROGRESS=1), redrawn at most every
 * 100 ms. `done()` clears it.
 */
export class Progress {
  private current = 0;
  private last = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private total: number,
    enabled = Boolean(process.stderr.isTTY) || process.env.NOTARY_PROGRESS === '1',
  ) {
    this.enabled = enabled && total > 0;
  }

  tick(n = 1): void {
    this.set(this.current + n);
  }

  set(value: number): void {
    this.current = Math.min(value, this.total);
    const now = Date.now();
    if (!this.enabled || (now - this.last < 100 && this.current < this.total)) return;
    this.last = now;
    const width = 30;
    const ratio = this.total ? this.current / this.total : 1;
    const filled = Math.round(ratio * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    process.stderr.write(
      `\r${this.label} ${bar} ${String(Math.floor(ratio * 100)).padStart(3)}% ${this.current}/${this.total}`,
    );
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
