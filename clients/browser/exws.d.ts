// Type declarations for exws.js, the exws browser client (wire protocol version 1).
// Keep in step with exws.js: test/types.test.mjs checks that both export the same names and
// that ExwsClient has the same members, and compiles test/types-usage.ts against this file.

/** A connection state. */
export type ExwsState = "connecting" | "online" | "offline" | "error";

/** The four connection states, in the order a first successful connection goes through them. */
export declare const STATES: readonly ["connecting", "online", "offline", "error"];

/** A correlation id: the client sends integers; the protocol allows strings too. */
export type ExwsId = string | number;

/** One protocol message, as received (`Data` absent on the wire is passed as `null`). */
export interface ExwsEnvelope<TData = unknown> {
  Type: string;
  Data?: TData;
  Id?: ExwsId;
  /** Unknown extra top-level fields are ignored by the protocol but kept here. */
  [field: string]: unknown;
}

/** Codes of the protocol's Error envelopes (shared/PROTOCOL.md). */
export type ExwsServerErrorCode =
  | "invalid_json"
  | "invalid_envelope"
  | "unknown_type"
  | "invalid_data"
  | "handler_error"
  | "handler_panic"
  | "unsupported_frame"
  | "message_too_large"
  | "rate_limited"
  | "unauthorized"
  | "duplicate_id"
  | "too_many_streams";

/**
 * Codes the client makes itself. "unknown_error": an Error envelope without a string `code`.
 * For frames the client ignores it reuses "invalid_json", "invalid_envelope" and
 * "unsupported_frame".
 */
export type ExwsClientErrorCode =
  | "timeout"
  | "disconnected"
  | "closed"
  | "queue_full"
  | "overflow"
  | "unknown_error";

/** Every code an ExwsError may carry; a newer server may send codes not listed here. */
export type ExwsErrorCode = ExwsServerErrorCode | ExwsClientErrorCode | (string & {});

/** A failed call or stream, or a frame the client could not use. */
export declare class ExwsError extends Error {
  constructor(code: string, message: string, details?: { type?: string; id?: ExwsId; data?: unknown });
  name: "ExwsError";
  /** A stable code: from the server's Error envelope, or one of the client's own. */
  code: ExwsErrorCode;
  /** The offending message Type, when known (for a failed call: the request's Type). */
  type: string | undefined;
  /** The call's Id, when the error concerns a call. */
  id: ExwsId | undefined;
  /** The Error envelope's whole Data, when the error came from the server. */
  data: unknown;
}

/** Exponential backoff with full jitter: retry n waits uniform [0, min(maxMs, initialMs * factor^n)). */
export interface ExwsBackoff {
  /** Cap of the first retry's delay. Default 250. */
  initialMs?: number;
  /** Largest cap. Default 10000. */
  maxMs?: number;
  /** Growth of the cap per failed attempt. Default 2. */
  factor?: number;
  /** A connection counts as stable, and the next retry starts from initialMs again, after this long online. Default 5000. */
  minUptimeMs?: number;
}

/** What the client reports through options.onError. */
export type ExwsErrorContext =
  | { kind: "frame"; raw: unknown }
  | { kind: "handler"; type: string; envelope: ExwsEnvelope }
  | { kind: "state"; state: ExwsState }
  | { kind: "stream"; type: string; id: ExwsId };

/** A WebSocket constructor, such as the browser's. */
export interface ExwsWebSocketConstructor {
  new (url: string, protocols?: string | string[]): WebSocket;
}

