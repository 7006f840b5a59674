/**
 * Go `time.Duration` strings, as Stash writes them: `spec.timeOut` (`30m`, `1h30m`, `1.5h`) is
 * parsed with Go's grammar and `sessionDuration` / the summary's `Duration` are formatted like
 * Go's `Duration.String()` rounded to whole seconds (`0s`, `10s`, `1m5s`, `1h0m0s`);
 * {@link goDurationString} is `Duration.String()` itself, to the nanosecond.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
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

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Parses a Go duration string into nanoseconds (Go's `time.ParseDuration`, no sign); undefined when it is not one. */
export function parseDurationNs(input: string): bigint | undefined {
  const s = input.trim();
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let rest = s;
  let total = 0n;
  while (rest.length > 0) {
    const m = DURATION_RE.exec(rest);
    if (!m) return undefined;
    const [whole, frac = ''] = m[1].split('.');
    const unit = UNIT_NS[m[2]];
    total += BigInt(whole || '0') * unit + (frac ? (BigInt(frac) * unit) / 10n ** BigInt(frac.length) : 0n);
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** `digits` ns as a decimal of `10^scale` units, trailing zeros (and a bare point) dropped. */
function fixed(ns: bigint, scale: number): string {
  const unit = 10n ** BigInt(scale);
  const frac = (ns % unit).toString().padStart(scale, '0').replace(/0+$/, '');
  return `${ns / unit}${frac ? `.${frac}` : ''}`;
}

/**
 * Go's `time.Duration.String()` (src/time/time.go): `0s`; under a second `1.5ms`, `2µs`,
 * `500ns`; else `[<h>h][<m>m]<s>[.frac]s` with minutes and seconds always present once a larger
 * unit is (`30m0s`, `1h0m0s`, `1m30s`, `1.5s`).
 */
export function goDurationString(ns: bigint): string {
  if (ns < 0n) return `-${goDurationString(-ns)}`;
  if (ns === 0n) return '0s';
  if (ns < 1_000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${fixed(ns, 3)}µs`;
  if (ns < 1_000_000_000n) return `${fixed(ns, 6)}ms`;
  const h = ns / UNIT_NS.h;
  const m = (ns % UNIT_NS.h) / UNIT_NS.m;
  const sec = `${fixed(ns % UNIT_NS.m, 9)}s`;
  if (h > 0n) return `${h}h${m}m${sec}`;
  if (m > 0n) return `${m}m${sec}`;
  return sec;
}
