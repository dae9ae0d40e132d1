/**
 * @module realtime-progress
 * The wire protocol (zod schemas and inferred types), error and close codes, and error
 * classes. No I/O: safe to import anywhere.
 */
export * from './codes.js';
export { type DecodedClientMessage, decodeClientFrame } from './decode.js';
export * from './errors.js';
export { parseFrame } from './frames.js';
export * from './protocol.js';
