/**
 * Error and close codes: one table maps every error code to the WebSocket close code it
 * causes (if any), the HTTP status a REST handler answers with, and whether a client should
 * retry. `docs/errors.md` has a heading per code.
 */

/** WebSocket close codes the server uses. */
export const CloseCode = {
  /** Normal closure: the client asked for it. */
  Normal: 1000,
  /** The server is shutting down; clients reconnect. */
  GoingAway: 1001,
  /** A frame exceeded `limits.maxFrameBytes`. */
  MessageTooBig: 1009,
  /** The server restarts (rolling deploy); clients reconnect after a random delay. */
  ServiceRestart: 1012,
  /** `authenticate` refused the connection; clients do not reconnect. */
  Unauthenticated: 4001,
  /** The identity may not use this server; clients do not reconnect. */
  Forbidden: 4003,
  /** Policy or rate limit violated. */
  PolicyViolation: 4008,
  /** The client read too slowly and its send buffer hit the hard limit; it may resume. */
  SlowConsumer: 4009,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client must not reconnect on its own. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.Unauthenticated,
  CloseCode.Forbidden,
]);

/** Machine-readable error codes carried by `error` messages, REST errors and thrown errors. */
export const ErrorCode = {
  /** A client frame was not valid JSON. */
  BadJson: 'BAD_JSON',
  /** A client frame was JSON but not a known message shape. */
  BadMessage: 'BAD_MESSAGE',
  /** A client frame named an `action` or `type` the server does not know. */
  UnknownAction: 'UNKNOWN_ACTION',
  /** A task id was missing, empty, longer than 100 characters, or not a string. */
  InvalidTaskId: 'INVALID_TASK_ID',
  /** A frame or request body exceeded its size limit. */
  FrameTooLarge: 'FRAME_TOO_LARGE',
  /** Publisher input failed validation (`publish`, `setStatus`, `reportError`). */
  ValidationFailed: 'VALIDATION_FAILED',
  /** A finished task (completed, failed, cancelled) got progress before being reopened. */
  TaskFinished: 'TASK_FINISHED',
  /** A query parameter (such as `limit`) was invalid. */
  InvalidParameter: 'INVALID_PARAMETER',
  /** The task is unknown. */
  TaskNotFound: 'TASK_NOT_FOUND',
  /** The client id is not connected to this server. */
  ClientNotFound: 'CLIENT_NOT_FOUND',
  /** No route matches the path. */
  NotFound: 'NOT_FOUND',
  /** The route exists but not for this HTTP method. */
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  /** `authenticate` refused the request. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** `authorize` refused access to the task. */
  Forbidden: 'FORBIDDEN',
  /** Too many messages too fast. */
  RateLimited: 'RATE_LIMITED',
  /** `limits.maxConnections`, `maxConnectionsPerIp` or `maxConnectionsPerUser` was reached. */
  TooManyConnections: 'TOO_MANY_CONNECTIONS',
  /** The browser's `Origin` is not allowed (`allowedOrigins`): cross-site WebSocket hijacking. */
  OriginNotAllowed: 'ORIGIN_NOT_ALLOWED',
  /** The client reached `limits.maxSubscriptionsPerClient`. */
  TooManySubscriptions: 'TOO_MANY_SUBSCRIPTIONS',
  /** The client read too slowly. */
  SlowConsumer: 'SLOW_CONSUMER',
  /** The storage adapter failed (database down, constraint violated). */
  StorageUnavailable: 'STORAGE_UNAVAILABLE',
  /** The server or publisher is closed. */
  Closed: 'CLOSED',
  /** An unexpected server-side failure; details are logged, never sent. */
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What each error code means for a socket, an HTTP response and a retrying client. */
export interface ErrorCodeInfo {
  /** Close code used when this error ends a WebSocket connection; `undefined` if it never does. */
  readonly closeCode: CloseCode | undefined;
  /** HTTP status a REST handler answers with. */
  readonly httpStatus: number;
  /** Whether repeating the same operation later may succeed. */
  readonly retryable: boolean;
}

const info = (httpStatus: number, retryable: boolean, closeCode?: CloseCode): ErrorCodeInfo => ({
  closeCode,
  httpStatus,
  retryable,
});

/** The one table: error code -> close code, HTTP status, retryable. */
export const ERROR_CODE_INFO: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  BAD_JSON: info(400, false),
  BAD_MESSAGE: info(400, false),
  UNKNOWN_ACTION: info(400, false),
  INVALID_TASK_ID: info(400, false),
  FRAME_TOO_LARGE: info(413, false, CloseCode.MessageTooBig),
  VALIDATION_FAILED: info(400, false),
  TASK_FINISHED: info(409, false),
  INVALID_PARAMETER: info(400, false),
  TASK_NOT_FOUND: info(404, false),
  CLIENT_NOT_FOUND: info(404, false),
  NOT_FOUND: info(404, false),
  METHOD_NOT_ALLOWED: info(405, false),
  UNAUTHENTICATED: info(401, false, CloseCode.Unauthenticated),
  FORBIDDEN: info(403, false, CloseCode.Forbidden),
  RATE_LIMITED: info(429, true, CloseCode.PolicyViolation),
  TOO_MANY_CONNECTIONS: info(429, true),
  ORIGIN_NOT_ALLOWED: info(403, false),
  TOO_MANY_SUBSCRIPTIONS: info(400, false),
  SLOW_CONSUMER: info(503, true, CloseCode.SlowConsumer),
  STORAGE_UNAVAILABLE: info(503, true),
  CLOSED: info(503, true, CloseCode.GoingAway),
  INTERNAL: info(500, true),
};
