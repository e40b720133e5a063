// exws.js: the browser client for the exws wire protocol, version 1.
//
// One dependency-free ES module. A page imports it as is, with no build step:
//
//     <script type="module">
//       import { ExwsClient } from "/static/exws.js";
//       const client = new ExwsClient("/ws");
//       client.on("chat.message", (data) => show(data));
//       const { result } = await client.call("CalculateRequest", { numbers: [2, 2] });
//     </script>
//
// Wire format (shared/PROTOCOL.md): one JSON object per text frame,
// {"Type": string, "Data"?: any, "Id"?: string | integer}.
//
// Behaviour, in short (README.md beside this file has the long version):
// - The constructor starts connecting in a microtask, so handlers and state listeners
//   registered in the same synchronous turn see everything, including the first "connecting".
// - call() sends a fresh integer Id and settles on the first reply with that Id: resolves with
//   its Data, rejects with an ExwsError when the reply is an Error envelope, on timeout
//   ("timeout"), when the connection drops after the request went out ("disconnected"), when
//   the client is closed ("closed") and when the send queue is full ("queue_full").
// - send() and call() made while not connected are queued (at most `maxQueue` messages, 1000 by
//   default) and flushed, in order, as soon as a connection opens. Past the bound the new message
//   is refused: send() returns false, call() rejects with "queue_full". Nothing queued is dropped.
// - Every well-formed incoming envelope goes to the on(Type) handlers, then to on("*") handlers,
//   including replies that also settled a call. A handler that throws does not stop the others.
// - Frames that are not a JSON object with a string Type are ignored and reported to
//   options.onError; nothing is thrown out of the socket's event handlers.
// - Connection states, reported by onState(): "connecting", "online", "offline", "error".
// - Reconnection: exponential backoff with full jitter; handlers and listeners survive it.
// - stream() sends a request with a fresh Id and returns an ExwsStream: an async iterable of the
//   items' Data until StreamEnd (or a callback form). break/return()/cancel() send StreamCancel;
//   an Error envelope fails the stream with its code; a lost connection fails open streams with
//   "disconnected" (no resubscription); a reader that lets `streamBufferSize` items wait
//   unread fails with "overflow" and the stream is cancelled.
// - watchPresence(room) opens the server's built-in presence watch (servers with presence on):
//   a PresenceState, then PresenceDiffs, applied into an ExwsPresence (one entry per user, a
//   meta per connection); presence(room) reads the state once.
// - Connection recovery (option `recover: true`, off by default): the client asks the server
//   for a recoverable session, keeps the last position (Pos) it got in each room, and presents
//   them when it reconnects; the server then replays what it missed, as ordinary envelopes,
//   before new ones. onRecovered() reports each (re)connection: { resumed, complete, gaps }.

/** The four connection states, in the order a first successful connection goes through them. */
export const STATES = Object.freeze(["connecting", "online", "offline", "error"]);

/** Defaults of every option; `backoff` is merged field by field. */
export const DEFAULT_OPTIONS = Object.freeze({
  reconnect: true,
  backoff: Object.freeze({ initialMs: 250, maxMs: 10000, factor: 2, minUptimeMs: 5000 }),
  callTimeoutMs: 30000,
  maxQueue: 1000,
  streamBufferSize: 1000,
  protocols: undefined,
  autoConnect: true,
  WebSocket: undefined,
  onError: undefined,
  recover: false,
});

/** The Type of the frame in which the server tells a recovering client its session. */
export const SESSION_TYPE = "exws.session";

const WS_OPEN = 1;

/**
 * A failed call or stream, or a frame the client could not use. `code` is one of the protocol's
 * stable codes (from an Error envelope) or one of the client's own: "timeout", "disconnected",
 * "closed", "queue_full", "overflow" (a stream read too slowly), and, for ignored frames,
 * "invalid_json", "invalid_envelope", "unsupported_frame".
 */
export class ExwsError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{type?: string, id?: string | number, data?: unknown}} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = "ExwsError";
    this.code = code;
    this.type = details.type;
    this.id = details.id;
    this.data = details.data;
  }
}

// ---------------------------------------------------------------------------------------------
// Global handler registry: handlers every client calls, like the client's own on() handlers.
// A page can fill it before this module loads:
//     <script>window.exwsHandlers = [["chat.message", (data) => show(data)]];</script>
// On load the entries are registered and the array's push() is patched so that later
// `window.exwsHandlers.push([type, fn])` registers at once. An array assigned to
// window.exwsHandlers after load is adopted when the next client is constructed or connects.

const globalHandlers = new Map();
const ADOPTED = Symbol.for("exws.adopted");

function checkType(type) {
  if (typeof type !== "string" || type === "") {
    throw new TypeError(`exws: a message type must be a non-empty string, got ${describe(type)}`);
  }
}

function checkHandler(fn) {
  if (typeof fn !== "function") {
    throw new TypeError(`exws: a handler must be a function, got ${describe(fn)}`);
  }
}

function describe(value) {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  return typeof value;
}

function addHandler(map, type, fn) {
  checkType(type);
  checkHandler(fn);
  let set = map.get(type);
  if (!set) map.set(type, (set = new Set()));
  set.add(fn);
}

