// Shapes of the kernel <-> front-end messages. See ../PROTOCOL.md (the contract).
// Everything that comes from the kernel is treated as untrusted data: the parsers in
// protocol.ts check the shapes, and the DOM code only ever uses textContent.

/** One content part of a message item. */
export interface ContentPart {
  type: string;
  text?: string | null;
  transcript?: string | null;
  image_url?: string | null;
  [key: string]: unknown;
}

/** An item as the front end sees it (PROTOCOL.md "ItemView"). */
export interface ItemView {
  id: string;
  type: string;
  object?: string | null;
  role?: string | null;
  status?: string | null;
  content?: ContentPart[] | null;
  call_id?: string | null;
  name?: string | null;
  arguments?: string | null;
  output?: string | null;
  metadata?: unknown;
  server_label?: string | null;
  tools?: unknown;
  approval_request_id?: string | null;
  approve?: boolean | null;
  reason?: string | null;
  error?: unknown;
  previous_item_id: string | null;
  text?: string | null;
  flagged?: boolean;
  done?: boolean;
  response_id?: string | null;
  [key: string]: unknown;
}

export interface ErrorView {
  message: string;
  code: string | null;
  type: string | null;
  param: string | null;
  event_id: string | null;
  item_id: string | null;
  request_id: string | null;
  ts: number;
}

export type LogDirection = "in" | "out" | "local";

export interface LogEntry {
  seq: number;
  ts: number;
  /** in = server event, out = client event, local = the client's own note (status, resync). */
  direction: LogDirection;
  type: string;
  payload: unknown;
  /** The item the event concerns, when the kernel knows it (else read from the payload). */
  item_id?: string | null;
  /** A run of `count` like delta events sent as its last one (PROTOCOL.md); default 1. */
  count?: number;
  /** With `count`: when the first event of the run happened. */
  first_ts?: number;
  /** The seq of a collapsed run's first entry (its `seq` is the last one's). */
  first_seq?: number | null;
}

export type DeltaField = "text" | "transcript" | "arguments";

export interface SnapshotMsg {
  kind: "snapshot";
  items: ItemView[];
  errors: ErrorView[];
  log: LogEntry[];
  /** Optional (PROTOCOL.md addition): echo of the snapshot_request's request_id. */
  request_id?: string | null;
  /** Optional (PROTOCOL.md addition): seq of the last change reflected in this snapshot. */
  seq?: number | null;
  /** Events seen by the kernel so far (both directions). */
  events?: number | null;
  /** Every tool call (PROTOCOL.md "Tool calls"), the kernel's clock when it built the
   * snapshot, and the browser's when it was parsed (both unix seconds). */
  tools?: ToolView[];
  now?: number | null;
  received?: number;
}
export interface InsertedMsg {
  kind: "inserted";
  item: ItemView;
  seq?: number | null;
}
export interface UpdatedMsg {
  kind: "updated";
  item: ItemView;
  seq?: number | null;
}
export interface DeltaMsg {
  kind: "delta";
  item_id: string;
  field: DeltaField;
  content_index: number | null;
  text: string;
  seq?: number | null;
}
export interface RemovedMsg {
  kind: "removed";
  item_id: string;
  seq?: number | null;
}
export interface ErrorMsg {
  kind: "error";
  error: ErrorView;
}
export interface LogMsg {
  kind: "log";
  entries: LogEntry[];
  /** The reply to one view's `log_watch`: that view replaces its log with these entries. */
  reset?: boolean;
  request_id?: string | null;
}
/** The kernel's event count, carried by each `batch`. */
export interface CountsMsg {
  kind: "counts";
  events: number;
}
export interface ResultMsg {
  kind: "result";
  request_id: string;
  ok: boolean;
  error: string | null;
  field: string | null;
  /** The id of the item the action creates (insert, edit, send), when it creates one. */
  item_id?: string | null;
}

/** A tool call as the widget shows it (PROTOCOL.md "Tool calls"; src/tools/). */
export interface ToolView {
  /** A function call's call_id, or an MCP approval request's item id (what approve names). */
  id: string;
  /** "function" or "mcp". */
  kind: string;
  name: string;
  /** The item whose row shows the call: its function_call or mcp_approval_request. */
  item_id: string;
  /** waiting, approved, running, completed, failed, timeout, denied, dropped. */
  status: string;
  response_id: string | null;
  server_label: string | null;
  /** The kernel's clock, unix seconds. */
  started_at: number | null;
  finished_at: number | null;
  elapsed_s: number | null;
  error: string | null;
  /** An MCP answer's reason. */
  reason: string | null;
}
/** One tool call's new state (a change message: it carries `seq`). */
export interface ToolMsg {
  kind: "tool";
  call: ToolView;
  /** The kernel's clock when it built the message, and the browser's when it was parsed. */
  now: number | null;
  received: number;
  seq?: number | null;
}

export type ChangeMsg = InsertedMsg | UpdatedMsg | DeltaMsg | RemovedMsg;
export type KernelMsg = SnapshotMsg | ChangeMsg | ToolMsg | ErrorMsg | LogMsg | CountsMsg | ResultMsg;

export type Role = "user" | "system" | "assistant";

export type FrontMsg =
  | { kind: "snapshot_request"; request_id?: string }
  | { kind: "edit"; request_id: string; item_id: string; text: string }
  | { kind: "delete"; request_id: string; item_id: string }
  | { kind: "insert"; request_id: string; previous_item_id: string; role: Role; text: string }
  | { kind: "send"; request_id: string; text: string; respond?: boolean }
  | { kind: "respond"; request_id: string }
  | { kind: "cancel"; request_id: string }
  | { kind: "session"; request_id: string; session: SessionFields }
  | { kind: "log_watch"; view: string; open: boolean }
  | { kind: "approve" | "deny"; request_id: string; call_id: string; reason?: string };

/** What the session panel edits (flat; the kernel maps it to the server's dialect). */
export interface SessionFields {
  instructions?: string;
  voice?: string;
  modalities?: string[];
  tools?: unknown[];
  turn_detection?: { type: string; threshold?: number; silence_duration_ms?: number } | null;
}

/** What the controls may do now: the kernel is reachable and the session can take actions;
 * whether a response is running. */
export interface ControlState {
  /** Actions can be sent (kernel alive, session not closed). */
  live: boolean;
  /** Why not, in words (empty when live). */
  reason: string;
  /** A response is running (stop is possible, respond is not). */
  responding: boolean;
}

/** The part of an anywidget model the front end uses (a fake in tests). */
export interface ModelLike {
  get(name: string): unknown;
  on(event: string, cb: (...args: any[]) => void): void;
  off(event?: string | null, cb?: ((...args: any[]) => void) | null): void;
  send(content: any, callbacks?: any, buffers?: any): void;
  /** The widget manager (anywidget passes it to render): used, when present, to notice that
   * the kernel went away or is busy. */
  widget_manager?: unknown;
}

/** Synced traits of the widget model. */
export interface WidgetTraits {
  status: string;
  endpoint: string;
  dialect: string;
  provider?: string;
  model_label?: string;
  status_reason?: string;
  responding?: string;
  session?: Record<string, unknown>;
  action_timeout?: number;
  [key: string]: unknown;
}