export interface ExwsClientOptions {
  /** Reconnect after a lost connection or a failed attempt. Default true. */
  reconnect?: boolean;
  /** Backoff between attempts; fields merge with the defaults. */
  backoff?: ExwsBackoff;
  /** Default timeout of call(), in ms; 0: none. Default 30000. */
  callTimeoutMs?: number;
  /** Most messages send() and call() queue while not connected; past it new ones are refused. Default 1000. */
  maxQueue?: number;
  /** Most items a stream buffers unread before it fails with "overflow" and is cancelled. Default 1000. */
  streamBufferSize?: number;
  /** WebSocket subprotocols, passed to the WebSocket constructor. */
  protocols?: string | string[];
  /** Connect in a microtask after construction. Default true; false: call connect() yourself. */
  autoConnect?: boolean;
  /** WebSocket implementation. Default: globalThis.WebSocket. */
  WebSocket?: ExwsWebSocketConstructor;
  /**
   * Called for frames the client ignored (not a JSON object with a string Type, or binary) and
   * for exceptions thrown by handlers and state listeners. Default: reportError() for
   * exceptions, console.warn for frames.
   */
  onError?: (error: unknown, context: ExwsErrorContext) => void;
  /**
   * Connection recovery: ask the server for a recoverable session and resume it on every
   * reconnection (missed room messages are replayed before new ones). Default false.
   */
  recover?: boolean;
}

/** A room whose missed messages could not all be given back. */
export interface ExwsGap {
  /** The room (a user's own channel is "\u0001user:ID"). */
  room: string;
  /** "evicted", "epoch_changed", "unavailable" or "expired". */
  reason: string;
}

/** What the server said of the session when a recovering client (re)connected. */
export interface ExwsRecovered {
  /** The connection id (the same as before after a resume). */
  connection: string;
  /** Whether the session was resumed. */
  resumed: boolean;
  /** Whether nothing was missed: resumed, and no room has a gap. */
  complete: boolean;
  /** Why a resume was not possible ("expired", "other_user"), if it was not. */
  reason?: string;
  /** The rooms where messages may be missing: refetch them. */
  gaps: ExwsGap[];
}

/** The Type of the session frame ("exws.session"). */
export declare const SESSION_TYPE: "exws.session";

/** Defaults of every option. */
export declare const DEFAULT_OPTIONS: Readonly<{
  reconnect: true;
  backoff: Readonly<Required<ExwsBackoff>>;
  callTimeoutMs: number;
  maxQueue: number;
  streamBufferSize: number;
  protocols: undefined;
  autoConnect: true;
  WebSocket: undefined;
  onError: undefined;
  recover: false;
}>;

/** Details of a state change. */
export interface ExwsStateInfo {
  /** The state before this one. */
  previous: ExwsState;
  /** Consecutive attempts that failed (or connections shorter than minUptimeMs) so far. */
  attempt: number;
  /** "offline" or "error" while reconnecting: ms until the next attempt. */
  retryInMs?: number;
  /** Close code of the WebSocket, or the one given to close(). */
  code?: number;
  /** Close reason. */
  reason?: string;
  /** Whether the WebSocket closed cleanly. */
  wasClean?: boolean;
  /** "error": what the WebSocket constructor threw (e.g. a malformed URL). */
  error?: unknown;
  /** "offline" because close() was called. */
  closed?: boolean;
}

/** A handler of incoming envelopes. A returned promise that rejects is reported like a throw. */
export type ExwsHandler<TData = any> = (data: TData, envelope: ExwsEnvelope<TData>, client: ExwsClient) => unknown;

/**
 * Answers a call from the server (`Connection::call`): returns the answer's `Data`, or a promise
 * of it; a throw or a rejection refuses the call with "handler_error".
 */
export type ExwsAnswerer<TData = any, TAnswer = unknown> = (data: TData, envelope: ExwsEnvelope<TData>, client: ExwsClient) => TAnswer | Promise<TAnswer>;

/** A listener of state changes. */
export type ExwsStateListener = (state: ExwsState, info: ExwsStateInfo) => void;

export interface ExwsCallOptions {
  /** Overrides options.callTimeoutMs for this call; 0: none. */
  timeoutMs?: number;
}

/** Callbacks of a stream's callback form; each is optional. */
export interface ExwsStreamCallbacks<TItem = any> {
  /** Called for each item, in order. */
  onItem?: (data: TItem, envelope: ExwsEnvelope<TItem>, stream: ExwsStream<TItem>) => unknown;
  /** Called once at the server's StreamEnd (not after cancel()). */
  onEnd?: () => unknown;
  /** Called once when the stream fails: an Error envelope (its code), "disconnected", "closed", "overflow", "queue_full". */
  onError?: (error: ExwsError) => unknown;
}

