import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from '../config';

export type { Logger } from 'pino';

/**
 * Where secrets could turn up in a log object: credentials in headers, and
 * the fields of bodies and settings that hold passwords, tokens and keys. The
 * request line itself never carries headers, bodies or query strings (see
 * src/http/request-log.ts); this is the net under whatever else gets logged.
 */
export const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'apikey',
  'password',
  'token',
  'secret',
  'access_token',
  'refresh_token',
  'challenge_token',
  'apiKey',
  'accessToken',
  'refreshToken',
  'headers.authorization',
  'headers.cookie',
  'headers.apikey',
  'headers["set-cookie"]',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.apikey',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.cookie',
  '*.apikey',
  '*.password',
  '*.token',
  '*.secret',
  '*.access_token',
  '*.refresh_token',
  '*.challenge_token',
  '*.apiKey',
  '*.accessToken',
  '*.refreshToken',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Unset: pretty on a terminal when pino-pretty is installed (a development dependency), else JSON. */
  format?: LogFormat;
  /** Where lines go (tests pass a stream of their own); standard output by default. */
  destination?: DestinationStream;
}

/** The one logger of a process: the API, its background loops and the command-line tools log through it. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Times as ISO-8601 in UTC, like every time the API shows.
    timestamp: pino.stdTimeFunctions.isoTime,
    // The level's name, not its number: readable without a lookup table.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.destination) return pino(settings, options.destination);
  const pretty = wantsPretty(options.format) ? prettyStream() : undefined;
  const logger = pretty ? pino(settings, pretty) : pino(settings);
  if (options.format === 'pretty' && !pretty) logger.warn('LOG_FORMAT=pretty needs pino-pretty (a development dependency): writing JSON');
  return logger;
}

function wantsPretty(format: LogFormat | undefined): boolean {
  return format === 'pretty' || (format === undefined && process.stdout.isTTY === true);
}

/**
 * pino-pretty in this thread, when installed. A production install (npm ci
 * --omit=dev, the image) has none and writes JSON: nothing there requires it.
 */
function prettyStream(): DestinationStream | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as (options: object) => DestinationStream;
    // One line per entry: a request's fields follow its message instead of taking a screenful each.
    return pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true });
  } catch {
    return undefined;
  }
}

/** A logger for code that takes a `(line) => void` (start-up lines, queues that report failures). */
export function lineLogger(logger: Logger, level: 'info' | 'warn' | 'error' = 'info'): (line: string) => void {
  return (line) => logger[level](line);
}

/** The logger of a process, as LOG_LEVEL and LOG_FORMAT say. */
export function processLogger(config: { logLevel: LogLevel; logFormat: LogFormat | undefined }): Logger {
  return createLogger({ level: config.logLevel, format: config.logFormat });
}

/** Start-up lines ("API  http://...", "Warning  ...") through the logger: warnings at warn, the rest at info. */
export function startupLines(logger: Logger): (line: string) => void {
  return (line) => (line.startsWith('Warning') ? logger.warn(line) : logger.info(line));
}
