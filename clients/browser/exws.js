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

/** The four connection states, in the order a first successful connection goes through them. */
export const STATES = Object.freeze(["connecting", "online", "offline", "error"]);

/** Defaults of every option; `backoff` is merged field by field. */
export const DEFAULT_OPTIONS = Object.freeze({
  reconnect: true,
  backoff: Object.freeze({ initialMs: 250, maxMs: 10000, factor: 2, minUptimeMs: 5000 }),
  callTimeoutMs: 30000,
  maxQueue: 1000,
  protocols: undefined,
  autoConnect: true,
  WebSocket: undefined,
  onError: undefined,
});

const WS_OPEN = 1;

/**
 * A failed call, or a frame the client could not use. `code` is one of the protocol's stable
 * codes (from an Error envelope) or one of the client's own: "timeout", "disconnected",
 * "closed", "queue_full", and, for ignored frames, "invalid_json", "invalid_envelope",
 * "unsupported_frame".
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
  if (context.kind === "handler" || context.kind === "state") {
    if (typeof globalThis.reportError === "function") globalThis.reportError(error);
    else console.error("exws: a handler or state listener threw", error);
  } else {
    console.warn("exws: ignored a frame from the server:", error && error.message);
  }
}

/** A WebSocket client speaking the exws envelope protocol. */
export class ExwsClient {
  #url;
  #options;
  #backoff;
  #socket = null;
  #state = "offline";
  #stateGeneration = 0;
  #handlers = new Map();
  #stateListeners = new Set();
  #pending = new Map();
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
    this.#queue = [];
    if (wasActive || this.#state !== "offline") {
      this.#setState("offline", { previous: this.#state, attempt: this.#attempt, closed: true, code, reason });
    }
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

  // -------------------------------------------------------------------------------------------

  #open() {
    this.#clearTimers();
    const previous = this.#state;
    let socket;
    try {
      const url = resolveUrl(typeof this.#url === "function" ? this.#url() : this.#url);
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
    const info = { previous, attempt: this.#attempt, ...details };
    if (this.#options.reconnect) {
      info.retryInMs = this.#scheduleRetry();
    } else {
      this.#stopped = "disconnected";
      this.#rejectPending(() => true, "disconnected", "the connection ended and reconnect is off");
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
      const entry = this.#pending.get(item.id);
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
    // A call that was still queued leaves the queue with its promise.
    this.#queue = this.#queue.filter((item) => item.id === undefined || this.#pending.has(item.id));
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
    const id = envelope.Id;
    if (isValidId(id)) {
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
