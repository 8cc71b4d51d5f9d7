import { pino, type Logger } from 'pino';

export type { Logger };

/** Logs go to stderr, so stdout stays clean for NDJSON alert output. */
export function createLogger(level: string, name = 'auditwatch'): Logger {
  return pino({ name, level, base: { name } }, pino.destination(2));
}
