/**
 * Structured JSON logs (pino). One logger per process, created by the CLI entry point and passed
 * down; components take a `Logger` (or a child) in their options instead of importing a singleton.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Field paths masked in every log line. Secrets should never reach a logger in the first place
 * (DESIGN §6: jobs carry references only); this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'password',
  'token',
  'authorization',
  'headers.authorization',
  '*.password',
  '*.token',
  '*.authorization',
  '*.headers',
  '*.httpHeaders[*].value',
  'redisUrl',
  '*.redisUrl',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** The role or component, logged as `name`. */
  name?: string;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'stash-hooks',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** A logger that writes nothing, for library use and unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** `redis://user:secret@host` → `redis://user:***@host`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const user = auth.includes(':') ? auth.slice(0, auth.indexOf(':')) : '';
    return `${scheme}${user}:***@`;
  });
}