export interface ExwsStreamOptions<TItem = any> extends ExwsStreamCallbacks<TItem> {
  /** Overrides options.streamBufferSize for this stream. */
  bufferSize?: number;
}

/**
 * The items of one stream: an async iterable of each item's Data until the server's StreamEnd.
 * `break` in `for await` (return()) and cancel() send StreamCancel. An Error envelope, a lost
 * connection or an overflowing buffer make the next read throw an ExwsError.
 */
export declare class ExwsStream<TItem = any> implements AsyncIterableIterator<TItem> {
  #private;
  /** Created by client.stream(). */
  constructor(id: ExwsId, type: string, hooks: never);
  /** The Id of the request that opened the stream. */
  get id(): ExwsId;
  /** The request's Type. */
  get type(): string;
  /** Whether the stream is still open. */
  get open(): boolean;
  /** Sends StreamCancel and drops unread items; settles when the server confirms with StreamEnd. */
  cancel(): Promise<void>;
  next(): Promise<IteratorResult<TItem, undefined>>;
  return(): Promise<IteratorResult<TItem, undefined>>;
  [Symbol.asyncIterator](): ExwsStream<TItem>;
}

/** One connection in a room's presence: its id and the meta the server gave it (null without). */
export interface ExwsPresenceMeta {
  connection: string;
  meta: unknown;
}

/** One entry of a room's presence: a user with each of its connections, or one connection without a user (user null). */
export interface ExwsPresenceEntry {
  user: string | null;
  metas: ExwsPresenceMeta[];
}

/** A presence watch's first item (`PresenceState`). */
export interface ExwsPresenceState {
  room: string;
  presences: ExwsPresenceEntry[];
}

/** A presence watch's next items (`PresenceDiff`): metas that joined and left, by entry. */
export interface ExwsPresenceDiff {
  room: string;
  joins: ExwsPresenceEntry[];
  leaves: ExwsPresenceEntry[];
}

/** What one item of a watch changed: entries that arrived (a user's first connection) and left (its last). */
export interface ExwsPresenceChange {
  kind: "state" | "diff";
  joined: ExwsPresenceEntry[];
  left: ExwsPresenceEntry[];
  /** The diff as the server sent it (kind "diff"). */
  diff: ExwsPresenceDiff | undefined;
}

/** A room's presence as a watcher keeps it; applying is idempotent. */
export declare class ExwsPresence {
  #private;
  /** Replaces everything with a PresenceState's entries. */
  applyState(state: ExwsPresenceState): void;
  /** Applies a PresenceDiff (leaves, then joins); returns the entries that arrived and left. */
  applyDiff(diff: ExwsPresenceDiff): { joined: ExwsPresenceEntry[]; left: ExwsPresenceEntry[] };
  /** The entries: users first (by id), then connections without a user. */
  list(): ExwsPresenceEntry[];
  /** The entry of user `id`, if present. */
  user(id: string): ExwsPresenceEntry | undefined;
  /** Every connection present, sorted. */
  connections(): string[];
  /** How many entries are present. */
  get size(): number;
}

/** Callbacks of watchPresence(); each is optional. */
export interface ExwsPresenceOptions {
  /** Called after the state and after each diff, with the presence they make and what changed. */
  onChange?: (presence: ExwsPresence, change: ExwsPresenceChange) => unknown;
  /** Called once when the server ends the watch (not after cancel()). */
  onEnd?: () => unknown;
  /** Called once when the watch fails: "unauthorized", "unknown_type" (presence off), "disconnected", ... */
  onError?: (error: ExwsError) => unknown;
}

/** A running presence watch. */
export interface ExwsPresenceWatch {
  room: string;
  /** The presence the watch's items make. */
  presence: ExwsPresence;
  /** The underlying stream (`PresenceWatch`). */
  stream: ExwsStream<ExwsPresenceState | ExwsPresenceDiff>;
  /** Sends StreamCancel; settles when the server confirms. */
  cancel(): Promise<void>;
}

/**
 * A server's contract, as `exws codegen typescript` writes it (its `Contract`): the `Data` of
 * each request `Type`, of the reply or stream items it gets, and of every `Type` the server
 * sends. `new ExwsClient<Contract>(url)` then checks every `Type` and `Data` at compile time.
 */