function removeHandler(map, type, fn) {
  const set = map.get(type);
  if (set && set.delete(fn) && set.size === 0) map.delete(type);
}

/**
 * Registers `fn` for envelopes of `type` on every client, existing and future ("*" for all).
 * @returns {() => void} a function that unregisters it
 */
export function registerHandler(type, fn) {
  addHandler(globalHandlers, type, fn);
  return () => unregisterHandler(type, fn);
}

/** Removes a handler added with registerHandler() or window.exwsHandlers. */
export function unregisterHandler(type, fn) {
  removeHandler(globalHandlers, type, fn);
}

function registerEntry(entry) {
  if (Array.isArray(entry) && typeof entry[0] === "string" && entry[0] !== "" && typeof entry[1] === "function") {
    addHandler(globalHandlers, entry[0], entry[1]);
  } else {
    console.warn("exws: ignored a window.exwsHandlers entry; expected [type, fn]", entry);
  }
}

function adoptPreloadedHandlers() {
  let list = globalThis.exwsHandlers;
  if (list === undefined || list === null) {
    list = [];
    try {
      globalThis.exwsHandlers = list;
    } catch {
      return;
    }
  }
  if (!Array.isArray(list) || list[ADOPTED] || !Object.isExtensible(list)) return;
  for (const entry of list) registerEntry(entry);
  Object.defineProperty(list, ADOPTED, { value: true });
  Object.defineProperty(list, "push", {
    configurable: true,
    writable: true,
    value: function push(...entries) {
      for (const entry of entries) registerEntry(entry);
      return Array.prototype.push.apply(this, entries);
    },
  });
}

