/** Summary statistics and the figure record every benchmark reports (bench/results/latest.json). */

export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function summarize(xs: readonly number[]): Summary {
  return {
    median: median(xs),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
    runs: xs.length,
  };
}

/** One row of the results: a figure (or one line of a figure) against its target. */
export interface Figure extends Summary {
  /** "1a", "3", "6c"…: the figure number plus a letter per line. */
  id: string;
  name: string;
  unit: string;
  /** Human text of the target, "–" when the issue asks only for a report. */
  target: string;
  /** null when there is no target (report only) or it could not be measured. */
  met: boolean | null;
  /** What the number is, how it was taken, and anything that qualifies it. */
  note?: string;
  /** Extra measured values (e.g. the raw channel's number beside a ratio). */
  extra?: Record<string, number | string | Summary>;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function roundSummary(s: Summary, digits = 2): Summary {
  return { median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits), runs: s.runs };
}