export interface ExwsContract {
  /** Request `Type` → its `Data` (`send`, `call`, `stream`). */
  requests: object;
  /** Request `Type` answered with one reply → the reply's `Data` (`call`). */
  replies: object;
  /** Request `Type` answered with a stream → the items' `Data` (`stream`). */
  streams: object;
  /** Every `Type` the server sends → its `Data` (`on`). */
  events: object;
  /** `Type` of every call the server makes to the client → the call's `Data` (`answer`); absent when it makes none. */
  calls?: object;
  /** `Type` of every call the server makes → the `Data` the client answers with (`answer`). */
  answers?: object;
}

/** The contract of a client without one: any `Type`, any `Data` (the default). */
export interface ExwsAnyContract {
  requests: { [type: string]: any };
  replies: { [type: string]: any };
  streams: { [type: string]: any };
  events: { [type: string]: any };
  calls: { [type: string]: any };
  answers: { [type: string]: any };
}

/** Whether `C` names its `Type`s (a generated `Contract`) rather than taking any string. */
type ExwsIsTyped<C extends ExwsContract> = string extends keyof C["requests"] ? false : true;
/** `T` for a client without a contract; `never` (that overload does not apply) for a typed one. */
export type ExwsUntyped<C extends ExwsContract, T> = ExwsIsTyped<C> extends true ? never : T;
/** The keys of `C[K]` for a typed client; `never` (that overload does not apply) for an untyped one. */
export type ExwsTypesOf<C extends ExwsContract, K extends keyof ExwsContract> =
  ExwsIsTyped<C> extends true ? keyof C[K] & string : never;
/** The calls a contract says the server makes (none when it lists no `calls`). */
type ExwsCallsOf<C extends ExwsContract> = C extends { calls: infer K } ? K : {};
/** The answers a contract expects to the server's calls. */
type ExwsAnswersOf<C extends ExwsContract> = C extends { answers: infer K } ? K : {};
/** The `Type`s of the server's calls, for a typed client; `never` for an untyped one. */
export type ExwsCallTypesOf<C extends ExwsContract> =
  ExwsIsTyped<C> extends true ? keyof ExwsCallsOf<C> & string : never;
/** The `Data` of the server's call `T`. */
export type ExwsCallOf<C extends ExwsContract, T> = T extends keyof ExwsCallsOf<C> ? ExwsCallsOf<C>[T] : never;
/** The `Data` a client answers the server's call `T` with. */
export type ExwsAnswerOf<C extends ExwsContract, T> = T extends keyof ExwsAnswersOf<C> ? ExwsAnswersOf<C>[T] : never;
/** The `Data` of request `T`. */
export type ExwsRequestOf<C extends ExwsContract, T> = T extends keyof C["requests"] ? C["requests"][T] : never;

/**
 * A WebSocket client speaking the exws envelope protocol. Give it a server's generated
 * `Contract` (`new ExwsClient<Contract>(url)`) to check `Type`s and `Data` at compile time;
 * without one it takes any `Type`.
 */
