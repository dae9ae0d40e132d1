/**
 * The wire: zod schemas for every message in both directions, exactly the seed's JSON shapes
 * (`{"type","task_id","payload"}` with snake_case payloads) plus the compatible extensions
 * (`seq`, `since`, `snapshot`, `coalesced_from`, `code`, `resumed`, `recovered`). Types are
 * inferred from the schemas and never written twice. `docs/protocol.md` describes each message.
 */
import * as z from 'zod';

/** Task lifecycle states. */
export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

/** States after which a task takes no more progress until it is reopened. */
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

/** Field limits, from the seed's database model (`ProgressHistory`, `WebSocketSession`). */
export const LIMITS = {
  taskIdChars: 100,
  currentStepChars: 200,
  messageChars: 500,
  errorChars: 2000,
  stepIdChars: 100,
  userIdChars: 100,
  projectIdChars: 100,
} as const;

export const TaskIdSchema = z.string().min(1).max(LIMITS.taskIdChars);

/**
 * A task id `TaskIdSchema` accepts, checked without zod for the hot paths (every publish, every
 * subscribe). `false` only means "not this easy case": zod then decides and words the error.
 */
export const isPlainTaskId = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= LIMITS.taskIdChars;

// ---------------------------------------------------------------------------------------
// Client -> server

/** `{"action":"subscribe","task_id","since"?}`; `since` (extension) replays events with `seq > since`. */
export const SubscribeMessageSchema = z.object({
  action: z.literal('subscribe'),
  task_id: TaskIdSchema,
  since: z.number().int().min(0).optional(),
});
export type SubscribeMessage = z.infer<typeof SubscribeMessageSchema>;

/** `{"action":"unsubscribe","task_id"}`. */
export const UnsubscribeMessageSchema = z.object({
  action: z.literal('unsubscribe'),
  task_id: TaskIdSchema,
});
export type UnsubscribeMessage = z.infer<typeof UnsubscribeMessageSchema>;

/** `{"type":"ping"}`: the seed's application-level heartbeat. */
export const PingMessageSchema = z.object({ type: z.literal('ping') });
export type PingMessage = z.infer<typeof PingMessageSchema>;

export type ClientMessage = SubscribeMessage | UnsubscribeMessage | PingMessage;

// ---------------------------------------------------------------------------------------
// Server -> client payloads

export const ProgressPayloadSchema = z.object({
  task_id: z.string(),
  progress: z.number().int().min(0).max(100),
  current_step: z.string(),
  total_steps: z.number().int().min(0),
  completed_steps: z.number().int().min(0),
  message: z.string(),
  status: TaskStatusSchema,
  /** RFC 3339. */
  timestamp: z.string(),
  /** Extension: free-form data the publisher attached (the seed's `Metadata` column). */
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type ProgressPayload = z.infer<typeof ProgressPayloadSchema>;

export const StatusPayloadSchema = z.object({
  task_id: z.string(),
  status: TaskStatusSchema,
  error: z.string(),
  result: z.unknown(),
  timestamp: z.string(),
});
export type StatusPayload = z.infer<typeof StatusPayloadSchema>;

/** A task's error event (the seed's shape: `execution_id` is the task id). */
export const TaskErrorPayloadSchema = z.object({
  execution_id: z.string(),
  step_id: z.string(),
  error: z.string(),
  timestamp: z.string(),
});
export type TaskErrorPayload = z.infer<typeof TaskErrorPayloadSchema>;

/** Extension: an error about the client's own input, with a machine-readable code. */
export const ClientErrorPayloadSchema = z.object({
  code: z.string(),
  error: z.string(),
  timestamp: z.string(),
});
export type ClientErrorPayload = z.infer<typeof ClientErrorPayloadSchema>;

// ---------------------------------------------------------------------------------------
// Server -> client messages

const envelope = <T extends string, P extends z.ZodType>(type: T, payload: P) =>
  z.object({ type: z.literal(type), task_id: z.string(), payload });

export const ConnectedMessageSchema = envelope(
  'connected',
  z.object({ client_id: z.string(), message: z.string(), timestamp: z.string() }),
);
export type ConnectedMessage = z.infer<typeof ConnectedMessageSchema>;

export const ReconnectedMessageSchema = envelope(
  'reconnected',
  z.object({
    client_id: z.string(),
    old_client_id: z.string(),
    message: z.string(),
    subscribed: z.record(z.string(), z.boolean()),
    timestamp: z.string(),
    /** Extension: `true` when the old session was restored (same id, subscriptions back). */
    resumed: z.boolean(),
    /** Extension: why a resume failed (`SESSION_NOT_FOUND`, `SESSION_EXPIRED`, `SESSION_FORBIDDEN`). */
    reason: z.string().optional(),
  }),
);
export type ReconnectedMessage = z.infer<typeof ReconnectedMessageSchema>;

export const SubscribedMessageSchema = envelope(
  'subscribed',
  z.object({
    topics: z.array(z.string()),
    /**
     * Extension, present when the subscribe carried `since`: `true` if every event after
     * `since` is replayed, `false` if history was trimmed and only the latest state follows.
     */
    recovered: z.boolean().optional(),
  }),
);
export type SubscribedMessage = z.infer<typeof SubscribedMessageSchema>;

export const UnsubscribedMessageSchema = envelope('unsubscribed', z.object({ topics: z.array(z.string()) }));
export type UnsubscribedMessage = z.infer<typeof UnsubscribedMessageSchema>;

/** Extensions shared by task events: `seq`, and on progress `snapshot` / `coalesced_from`. */
const seqField = z.number().int().min(1);

export const ProgressMessageSchema = envelope('progress', ProgressPayloadSchema).extend({
  seq: seqField,
  /** Extension: this is the task's latest state sent on subscribe, not a new event. */
  snapshot: z.literal(true).optional(),
  /** Extension: this progress folds the events `coalesced_from..seq` (slow consumer). */
  coalesced_from: seqField.optional(),
});
export type ProgressMessage = z.infer<typeof ProgressMessageSchema>;

export const StatusMessageSchema = envelope('status', StatusPayloadSchema).extend({ seq: seqField });
export type StatusMessage = z.infer<typeof StatusMessageSchema>;

export const TaskErrorMessageSchema = envelope('error', TaskErrorPayloadSchema).extend({ seq: seqField });
export type TaskErrorMessage = z.infer<typeof TaskErrorMessageSchema>;

export const ClientErrorMessageSchema = envelope('error', ClientErrorPayloadSchema);
export type ClientErrorMessage = z.infer<typeof ClientErrorMessageSchema>;

export const PongMessageSchema = envelope('pong', z.object({ timestamp: z.number().int() }));
export type PongMessage = z.infer<typeof PongMessageSchema>;

export const ServerMessageSchema = z.union([
  ConnectedMessageSchema,
  ReconnectedMessageSchema,
  SubscribedMessageSchema,
  UnsubscribedMessageSchema,
  ProgressMessageSchema,
  StatusMessageSchema,
  TaskErrorMessageSchema,
  ClientErrorMessageSchema,
  PongMessageSchema,
]);
export type ServerMessage = z.infer<typeof ServerMessageSchema>;

/** A message that belongs to a task's event stream and carries `seq`. */
export type TaskEventMessage = ProgressMessage | StatusMessage | TaskErrorMessage;
export type TaskEventType = TaskEventMessage['type'];
