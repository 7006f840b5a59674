/**
 * What a hook may keep of its output: the first 10 KiB per host and 64 KiB per hook, with secret
 * values redacted. Results go to Redis and the dashboard, and secrets must never reach either
 * (DESIGN §10, §11).
 */

/** Bytes of output kept per host (DESIGN §6: "first 10 KiB"). */
export const OUTPUT_CAP_BYTES = 10 * 1024;

/** Bytes of output kept per hook, all hosts together: a 500-pod hook must not store 5 MB. */
export const HOOK_OUTPUT_CAP_BYTES = 64 * 1024;

export const REDACTED = '[REDACTED]';

/** Collects a stream's first {@link OUTPUT_CAP_BYTES} bytes; later bytes are counted, not kept. */
export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Total bytes seen, kept or not. */
  total = 0;

  constructor(private readonly cap = OUTPUT_CAP_BYTES) {}

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += buf.length;
    const room = this.cap - this.kept;
    if (room <= 0) return;
    const part = buf.length > room ? buf.subarray(0, room) : buf;
    this.chunks.push(Buffer.from(part));
    this.kept += part.length;
  }

  get full(): boolean {
    return this.kept >= this.cap;
  }

  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The shortest start of a secret that {@link redact} hides when it ends a text. */
const MIN_PARTIAL = 4;

/**
 * Replaces every occurrence of every secret value in `text`. Longest first, so overlaps vanish
 * whole. A text that ends with the start of a secret (output cut at its cap in mid-secret) loses
 * that start too.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const ordered = [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length);
  for (const s of ordered) out = out.split(s).join(REDACTED);
  for (const s of ordered) {
    for (let k = Math.min(s.length - 1, out.length); k >= MIN_PARTIAL; k--) {
      if (out.endsWith(s.slice(0, k))) {
        out = out.slice(0, out.length - k) + REDACTED;
        break;
      }
    }
  }
  return out;
}

/** The last `maxChars` characters of `text`, trimmed: the useful end of a stderr. */
export function tail(text: string, maxChars = 500): string {
  const t = text.trim();
  return t.length > maxChars ? `…${t.slice(t.length - maxChars)}` : t;
}

/**
 * `hosts` with their outputs kept in order until `maxBytes` is used up; later outputs say how
 * much was left out instead. Everything else of a host (where, status, duration) is kept.
 */
export function boundOutputs<T extends { output: string }>(hosts: readonly T[], maxBytes = HOOK_OUTPUT_CAP_BYTES): T[] {
  let used = 0;
  return hosts.map((h) => {
    const size = Buffer.byteLength(h.output);
    if (used + size <= maxBytes) {
      used += size;
      return h;
    }
    return { ...h, output: `[${size} bytes of output not kept: the hook's ${maxBytes}-byte output budget is used up]` };
  });
}