// Options given as undefined take the default, as if absent.
function mergeOptions(options) {
  const merged = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(options || {})) {
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

adoptPreloadedHandlers();

// ---------------------------------------------------------------------------------------------

function resolveUrl(url) {
  const base = globalThis.location && globalThis.location.href;
  const resolved = base === undefined ? new URL(String(url)) : new URL(String(url), base);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  else if (resolved.protocol === "https:") resolved.protocol = "wss:";
  resolved.hash = "";
  return resolved.href;
}

function encode(type, data, id) {
  const envelope = { Type: type };
  if (data !== undefined) envelope.Data = data;
  if (id !== undefined) envelope.Id = id;
  return JSON.stringify(envelope);
}

function isValidId(id) {
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}

function errorFromEnvelope(envelope, requestType, id) {
  const data = envelope.Data;
  const fields = data !== null && typeof data === "object" ? data : {};
  const code = typeof fields.code === "string" ? fields.code : "unknown_error";
  const message = typeof fields.message === "string" ? fields.message : `${requestType} failed (${code})`;
  const type = typeof fields.type === "string" ? fields.type : requestType;
  return new ExwsError(code, message, { type, id, data });
}

function mergeBackoff(backoff) {
  const merged = { ...DEFAULT_OPTIONS.backoff };
  for (const [key, value] of Object.entries(backoff || {})) {
    if (value !== undefined) merged[key] = value;
  }
  const { initialMs, maxMs, factor, minUptimeMs } = merged;
  if (!(initialMs > 0) || !(maxMs >= initialMs) || !(factor >= 1) || !(minUptimeMs >= 0)) {
    throw new RangeError(
      "exws: backoff needs initialMs > 0, maxMs >= initialMs, factor >= 1 and minUptimeMs >= 0",
    );
  }
  return merged;
}

function defaultOnError(error, context) {
  if (context.kind === "handler" || context.kind === "state" || context.kind === "stream") {
    if (typeof globalThis.reportError === "function") globalThis.reportError(error);
    else console.error("exws: a handler, state listener or stream callback threw (or a stream without onError failed)", error);
  } else {
    console.warn("exws: ignored a frame from the server:", error && error.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Streams. The client feeds each ExwsStream through a controller kept out of the public API.

const streamControllers = new WeakMap();

/**
 * The items of one stream: an async iterable of each item's Data (`for await`), ended by the
 * server's StreamEnd. Returned by client.stream(); with callbacks, items go to onItem instead.
 */
export class ExwsStream {
  #id;
  #type;
  #callbacks;
  #bufferSize;
  #cancel;
  #report;
  #state = "open"; // "open", "ended" (StreamEnd or cancelled) or "failed"
  #buffer = [];
  #waiters = [];
  #error = null;

  /** @internal Created by ExwsClient.stream(). */
  constructor(id, type, hooks) {
    if (!hooks || typeof hooks.cancel !== "function") {
      throw new TypeError("exws: ExwsStream is created by client.stream()");
    }
    this.#id = id;
    this.#type = type;
    this.#callbacks = hooks.callbacks;
    this.#bufferSize = hooks.bufferSize;
    this.#cancel = hooks.cancel;
    this.#report = hooks.report;
    streamControllers.set(this, {
      push: (data, envelope) => this.#push(data, envelope),
      finish: (error) => this.#finish(error),
      bufferSize: this.#bufferSize,
    });
  }

  /** The Id of the request that opened the stream (carried by every item). */
  get id() {
    return this.#id;
  }

  /** The request's Type. */
  get type() {
    return this.#type;
  }

  /** Whether the stream is still open (not ended, failed or cancelled). */
  get open() {
    return this.#state === "open";
  }

  /**
   * Ends the stream now: sends StreamCancel (when the request went out) and drops items not
   * read yet; a pending next() resolves as done. No callback is called after it.
   * @returns {Promise<void>} settles (never rejects) when the server confirmed with StreamEnd,
   *   or at once when there is nothing to wait for.
   */
  cancel() {
    if (this.#state !== "open") return Promise.resolve();
    this.#state = "ended";
    this.#buffer = [];
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    return this.#cancel();
  }

  /** The next item's Data; rejects with an ExwsError once when the stream fails. */
  next() {
    if (this.#callbacks !== undefined) {
      return Promise.reject(new TypeError("exws: a stream with callbacks is not iterated"));
    }
    if (this.#buffer.length > 0) return Promise.resolve({ value: this.#buffer.shift(), done: false });
    if (this.#error !== null) {
      const error = this.#error;
      this.#error = null;
      return Promise.reject(error);
    }
    if (this.#state !== "open") return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Called by `break` (and `return`) in `for await`: cancels the stream. */
  return() {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  // An item arrived; false when the buffer is full (the client then fails and cancels).
  #push(data, envelope) {
    if (this.#state !== "open") return true;
    if (this.#callbacks !== undefined) {
      this.#call("onItem", data, envelope, this);
      return true;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ value: data, done: false });
      return true;
    }
    if (this.#buffer.length >= this.#bufferSize) return false;
    this.#buffer.push(data);
    return true;
  }

  // The stream ended (error null: StreamEnd) or failed.
  #finish(error) {
    if (this.#state !== "open") return;
    this.#state = error === null ? "ended" : "failed";
    if (this.#callbacks !== undefined) {
      if (error === null) this.#call("onEnd");
      else if (typeof this.#callbacks.onError === "function") this.#call("onError", error);
      else this.#report(error, { kind: "stream", type: this.#type, id: this.#id });
      return;
    }
    const waiters = this.#waiters.splice(0);
    if (error !== null) {
      const first = waiters.shift();
      if (first !== undefined) first.reject(error);
      else this.#error = error;
    }
    for (const waiter of waiters) waiter.resolve({ value: undefined, done: true });
  }

  #call(name, ...args) {
    const fn = this.#callbacks[name];
    if (typeof fn !== "function") return;
    try {
      const result = fn(...args);
      if (result !== null && typeof result === "object" && typeof result.then === "function") {
        result.then(undefined, (error) => this.#report(error, { kind: "stream", type: this.#type, id: this.#id }));
      }
    } catch (error) {
      this.#report(error, { kind: "stream", type: this.#type, id: this.#id });
    }
  }
}

/** A WebSocket client speaking the exws envelope protocol. */
/** The key of a presence entry: its user, or its one connection when it has no user. */
function presenceKey(entry) {
  if (entry.user !== null && entry.user !== undefined) return `u:${entry.user}`;
  const first = Array.isArray(entry.metas) && entry.metas.length > 0 ? entry.metas[0] : undefined;
  return `c:${first ? first.connection : ""}`;
}

/**
 * A room's presence as a watcher keeps it: one entry per user ({user, metas: [{connection,
 * meta}]}), one per connection without a user (user null). applyState() replaces it,
 * applyDiff() applies a PresenceDiff's leaves then joins. Applying is idempotent: a join of a
 * connection already present replaces its meta, a leave of one not present changes nothing.
 */
export class ExwsPresence {
  #entries = new Map();

  /** Replaces everything with a PresenceState's entries. */
  applyState(state) {
    this.#entries.clear();
    for (const entry of (state && state.presences) || []) this.#join(entry);
  }

  /**
   * Applies a PresenceDiff; returns the entries that arrived (a user's first connection) and
   * those that left (a user's last connection): {joined, left}.
   */
  applyDiff(diff) {
    // Copies: a left entry is reported as it was, with the metas it had.
    const before = new Map([...this.#entries].map(([key, entry]) => [key, { user: entry.user, metas: entry.metas.map((meta) => ({ ...meta })) }]));
    for (const entry of (diff && diff.leaves) || []) this.#leave(entry);
    for (const entry of (diff && diff.joins) || []) this.#join(entry);
    const joined = [...this.#entries].filter(([key]) => !before.has(key)).map(([, entry]) => entry);
    const left = [...before].filter(([key]) => !this.#entries.has(key)).map(([, entry]) => entry);
    return { joined, left };
  }

  /** The entries: users first (by id), then connections without a user (by id). */
  list() {
    return [...this.#entries]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, entry]) => ({ user: entry.user, metas: entry.metas.map((meta) => ({ ...meta })) }));
  }

  /** The entry of user `id`, if present. */
  user(id) {
    const entry = this.#entries.get(`u:${id}`);
    return entry ? { user: entry.user, metas: entry.metas.map((meta) => ({ ...meta })) } : undefined;
  }

  /** Every connection present, sorted. */
  connections() {
    return [...this.#entries.values()].flatMap((entry) => entry.metas.map((meta) => meta.connection)).sort();
  }

  /** How many entries are present. */
  get size() {
    return this.#entries.size;
  }

  #join(entry) {
    if (!entry || !Array.isArray(entry.metas) || entry.metas.length === 0) return;
    const key = presenceKey(entry);
    let present = this.#entries.get(key);
    if (!present) {
      present = { user: entry.user === undefined ? null : entry.user, metas: [] };
      this.#entries.set(key, present);
    }
    for (const meta of entry.metas) {
      present.metas = present.metas.filter((known) => known.connection !== meta.connection);
      present.metas.push({ connection: meta.connection, meta: meta.meta === undefined ? null : meta.meta });
    }
    present.metas.sort((a, b) => (a.connection < b.connection ? -1 : a.connection > b.connection ? 1 : 0));
  }

  #leave(entry) {
    if (!entry || !Array.isArray(entry.metas)) return;
    const key = presenceKey(entry);
    const present = this.#entries.get(key);
    if (!present) return;
    const leaving = new Set(entry.metas.map((meta) => meta.connection));
    present.metas = present.metas.filter((known) => !leaving.has(known.connection));
    if (present.metas.length === 0) this.#entries.delete(key);
  }
}

export class ExwsClient {
  #url;
  #options;
  #backoff;
  #socket = null;
  #state = "offline";
  #stateGeneration = 0;
  #handlers = new Map();
  #answerers = new Map();
  #stateListeners = new Set();
  #recoveredListeners = new Set();
  // With `recover`: { id, token, positions: Map(room -> [epoch, seq]) } once the server sent it.
  #session = null;
  #pending = new Map();
  #streams = new Map();
  #queue = [];
  #nextId = 1;
  #attempt = 0;
  #retryTimer = null;
  #uptimeTimer = null;
  #started = false;
  #stopped = null;
  #onNetworkOnline = () => {
    if (this.#retryTimer !== null) this.#open();
  };

  /**
   * @param {string | URL | (() => string | URL)} url ws:, wss:, http:, https: or relative to the
   *   page; a function is called before every connection attempt (e.g. to put a fresh token in
   *   the query string).
   * @param {object} [options] see DEFAULT_OPTIONS and exws.d.ts
   */
  constructor(url, options = {}) {
    if (typeof url !== "function") resolveUrl(url); // throws a TypeError now for a malformed URL
    this.#url = url;
    this.#options = mergeOptions(options);
    this.#backoff = mergeBackoff(this.#options.backoff);
    const { maxQueue, callTimeoutMs } = this.#options;
    if (!(Number.isInteger(maxQueue) && maxQueue >= 0)) {
      throw new RangeError("exws: maxQueue must be an integer >= 0");
    }
    if (!(callTimeoutMs >= 0)) throw new RangeError("exws: callTimeoutMs must be >= 0 (0: none)");
    if (!isBufferSize(this.#options.streamBufferSize)) {
      throw new RangeError("exws: streamBufferSize must be an integer >= 1");
    }
    adoptPreloadedHandlers();
    if (this.#options.autoConnect) {
      queueMicrotask(() => {
        if (!this.#started) this.connect();
      });
    }
  }

  /** The current connection state: "connecting", "online", "offline" or "error". */
  get state() {
    return this.#state;
  }

  /**
   * Starts connecting (done for you unless `autoConnect: false`). Also reconnects a client that
   * was closed, and retries at once when it is waiting out a backoff delay. No-op while a socket
   * is connecting or open.
   * @returns {this}
   */
  connect() {
    this.#started = true;
    if (this.#socket !== null) return this;
    this.#stopped = null;
    adoptPreloadedHandlers();
    if (typeof globalThis.addEventListener === "function") {
      globalThis.addEventListener("online", this.#onNetworkOnline);
    }
    this.#open();
    return this;
  }

  /**
   * Closes the connection and stops reconnecting. Calls still waiting (sent or queued) reject
   * with code "closed" and queued sends are dropped. connect() starts the client again.
   * @param {number} [code=1000] 1000 or 3000-4999
   * @param {string} [reason]
   */
  close(code = 1000, reason = "") {
    const socket = this.#socket;
    const wasActive = socket !== null || this.#retryTimer !== null;
    if (socket !== null) {
      socket.close(code, reason); // throws for an invalid code or reason, before anything changes
      detach(socket);
    }
    this.#started = true;
    this.#socket = null;
    this.#stopped = "closed";
    this.#clearTimers();
    if (typeof globalThis.removeEventListener === "function") {
      globalThis.removeEventListener("online", this.#onNetworkOnline);
    }
    this.#rejectPending(() => true, "closed", "the client was closed");
    this.#failStreams(() => true, "closed", "the client was closed");
    this.#queue = [];
    this.#session = null; // a close on purpose ends the session
    if (wasActive || this.#state !== "offline") {
      this.#setState("offline", { previous: this.#state, attempt: this.#attempt, closed: true, code, reason });
    }
  }

  /**
   * Answers the server's calls of `type` (`Connection::call` on the server): `fn(data, envelope,
   * client)` returns the answer's Data, or a promise of it; a throw or a rejection refuses the
   * call with code "handler_error" and the error's message. A call of a type without an answerer
   * is refused with "unknown_type". One answerer per type: a second replaces the first.
   * @returns {() => void} removes the answerer
   */
  answer(type, fn) {
    checkType(type);
    if (typeof fn !== "function") throw new TypeError("exws: answer(type, fn) needs a function");
    this.#answerers.set(type, fn);
    return () => {
      if (this.#answerers.get(type) === fn) this.#answerers.delete(type);
    };
  }

  /**
   * Sends one envelope without waiting for anything. Queued while not connected.
   * @returns {boolean} true when sent or queued; false when refused: the queue is full, or the
   *   client is closed (close(), or the connection ended with `reconnect: false`).
   * @throws {TypeError} for an invalid type or data JSON.stringify cannot encode
   */
  send(type, data) {
    checkType(type);
    return this.#transmitOrQueue({ frame: encode(type, data), id: undefined });
  }

  /**
   * Sends a request with a fresh Id and settles on the first reply carrying that Id.
   * @param {string} type
   * @param {unknown} [data]
   * @param {{timeoutMs?: number}} [options] timeoutMs overrides `callTimeoutMs` (0: none)
   * @returns {Promise<unknown>} the reply's Data
   */
  call(type, data, options = {}) {
    return new Promise((resolve, reject) => {
      checkType(type);
      const timeoutMs = options.timeoutMs === undefined ? this.#options.callTimeoutMs : options.timeoutMs;
      if (!(timeoutMs >= 0)) throw new RangeError("exws: timeoutMs must be >= 0 (0: none)");
      const id = this.#nextId++;
      const frame = encode(type, data, id);
      if (this.#stopped !== null) {
        reject(new ExwsError(this.#stopped, `${type}: the client is not connected and will not reconnect`, { type, id }));
        return;
      }
      const entry = { resolve, reject, type, sent: false, timer: null };
      this.#pending.set(id, entry);
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        entry.timer = setTimeout(() => {
          this.#pending.delete(id);
          this.#queue = this.#queue.filter((item) => item.id !== id);
          reject(new ExwsError("timeout", `no reply to ${type} (Id ${id}) within ${timeoutMs} ms`, { type, id }));
        }, Math.min(timeoutMs, 2147483647));
      }
      if (!this.#transmitOrQueue({ frame, id })) {
        clearTimeout(entry.timer);
        this.#pending.delete(id);
        reject(new ExwsError("queue_full", `${type}: the send queue is full (${this.#options.maxQueue} messages)`, { type, id }));
      }
    });
  }

  /**
   * Opens a stream: sends a request with a fresh Id; the server answers with items carrying it,
   * then StreamEnd. Returns an ExwsStream, async iterable over the items' Data (`for await`;
   * `break` cancels). With `onItem`/`onEnd`/`onError` callbacks, items go to onItem instead.
   * Queued like call() while not connected.
   * @param {string} type
   * @param {unknown} [data]
   * @param {{onItem?: Function, onEnd?: Function, onError?: Function, bufferSize?: number}} [options]
   * @returns {ExwsStream}
   */
  stream(type, data, options = {}) {
    checkType(type);
    const callbacks = ["onItem", "onEnd", "onError"].some((name) => options[name] !== undefined)
      ? { onItem: options.onItem, onEnd: options.onEnd, onError: options.onError }
      : undefined;
    if (callbacks !== undefined) Object.values(callbacks).forEach((fn) => fn === undefined || checkHandler(fn));
    const bufferSize = options.bufferSize === undefined ? this.#options.streamBufferSize : options.bufferSize;
    if (!isBufferSize(bufferSize)) throw new RangeError("exws: bufferSize must be an integer >= 1");
    const id = this.#nextId++;
    const frame = encode(type, data, id);
    const stream = new ExwsStream(id, type, {
      callbacks,
      bufferSize,
      cancel: () => this.#cancelStream(id),
      report: (error, context) => this.#report(error, context),
    });
    const controller = streamControllers.get(stream);
    if (this.#stopped !== null) {
      const error = new ExwsError(this.#stopped, `${type}: the client is not connected and will not reconnect`, { type, id });
      queueMicrotask(() => controller.finish(error));
      return stream;
    }
    this.#streams.set(id, { controller, type, sent: false, cancelling: null });
    if (!this.#transmitOrQueue({ frame, id })) {
      this.#streams.delete(id);
      const error = new ExwsError("queue_full", `${type}: the send queue is full (${this.#options.maxQueue} messages)`, { type, id });
      queueMicrotask(() => controller.finish(error));
    }
    return stream;
  }

  /**
   * Watches the presence of `room` (servers with presence on): the server answers with its
   * state, then a diff per change, applied into `watch.presence` (an ExwsPresence).
   * `onChange(presence, change)` is called after each: change is {kind: "state" | "diff",
   * joined, left, diff}. The watch ends with `onEnd` (cancelled, or the server ended it: e.g.
   * this connection left the room) or `onError` (an Error envelope, such as "unauthorized"
   * when the connection may not watch the room or "unknown_type" when presence is off; a lost
   * connection). Returns {room, presence, stream, cancel()}.
   * @param {string} room
   * @param {{onChange?: Function, onEnd?: Function, onError?: Function}} [options]
   */
  watchPresence(room, options = {}) {
    if (typeof room !== "string") throw new TypeError("exws: watchPresence needs a room name (a string)");
    for (const name of ["onChange", "onEnd", "onError"]) {
      if (options[name] !== undefined) checkHandler(options[name]);
    }
    const presence = new ExwsPresence();
    const stream = this.stream("PresenceWatch", { room }, {
      onItem: (data, envelope) => {
        let change;
        if (envelope.Type === "PresenceState") {
          presence.applyState(data);
          change = { kind: "state", joined: presence.list(), left: [], diff: undefined };
        } else if (envelope.Type === "PresenceDiff") {
          change = { kind: "diff", ...presence.applyDiff(data), diff: data };
        } else {
          return;
        }
        if (options.onChange) return options.onChange(presence, change);
      },
      onEnd: () => options.onEnd && options.onEnd(),
      onError: (error) => {
        if (options.onError) return options.onError(error);
        this.#report(error, { kind: "stream", type: "PresenceWatch", id: stream.id });
      },
    });
    return { room, presence, stream, cancel: () => stream.cancel() };
  }

  /**
   * The presence of `room` now: resolves with its entries (see ExwsPresence.list()), from a
   * watch that is cancelled once its state arrived; rejects as a watch fails.
   * @param {string} room
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<Array<{user: string | null, metas: Array<{connection: string, meta: unknown}>}>>}
   */
  presence(room, options = {}) {
    const timeoutMs = options.timeoutMs === undefined ? this.#options.callTimeoutMs : options.timeoutMs;
    return new Promise((resolve, reject) => {
      let timer;
      const watch = this.watchPresence(room, {
        onChange: (presence) => {
          clearTimeout(timer);
          watch.cancel();
          resolve(presence.list());
        },
        onEnd: () => {
          clearTimeout(timer);
          reject(new ExwsError("closed", `PresenceWatch: the watch of ${room} ended before its state`, { type: "PresenceWatch" }));
        },
        onError: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      if (typeof timeoutMs === "number" && timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          watch.cancel();
          reject(new ExwsError("timeout", `PresenceWatch: no state for ${room} within ${timeoutMs} ms`, { type: "PresenceWatch" }));
        }, timeoutMs);
      }
    });
  }

  /**
   * Registers `fn(data, envelope, client)` for incoming envelopes of `type`; "*" for every
   * envelope. Registering the same function twice for one type has no effect.
   * @returns {() => void} a function that unregisters it
   */
  on(type, fn) {
    addHandler(this.#handlers, type, fn);
    return () => this.off(type, fn);
  }

  /** Removes a handler added with on(). */
  off(type, fn) {
    removeHandler(this.#handlers, type, fn);
  }

  /**
   * Registers `fn(state, info)`, called on every change of `state`. Not called for the state
   * the client is in when it registers (read `client.state` for that).
   * @returns {() => void} a function that unregisters it
   */
  onState(fn) {
    checkHandler(fn);
    this.#stateListeners.add(fn);
    return () => this.offState(fn);
  }

  /** Removes a listener added with onState(). */
  offState(fn) {
    this.#stateListeners.delete(fn);
  }

  /**
   * With `recover: true`: registers `fn(info)`, called each time the server tells the session
   * of a (re)connection: `info` is { connection, resumed, complete, reason, gaps }. After a
   * reconnection, `complete` means every missed message follows (as ordinary envelopes, before
   * new ones); otherwise `gaps` ([{ room, reason }]) names the rooms to refetch.
   * @returns {() => void} a function that unregisters it
   */
  onRecovered(fn) {
    checkHandler(fn);
    this.#recoveredListeners.add(fn);
    return () => this.offRecovered(fn);
  }

  /** Removes a listener added with onRecovered(). */
  offRecovered(fn) {
    this.#recoveredListeners.delete(fn);
  }

  // -------------------------------------------------------------------------------------------

  #open() {
    this.#clearTimers();
    const previous = this.#state;
    let socket;
    try {
      const url = this.#withRecovery(resolveUrl(typeof this.#url === "function" ? this.#url() : this.#url));
      const WebSocketImpl = this.#options.WebSocket || globalThis.WebSocket;
      if (typeof WebSocketImpl !== "function") {
        throw new TypeError("exws: no WebSocket implementation (pass options.WebSocket)");
      }
      const protocols = this.#options.protocols;
      socket = protocols === undefined ? new WebSocketImpl(url) : new WebSocketImpl(url, protocols);
    } catch (error) {
      this.#afterConnection(false, { error });
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      opened = true;
      this.#afterOpen();
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#receive(event.data);
    };
    // The close event that always follows an error event carries what happened.
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      detach(socket);
      this.#afterConnection(opened, { code: event.code, reason: event.reason, wasClean: event.wasClean });
    };
    this.#setState("connecting", { previous, attempt: this.#attempt });
  }

  // The URL with the recovery parameters: a new session, or the resume of the one known.
  #withRecovery(href) {
    if (!this.#options.recover) return href;
    const url = new URL(href);
    const session = this.#session;
    if (session === null) {
      url.searchParams.set("exws_recover", "1");
    } else {
      url.searchParams.set("exws_recover", session.token);
      url.searchParams.set("exws_id", session.id);
      url.searchParams.set("exws_since", JSON.stringify(Object.fromEntries(session.positions)));
    }
    return url.href;
  }

  // Learns the session and the rooms' positions from an incoming envelope (with `recover`).
  #observeRecovery(envelope, data) {
    if (envelope.Type === SESSION_TYPE) {
      if (data === null || typeof data !== "object" || typeof data.token !== "string") return;
      const gaps = Array.isArray(data.gaps) ? data.gaps : [];
      const positions = data.resumed === true && this.#session !== null ? this.#session.positions : new Map();
      for (const gap of gaps) positions.delete(gap && gap.room);
      this.#session = { id: String(data.connection), token: data.token, positions };
      const info = {
        connection: String(data.connection),
        resumed: data.resumed === true,
        complete: data.complete === true,
        reason: typeof data.reason === "string" ? data.reason : undefined,
        gaps,
      };
      for (const fn of [...this.#recoveredListeners]) {
        try {
          fn(info);
        } catch (error) {
          this.#report(error, { kind: "handler", type: SESSION_TYPE, envelope });
        }
      }
      return;
    }
    const pos = envelope.Pos;
    if (this.#session !== null && pos !== null && typeof pos === "object" && typeof pos.room === "string" &&
        typeof pos.epoch === "string" && Number.isSafeInteger(pos.seq)) {
      this.#session.positions.set(pos.room, [pos.epoch, pos.seq]);
    }
  }

  #afterOpen() {
    const previous = this.#state;
    this.#uptimeTimer = setTimeout(() => {
      this.#uptimeTimer = null;
      this.#attempt = 0;
    }, this.#backoff.minUptimeMs);
    this.#flush();
    this.#setState("online", { previous, attempt: this.#attempt });
  }

  // The connection ended (opened: it had been online) or an attempt failed.
  #afterConnection(opened, details) {
    const previous = this.#state;
    if (this.#uptimeTimer !== null) {
      clearTimeout(this.#uptimeTimer);
      this.#uptimeTimer = null;
    }
    this.#rejectPending((entry) => entry.sent, "disconnected", "the connection was lost before the reply arrived");
    this.#failStreams((entry) => entry.sent, "disconnected", "the connection was lost; the stream ended (open it again)");
    const info = { previous, attempt: this.#attempt, ...details };
    if (this.#options.reconnect) {
      info.retryInMs = this.#scheduleRetry();
    } else {
      this.#stopped = "disconnected";
      this.#rejectPending(() => true, "disconnected", "the connection ended and reconnect is off");
      this.#failStreams(() => true, "disconnected", "the connection ended and reconnect is off");
      this.#queue = [];
    }
    this.#setState(opened ? "offline" : "error", info);
  }

  #scheduleRetry() {
    const { initialMs, maxMs, factor } = this.#backoff;
    const cap = Math.min(maxMs, initialMs * Math.pow(factor, this.#attempt));
    const delay = Math.floor(Math.random() * cap); // full jitter: uniform in [0, cap)
    this.#attempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delay);
    return delay;
  }

  #clearTimers() {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    if (this.#uptimeTimer !== null) clearTimeout(this.#uptimeTimer);
    this.#retryTimer = null;
    this.#uptimeTimer = null;
  }

  #isOpen() {
    return this.#socket !== null && this.#socket.readyState === WS_OPEN;
  }

  #transmitOrQueue(item) {
    if (this.#stopped !== null) return false;
    if (this.#isOpen()) {
      this.#flush();
      if (this.#queue.length === 0 && this.#transmit(item)) return true;
    }
    if (this.#queue.length >= this.#options.maxQueue) return false;
    this.#queue.push(item);
    return true;
  }

  #transmit(item) {
    try {
      this.#socket.send(item.frame);
    } catch {
      return false;
    }
    if (item.id !== undefined) {
      const entry = this.#pending.get(item.id) || this.#streams.get(item.id);
      if (entry) entry.sent = true;
    }
    return true;
  }

  #flush() {
    while (this.#queue.length > 0 && this.#isOpen()) {
      if (!this.#transmit(this.#queue[0])) break;
      this.#queue.shift();
    }
  }

  #rejectPending(predicate, code, reason) {
    for (const [id, entry] of [...this.#pending]) {
      if (!predicate(entry)) continue;
      this.#pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new ExwsError(code, `${entry.type} (Id ${id}): ${reason}`, { type: entry.type, id }));
    }
    this.#dropOrphans();
  }

  // A call or stream that was still queued leaves the queue with its promise or stream.
  #dropOrphans() {
    this.#queue = this.#queue.filter(
      (item) => item.id === undefined || this.#pending.has(item.id) || this.#streams.has(item.id),
    );
  }

  #failStreams(predicate, code, reason) {
    for (const [id, entry] of [...this.#streams]) {
      if (!predicate(entry)) continue;
      this.#streams.delete(id);
      entry.controller.finish(new ExwsError(code, `${entry.type} (Id ${id}): ${reason}`, { type: entry.type, id }));
      if (entry.cancelling !== null) entry.cancelling.resolve();
    }
    this.#dropOrphans();
  }

  // The reader cancelled stream `id`: StreamCancel goes out, and the entry stays until the
  // server's StreamEnd (items meanwhile are dropped).
  #cancelStream(id) {
    const entry = this.#streams.get(id);
    if (entry === undefined) return Promise.resolve();
    if (!entry.sent) {
      this.#streams.delete(id);
      this.#dropOrphans();
      return Promise.resolve();
    }
    if (entry.cancelling === null) {
      let resolve;
      const confirmed = new Promise((settle) => (resolve = settle));
      entry.cancelling = { confirmed, resolve };
      this.#transmitOrQueue({ frame: encode("StreamCancel", undefined, id), id: undefined });
    }
    return entry.cancelling.confirmed;
  }

  #routeStream(id, entry, envelope, data) {
    if (envelope.Type === "StreamEnd" || envelope.Type === "Error") {
      this.#streams.delete(id);
      const error = envelope.Type === "Error" ? errorFromEnvelope(envelope, entry.type, id) : null;
      entry.controller.finish(error);
      if (entry.cancelling !== null) entry.cancelling.resolve();
    } else if (entry.cancelling === null && !entry.controller.push(data, envelope)) {
      const size = entry.controller.bufferSize;
      entry.controller.finish(
        new ExwsError("overflow", `${entry.type} (Id ${id}): ${size} items waited unread; the stream was cancelled`, {
          type: entry.type,
          id,
        }),
      );
      this.#cancelStream(id);
    }
  }

  #receive(raw) {
    let envelope;
    try {
      if (typeof raw !== "string") {
        throw new ExwsError("unsupported_frame", "a binary frame from the server was ignored");
      }
      let value;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        throw new ExwsError("invalid_json", `a frame from the server is not JSON: ${error.message}`);
      }
      if (value === null || typeof value !== "object" || Array.isArray(value) || typeof value.Type !== "string") {
        throw new ExwsError("invalid_envelope", "a frame from the server is not an object with a string Type");
      }
      envelope = value;
    } catch (error) {
      this.#report(error, { kind: "frame", raw });
      return;
    }
    const data = envelope.Data === undefined ? null : envelope.Data;
    if (this.#options.recover) this.#observeRecovery(envelope, data);
    if (Number.isSafeInteger(envelope.Call) && envelope.Call > 0) {
      this.#answerCall(envelope, data);
      return;
    }
    const id = envelope.Id;
    const stream = isValidId(id) ? this.#streams.get(id) : undefined;
    if (stream !== undefined) {
      this.#routeStream(id, stream, envelope, data);
    } else if (isValidId(id)) {
      const entry = this.#pending.get(id);
      if (entry !== undefined) {
        this.#pending.delete(id);
        clearTimeout(entry.timer);
        if (envelope.Type === "Error") entry.reject(errorFromEnvelope(envelope, entry.type, id));
        else entry.resolve(data);
      }
    }
    this.#dispatch(envelope.Type, data, envelope);
  }

  // A call from the server: answered on the socket it came on, never queued for another one
  // (the server's call ends with its connection).
  #answerCall(envelope, data) {
    const socket = this.#socket;
    const call = envelope.Call;
    const fn = this.#answerers.get(envelope.Type);
    const reply = (frame) => {
      if (this.#socket === socket && this.#isOpen()) {
        try {
          socket.send(JSON.stringify(frame));
        } catch (error) {
          this.#report(error, { kind: "answer", type: envelope.Type, envelope });
        }
      }
    };
    const refuse = (code, message) => reply({ Type: "AnswerError", Call: call, Data: { code, message } });
    if (fn === undefined) {
      refuse("unknown_type", `this client does not answer ${JSON.stringify(envelope.Type)}`);
      return;
    }
    new Promise((resolve) => resolve(fn(data, envelope, this))).then(
      (answer) => reply({ Type: "Answer", Call: call, Data: answer === undefined ? null : answer }),
      (error) => refuse("handler_error", error instanceof Error ? error.message : String(error)),
    );
  }

  #dispatch(type, data, envelope) {
    const handlers = [];
    const collect = (map, key) => {
      const set = map.get(key);
      if (set) handlers.push(...set);
    };
    collect(this.#handlers, type);
    collect(globalHandlers, type);
    if (type !== "*") {
      collect(this.#handlers, "*");
      collect(globalHandlers, "*");
    }
    for (const fn of handlers) {
      try {
        const result = fn(data, envelope, this);
        if (result !== null && typeof result === "object" && typeof result.then === "function") {
          result.then(undefined, (error) => this.#report(error, { kind: "handler", type, envelope }));
        }
      } catch (error) {
        this.#report(error, { kind: "handler", type, envelope });
      }
    }
  }

  #report(error, context) {
    const onError = this.#options.onError || defaultOnError;
    try {
      onError(error, context);
    } catch (secondary) {
      console.error("exws: options.onError threw", secondary);
    }
  }

  #setState(state, info) {
    this.#state = state;
    const generation = ++this.#stateGeneration;
    for (const fn of [...this.#stateListeners]) {
      // A listener that changed the state (close(), connect()) already told the rest.
      if (generation !== this.#stateGeneration) return;
      try {
        fn(state, info);
      } catch (error) {
        this.#report(error, { kind: "state", state });
      }
    }
  }
}

function isBufferSize(size) {
  return Number.isInteger(size) && size >= 1;
}

function detach(socket) {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onerror = null;
  socket.onclose = null;
}

/** Shorthand for `new ExwsClient(url, options)`. */
export function connect(url, options) {
  return new ExwsClient(url, options);
}
