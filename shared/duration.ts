/**
 * Go `time.Duration` strings, as Stash writes them: `spec.timeOut` (`30m`, `1h30m`, `1.5h`) is
 * parsed with Go's grammar and `sessionDuration` / the summary's `Duration` are formatted like
 * Go's `Duration.String()` rounded to whole seconds (`0s`, `10s`, `1m5s`, `1h0m0s`).
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_RE = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/;

/**
 * Parses a Go duration string into milliseconds; returns `undefined` when it is not one.
 * `0` alone is accepted, as in Go; a sign is not (a timeout is never negative).
 */
export function parseDuration(input: string): number | undefined {
  const s = input.trim();
  if (s === '0') return 0;
  if (s === '') return undefined;
  let rest = s;
  let total = 0;
  while (rest.length > 0) {
    const m = DURATION_RE.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

/** Formats milliseconds like Go's `Duration.String()` after rounding to seconds: `1m5s`, `1h0m0s`. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
