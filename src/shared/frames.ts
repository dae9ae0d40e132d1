/**
 * Frame splitting shared by both sides. The seed's `WritePump` batches several JSON messages
 * into one frame separated by `\n`; `JSON.stringify` never emits a raw newline, so splitting
 * on it is safe for batched frames.
 */

/**
 * Parses a frame into its JSON values without throwing: one document, or several
 * `\n`-separated ones, or one pretty-printed document spanning lines. Each entry is
 * `{ value }`, or `undefined` for a line that is not JSON.
 */
export function parseFrame(data: string): Array<{ value: unknown } | undefined> {
  if (!data.includes('\n')) return [tryParseJson(data)];
  // Batched lines first (the common case); one pretty-printed document only if a line fails.
  const parsed: Array<{ value: unknown } | undefined> = [];
  for (const line of data.split('\n')) {
    if (line.trim() !== '') parsed.push(tryParseJson(line));
  }
  if (!parsed.includes(undefined)) return parsed;
  const whole = tryParseJson(data);
  return whole === undefined ? parsed : [whole];
}

/** The JSON value of `text`, or `undefined` when it is not JSON (no JSON text parses to `undefined`). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function tryParseJson(text: string): { value: unknown } | undefined {
  const value = parseJson(text);
  return value === undefined ? undefined : { value };
}
