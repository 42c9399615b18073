import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger';
import type { LogLevel } from '../../src/config';

/** What a test reads back of what was logged: each line as written, and parsed. */
export interface CapturedLogs {
  logger: Logger;
  /** Every line exactly as written (for "this text never appears"). */
  text(): string;
  /** Every line, parsed. */
  entries(): Array<Record<string, unknown>>;
}

/** The real logger (redaction, format) writing into memory instead of standard output. */
export function captureLogs(level: LogLevel = 'info'): CapturedLogs {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level, destination });
  const text = () => chunks.join('');
  return {
    logger,
    text,
    entries: () =>
      text()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
