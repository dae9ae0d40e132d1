import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { frameTexts } from '../../src/server/frames.js';

/** ws's own frame builder, the reference (exported, though @types/ws does not declare it). */
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};
const wsFrame = (text: string): Buffer =>
  Buffer.concat(
    Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }),
  );

describe('frameTexts', () => {
  // Each length class of the header: 7-bit, 16-bit (126..65535) and 64-bit (65536 and up), at its edges.
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_000])('frames %i bytes exactly as ws does', (length) => {
    const text = 'a'.repeat(length);
    expect(Buffer.from(frameTexts([text])).equals(wsFrame(text))).toBe(true);
  });

  it('counts bytes, not characters, of multi-byte text', () => {
    // 124 bytes in UTF-8 from 42 UTF-16 units (a 7-bit length); two more bytes need the 16-bit one.
    const short = `${'连接成功'.repeat(10)}😀`;
    expect(Buffer.byteLength(short)).toBe(124);
    for (const text of [short, `${short}ab`, 'é'.repeat(40_000)])
      expect(Buffer.from(frameTexts([text])).equals(wsFrame(text))).toBe(true);
  });

  it('puts several messages in one buffer, in order', () => {
    const texts = ['{"type":"pong"}', 'x'.repeat(300), '', '{"type":"subscribed"}'];
    expect(Buffer.from(frameTexts(texts))).toEqual(Buffer.concat(texts.map(wsFrame)));
  });

  it('frames nothing as an empty buffer', () => {
    expect(frameTexts([]).length).toBe(0);
  });
});
