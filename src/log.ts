import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.ts';

/**
 * Structured logs on stdout. Secrets have their own type that prints as [redacted]; the redact paths are a second
 * wall for the places where a header or argument could otherwise slip in.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: 'gatehouse' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        '*.password',
        '*.secret',
        '*.token',
        '*.apiKey',
        '*.key',
        'env',
        'headers',
      ],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
