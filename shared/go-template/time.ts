/**
 * Go's time formatting for sprig's `date`, `ago` and `duration`: `Time.Format(layout)` with Go's
 * reference-time layout (`2006-01-02 15:04:05`), in UTC, and `Duration.String()`.
 * Reference: Go 1.19 src/time/format.go (nextStdChunk) and time.go (Duration.String).
 */

const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The layout chunks Go recognises, longest first where one is a prefix of another. */
const CHUNKS = [
  'January',
  'Jan',
  'Monday',
  'Mon',
  'MST',
  '2006',
  '2',
  '_2006',
  '__2',
  '_2',
  '002',
  '01',
  '02',
  '03',
  '04',
  '05',
  '06',
  '1',
  '15',
  '3',
  '4',
  '5',
  'PM',
  'pm',
  '-070000',
  '-07:00:00',
  '-0700',
  '-07:00',
  '-07',
  'Z070000',
  'Z07:00:00',
  'Z0700',
  'Z07:00',
  'Z07',
];

/** `t.In(time.UTC).Format(layout)` for a time given in epoch milliseconds. */
export function formatGoTime(ms: number, layout: string): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  const day = d.getUTCDate();
  const hour = d.getUTCHours();
  const min = d.getUTCMinutes();
  const sec = d.getUTCSeconds();
  const msec = d.getUTCMilliseconds();
  const yday = Math.floor((Date.UTC(year, month, day) - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  const p2 = (n: number) => String(n).padStart(2, '0');
  let out = '';
  let i = 0;
  while (i < layout.length) {
    const rest = layout.slice(i);
    // Fractional seconds: `.000`/`,000` (fixed) or `.999` (trailing zeros dropped), after a digit-free context.
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(rest);
    if (frac) {
      const n = frac[1].length;
      const digits = (String(msec).padStart(3, '0') + '000000').slice(0, Math.min(n, 9));
      if (frac[1][0] === '0') out += frac[0][0] + digits;
      else {
        const trimmed = digits.replace(/0+$/, '');
        if (trimmed) out += frac[0][0] + trimmed;
      }
      i += frac[0].length;
      continue;
    }
    const chunk = CHUNKS.filter((c) => rest.startsWith(c)).sort((a, b) => b.length - a.length)[0];
    // Go's rules: `Jan` only if not followed by a lower-case letter (`Janet`), `Mon` likewise;
    // `2006`, `01` … are always chunks.
    if (chunk && !((chunk === 'Jan' || chunk === 'Mon') && /^[a-z]/.test(rest.slice(3)))) {
      i += chunk.length;
      switch (chunk) {
        case 'January':
          out += LONG_MONTHS[month];
          break;
        case 'Jan':
          out += LONG_MONTHS[month].slice(0, 3);
          break;
        case 'Monday':
          out += LONG_DAYS[d.getUTCDay()];
          break;
        case 'Mon':
          out += LONG_DAYS[d.getUTCDay()].slice(0, 3);
          break;
        case 'MST':
          out += 'UTC';
          break;
        case '2006':
          out += String(year).padStart(4, '0');
          break;
        case '_2006':
          out += '_' + String(year).padStart(4, '0');
          break;
        case '06':
          out += p2(year % 100);
          break;
        case '01':
          out += p2(month + 1);
          break;
        case '1':
          out += String(month + 1);
          break;
        case '02':
          out += p2(day);
          break;
        case '2':
          out += String(day);
          break;
        case '_2':
          out += String(day).padStart(2, ' ');
          break;
        case '__2':
          out += String(yday).padStart(3, ' ');
          break;
        case '002':
          out += String(yday).padStart(3, '0');
          break;
        case '15':
          out += p2(hour);
          break;
        case '03':
          out += p2(hour % 12 === 0 ? 12 : hour % 12);
          break;
        case '3':
          out += String(hour % 12 === 0 ? 12 : hour % 12);
          break;
        case '04':
          out += p2(min);
          break;
        case '4':
          out += String(min);
          break;
        case '05':
          out += p2(sec);
          break;
        case '5':
          out += String(sec);
          break;
        case 'PM':
          out += hour >= 12 ? 'PM' : 'AM';
          break;
        case 'pm':
          out += hour >= 12 ? 'pm' : 'am';
          break;
        case '-070000':
          out += '+000000';
          break;
        case '-07:00:00':
          out += '+00:00:00';
          break;
        case '-0700':
          out += '+0000';
          break;
        case '-07:00':
          out += '+00:00';
          break;
        case '-07':
          out += '+00';
          break;
        default:
          out += 'Z'; // Z0700 and friends print Z for UTC
      }
      continue;
    }
    out += layout[i];
    i++;
  }
  return out;
}

/** Go's `Duration.String()` of a number of nanoseconds (int64). */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  const u = neg ? -ns : ns;
  const sign = neg ? '-' : '';
  const fracOf = (v: bigint, digits: number) => {
    const s = v.toString().padStart(digits, '0').replace(/0+$/, '');
    return s ? '.' + s : '';
  };
  if (u < 1_000_000_000n) {
    if (u < 1000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${u / 1000n}${fracOf(u % 1000n, 3)}µs`;
    return `${sign}${u / 1_000_000n}${fracOf(u % 1_000_000n, 6)}ms`;
  }
  const frac = fracOf(u % 1_000_000_000n, 9);
  const secs = u / 1_000_000_000n;
  const s = secs % 60n;
  const m = (secs / 60n) % 60n;
  const h = secs / 3600n;
  if (h > 0n) return `${sign}${h}h${m}m${s}${frac}s`;
  if (m > 0n) return `${sign}${m}m${s}${frac}s`;
  return `${sign}${s}${frac}s`;
}
