import type { Logger } from './types.js';

/** The default logger: says nothing. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  isLevelEnabled: () => false,
};

/** Whether `logger` writes `level`; loggers without `isLevelEnabled` write everything. */
export const logs = (logger: Logger, level: 'debug' | 'info'): boolean =>
  logger.isLevelEnabled?.(level) ?? true;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Client-supplied text made safe for a log line: control characters escaped (no forged log
 * lines or terminal escapes) and length capped.
 */
export function safeForLog(text: string, maxChars = 200): string {
  const clipped = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return clipped.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A client id as it may appear in logs above debug level: a client id is a resume token, so
 * only a prefix that cannot be used to take over the session is shown.
 */
export function redactClientId(clientId: string): string {
  return clientId.length > 11 ? `${clientId.slice(0, 11)}…` : clientId;
}