export declare class ExwsClient<C extends ExwsContract = ExwsAnyContract> {
  #private;
  /**
   * @param url ws:, wss:, http:, https: or relative to the page; a function is called before
   *   every connection attempt.
   * @throws TypeError for a malformed URL; RangeError for invalid options.
   */
  constructor(url: string | URL | (() => string | URL), options?: ExwsClientOptions);
  /** The current connection state. Before the first connect(): "offline". */
  get state(): ExwsState;
  /** Starts connecting; reconnects a closed client; retries at once while waiting out a backoff. No-op while connecting or online. */
  connect(): this;
  /** Closes, stops reconnecting, rejects waiting calls with "closed", drops queued sends. */
  close(code?: number, reason?: string): void;
  /**
   * Sends one envelope, queued while not connected.
   * @returns false when refused: the queue is full or the client is closed.
   */
  send(type: ExwsUntyped<C, string>, data?: unknown): boolean;
  /** Sends one request of the contract, with its `Data`. */
  send<T extends ExwsTypesOf<C, "requests">>(type: T, data: C["requests"][T]): boolean;
  /** Sends a request with a fresh Id; resolves with the Data of the first reply carrying it. */
  call<TResponse = any, TRequest = unknown>(type: ExwsUntyped<C, string>, data?: TRequest, options?: ExwsCallOptions): Promise<TResponse>;
  /** Calls a request `Type` of the contract that gets a reply; resolves with the reply's `Data`. */
  call<T extends ExwsTypesOf<C, "replies">>(type: T, data: ExwsRequestOf<C, T>, options?: ExwsCallOptions): Promise<C["replies"][T]>;
  /**
   * Opens a stream: a request with a fresh Id answered by items until StreamEnd. Iterate it with
   * `for await` (`break` cancels), or pass onItem/onEnd/onError callbacks.
   */
  stream<TItem = any, TRequest = unknown>(type: ExwsUntyped<C, string>, data?: TRequest, options?: ExwsStreamOptions<TItem>): ExwsStream<TItem>;
  /** Opens a stream of the contract; its items are the contract's items of that `Type`. */
  stream<T extends ExwsTypesOf<C, "streams">>(type: T, data: ExwsRequestOf<C, T>, options?: ExwsStreamOptions<C["streams"][T]>): ExwsStream<C["streams"][T]>;
  /**
   * Watches the presence of `room` (servers with presence on): its state, then its diffs,
   * applied into `presence`; `onChange` after each.
   */
  watchPresence(room: string, options?: ExwsPresenceOptions): ExwsPresenceWatch;
  /** The presence of `room` now (a watch cancelled once its state arrived). */
  presence(room: string, options?: ExwsCallOptions): Promise<ExwsPresenceEntry[]>;
  /** Registers a handler for envelopes of `type` ("*": every envelope). Returns an unregister function. */
  on<TData = any>(type: ExwsUntyped<C, string>, fn: ExwsHandler<TData>): () => void;
  /** Registers a handler for a `Type` the contract says the server sends, or "*" for every envelope. */
  on<T extends ExwsTypesOf<C, "events"> | "*">(type: T, fn: ExwsHandler<T extends keyof C["events"] ? C["events"][T] : unknown>): () => void;
  /** Removes a handler added with on(). */
  off(type: string, fn: ExwsHandler<any>): void;
  /**
   * Answers the server's calls of `type`; a call of a type without an answerer is refused with
   * "unknown_type". One answerer per type. Returns a function that removes it.
   */
  answer<TData = any, TAnswer = unknown>(type: ExwsUntyped<C, string>, fn: ExwsAnswerer<TData, TAnswer>): () => void;
  /** Answers a call the contract says the server makes: its `Data` in, the contract's answer out. */
  answer<T extends ExwsCallTypesOf<C>>(type: T, fn: ExwsAnswerer<ExwsCallOf<C, T>, ExwsAnswerOf<C, T>>): () => void;
  /** Registers a listener of state changes. Returns an unregister function. */
  onState(fn: ExwsStateListener): () => void;
  /** Removes a listener added with onState(). */
  offState(fn: ExwsStateListener): void;
  /** With `recover: true`: a listener of each (re)connection's session. Returns an unregister function. */
  onRecovered(fn: (info: ExwsRecovered) => void): () => void;
  /** Removes a listener added with onRecovered(). */
  offRecovered(fn: (info: ExwsRecovered) => void): void;
}

/** Shorthand for `new ExwsClient(url, options)` (`connect<Contract>(url)` for a typed client). */
export declare function connect<C extends ExwsContract = ExwsAnyContract>(url: string | URL | (() => string | URL), options?: ExwsClientOptions): ExwsClient<C>;

/** Registers a handler on every client, existing and future ("*": every envelope). Returns an unregister function. */
export declare function registerHandler<TData = any>(type: string, fn: ExwsHandler<TData>): () => void;

/** Removes a handler added with registerHandler() or window.exwsHandlers. */
export declare function unregisterHandler(type: string, fn: ExwsHandler<any>): void;

declare global {
  /**
   * Handlers a page declares before exws.js loads: [type, fn] pairs, registered on every client
   * when the module loads. After that, push() on this array registers at once.
   */
  var exwsHandlers: Array<[string, ExwsHandler<any>]> | undefined;
}
