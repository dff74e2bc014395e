import pino, { type Logger } from 'pino';

/** Paths that may hold secrets; pino replaces their values before anything is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'signature',
  'request.signature',
  'secret',
  'token',
  'password',
  'privateKey',
  'config.opsApiToken',
  'config.opsTokens',
  'config.oidc.clientSecret',
  'config.forward.secret',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'payment-notification-receiver' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
