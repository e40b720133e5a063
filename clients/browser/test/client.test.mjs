// exws.js in headless Chromium against the real calculator example: calls, correlation,
// Error envelopes, handlers, the send queue, timeouts, close().

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  launchBrowser,
  openPage,
  startCalculator,
  startPageServer,
  unusedPort,
  withTimeout,
} from "./helpers/harness.mjs";

const T = { timeout: 60000 };

describe("exws.js against the calculator example", () => {
  let calculator;
  let pageServer;
  let browser;
  let session;

  before(async () => {
    calculator = await startCalculator();
    pageServer = await startPageServer();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
  }, { timeout: 90000 });

  after(async () => {
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await withTimeout(pageServer?.close(), 10000, "the page server to close");
    await calculator?.kill();
  }, { timeout: 90000 });

  // A fresh page per test; `run(fn, arg)` evaluates fn in it, bounded.
  async function fresh() {
    if (session) await session.close();
    session = await openPage(browser, pageServer);
    return session;
  }
  const run = (fn, arg, ms = 20000) => withTimeout(session.page.evaluate(fn, arg), ms, "page.evaluate");

  test("call resolves with {result: 4} for CalculateRequest {numbers: [2, 2]}", T, async () => {
    await fresh();
    const result = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      try {
        return await window.within(client.call("CalculateRequest", { numbers: [2, 2] }), 10000, "call");
      } finally {
        client.close();
      }
    }, calculator.url);
    assert.deepEqual(result, { result: 4 });
    assert.deepEqual(session.problems, []);
  });

  test("connect() shorthand, autoConnect: false, and http: URLs mapped to ws:", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = window.exws.connect(url.replace("ws:", "http:"), { autoConnect: false });
      const states = [];
      client.onState((state) => states.push(state));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = { state: client.state, states: [...states] };
      const same = client.connect();
      const result = await window.within(client.call("CalculateRequest", { numbers: [40, 2] }), 10000, "call");
      client.close();
      return { before, same: same === client, result, states, after: client.state };
    }, calculator.url);
    assert.deepEqual(outcome.before, { state: "offline", states: [] }, "autoConnect: false does not connect");
    assert.equal(outcome.same, true, "connect() returns the client");
    assert.deepEqual(outcome.result, { result: 42 });
    assert.deepEqual(outcome.states, ["connecting", "online", "offline"]);
    assert.equal(outcome.after, "offline");
  });

  test("concurrent calls get their own replies: Ids correlate", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      const seen = [];
      client.on("*", (_data, envelope) => seen.push(envelope));
      const inputs = Array.from({ length: 25 }, (_, i) => [i, i * 10, -3]);
      const results = await window.within(
        Promise.all(inputs.map((numbers) => client.call("CalculateRequest", { numbers }))),
        10000,
        "25 concurrent calls",
      );
      client.close();
      return { results, ids: seen.map((envelope) => envelope.Id), types: seen.map((e) => e.Type) };
    }, calculator.url);
    assert.deepEqual(
      outcome.results,
      Array.from({ length: 25 }, (_, i) => ({ result: i * 11 - 3 })),
    );
    assert.equal(outcome.ids.length, 25);
    assert.equal(new Set(outcome.ids).size, 25, "every reply carries a distinct Id");
    for (const id of outcome.ids) assert.ok(Number.isInteger(id), `Id ${id} is an integer`);
    assert.ok(outcome.types.every((type) => type === "CalculateResponse"));
  });

  test("an Error envelope rejects the call with ExwsError code unknown_type", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      const errors = [];
      client.on("Error", (data, envelope) => errors.push({ data, envelope }));
      let error = null;
      try {
        await window.within(client.call("NoSuchType", { x: 1 }), 10000, "call");
      } catch (e) {
        error = window.plainError(e);
      }
      // The connection stays usable after an Error.
      const after = await window.within(client.call("CalculateRequest", { numbers: [1] }), 10000, "call");
      client.close();
      return { error, errors, after };
    }, calculator.url);
    assert.ok(outcome.error, "the call rejected");
    assert.equal(outcome.error.isExwsError, true);
    assert.equal(outcome.error.isError, true);
    assert.equal(outcome.error.name, "ExwsError");
    assert.equal(outcome.error.code, "unknown_type");
    assert.equal(outcome.error.type, "NoSuchType");
    assert.equal(typeof outcome.error.message, "string");
    assert.ok(outcome.error.message.length > 0);
    assert.ok(Number.isInteger(outcome.error.id));
    assert.equal(outcome.errors.length, 1, "the Error envelope also reached on('Error')");
    assert.equal(outcome.errors[0].envelope.Id, outcome.error.id);
    assert.equal(outcome.errors[0].data.code, "unknown_type");
    assert.deepEqual(outcome.after, { result: 1 });
  });

  test("handlers registered before connect get server pushes; queued sends flush in order", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      const stateAtStart = client.state;
      const got = [];
      const everything = [];
      let off = 0;
      const removed = () => off++;
      // Registered in the same turn as the constructor, before any socket exists.
      client.on("CalculateResponse", (data, envelope, who) => got.push({ data, envelope, same: who === client }));
      client.on("*", (_data, envelope) => everything.push(envelope.Type));
      client.on("CalculateResponse", removed)();
      // A handler that throws does not keep the others from running.
      const reported = [];
      client.on("CalculateResponse", () => {
        throw new Error("handler bug");
      });
      window.addEventListener("error", (event) => {
        reported.push(event.message);
        event.preventDefault();
      });
      // Fire-and-forget while connecting: queued, then flushed in order once online.
      const queued = [client.send("CalculateRequest", { numbers: [1, 1] }),
        client.send("CalculateRequest", { numbers: [1, 2] }),
        client.send("CalculateRequest", { numbers: [1, 3] })];
      const deadline = Date.now() + 10000;
      while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // A handler added through window.exwsHandlers.push after load registers at once.
      const late = [];
      window.exwsHandlers.push(["CalculateResponse", (data) => late.push(data)]);
      await window.within(client.call("CalculateRequest", { numbers: [5, 5] }), 10000, "call");
      client.close();
      return {
        stateAtStart,
        queued,
        got,
        everything,
        off,
        reported,
        late,
        preloaded: window.preloaded,
      };
    }, calculator.url);
    assert.equal(outcome.stateAtStart, "offline", "nothing connects before the microtask");
    assert.deepEqual(outcome.queued, [true, true, true]);
    assert.deepEqual(outcome.got.slice(0, 3).map((g) => g.data), [{ result: 2 }, { result: 3 }, { result: 4 }]);
    assert.ok(outcome.got.slice(0, 3).every((g) => g.envelope.Type === "CalculateResponse" && g.envelope.Id === undefined));
    assert.ok(outcome.got.every((g) => g.same), "the client is the third argument");
    assert.equal(outcome.got.length, 4, "the call's reply also reached on(type)");
    assert.deepEqual(outcome.got[3].data, { result: 10 });
    assert.deepEqual(outcome.everything, ["CalculateResponse", "CalculateResponse", "CalculateResponse", "CalculateResponse"]);
    assert.equal(outcome.off, 0, "a handler removed with its unregister function is not called");
    assert.equal(outcome.reported.length, 4, "each throw was reported through window 'error' (reportError)");
    assert.match(outcome.reported[0], /handler bug/);
    assert.deepEqual(
      outcome.preloaded.map((p) => p.data),
      [{ result: 2 }, { result: 3 }, { result: 4 }, { result: 10 }],
      "window.exwsHandlers set before exws.js loaded got every CalculateResponse",
    );
    assert.deepEqual(outcome.late, [{ result: 10 }]);
  });

  test("registerHandler() reaches every client; off() stops a handler", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const { ExwsClient, registerHandler } = window.exws;
      const a = new ExwsClient(url);
      const b = new ExwsClient(url);
      const seen = [];
      const unregister = registerHandler("CalculateResponse", (data, _envelope, client) =>
        seen.push([client === a ? "a" : "b", data.result]));
      const fromA = [];
      const handler = (data) => fromA.push(data.result);
      a.on("CalculateResponse", handler);
      await window.within(Promise.all([a.call("CalculateRequest", { numbers: [1] }), b.call("CalculateRequest", { numbers: [2] })]), 10000, "calls");
      unregister();
      a.off("CalculateResponse", handler);
      await window.within(a.call("CalculateRequest", { numbers: [3] }), 10000, "call");
      a.close();
      b.close();
      return { seen: seen.sort(), fromA };
    }, calculator.url);
    assert.deepEqual(outcome.seen, [["a", 1], ["b", 2]]);
    assert.deepEqual(outcome.fromA, [1]);
  });

  test("a call with no reply in time rejects with code timeout", T, async () => {
    await fresh();
    // Stopped (SIGSTOP), the server reads nothing and answers nothing until SIGCONT.
    const own = await startCalculator();
    try {
      await run(async (url) => {
        window.client = new window.exws.ExwsClient(url, { callTimeoutMs: 250 });
        await window.within(window.client.call("CalculateRequest", { numbers: [0] }), 10000, "first call");
      }, own.url);
      await own.pause();
      const outcome = await run(async () => {
        const client = window.client;
        const late = [];
        client.on("CalculateResponse", (data, envelope) => late.push({ data, id: envelope.Id }));
        const started = performance.now();
        let error = null;
        try {
          await window.within(client.call("CalculateRequest", { numbers: [7, 7] }), 10000, "call");
        } catch (e) {
          error = window.plainError(e);
        }
        const elapsed = performance.now() - started;
        let perCall = null;
        const startedPerCall = performance.now();
        try {
          await window.within(client.call("CalculateRequest", { numbers: [8] }, { timeoutMs: 600 }), 10000, "call");
        } catch (e) {
          perCall = { ...window.plainError(e), elapsed: performance.now() - startedPerCall };
        }
        window.late = late;
        return { error, elapsed, perCall, state: client.state };
      });
      own.resume();
      assert.ok(outcome.error, "the call rejected");
      assert.equal(outcome.error.isExwsError, true);
      assert.equal(outcome.error.code, "timeout");
      assert.equal(outcome.error.type, "CalculateRequest");
      assert.ok(outcome.elapsed >= 200 && outcome.elapsed < 5000, `rejected after ${outcome.elapsed} ms`);
      assert.equal(outcome.perCall.code, "timeout");
      assert.ok(outcome.perCall.elapsed >= 550, `per-call timeoutMs honoured (${outcome.perCall.elapsed} ms)`);
      assert.equal(outcome.state, "online", "a timeout does not drop the connection");
      // After SIGCONT the late replies arrive; they go to handlers and break nothing.
      await session.page.waitForFunction(() => window.late.length === 2, null, { timeout: 10000 });
      const late = await run(() => window.late);
      assert.deepEqual(late.map((l) => l.data), [{ result: 14 }, { result: 8 }]);
      assert.equal(late[0].id, outcome.error.id);
      const again = await run(() => window.within(window.client.call("CalculateRequest", { numbers: [2, 3] }), 10000, "call"));
      assert.deepEqual(again, { result: 5 });
      await run(() => window.client.close());
    } finally {
      own.resume();
      await own.kill();
    }
  });

  test("the send queue is bounded; close() stops reconnecting and rejects waiting calls", T, async () => {
    await fresh();
    const port = await unusedPort();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url, { maxQueue: 3, backoff: { initialMs: 20, maxMs: 50 } });
      const states = [];
      client.onState((state) => states.push(state));
      const queuedCall = client.call("CalculateRequest", { numbers: [1] }).then(
        () => null,
        (e) => window.plainError(e),
      );
      const sends = [client.send("A", 1), client.send("B", 2), client.send("C", 3)];
      let overflow = null;
      try {
        await window.within(client.call("CalculateRequest", { numbers: [2] }), 5000, "overflowing call");
      } catch (e) {
        overflow = window.plainError(e);
      }
      await new Promise((resolve) => setTimeout(resolve, 300)); // a few failed attempts
      const errorsBeforeClose = states.filter((s) => s === "error").length;
      client.close();
      const stateAfterClose = client.state;
      const closedCall = await window.within(queuedCall, 5000, "queued call");
      const statesAtClose = states.length;
      const sendAfterClose = client.send("D", 4);
      let callAfterClose = null;
      try {
        await window.within(client.call("CalculateRequest", { numbers: [3] }), 5000, "call after close");
      } catch (e) {
        callAfterClose = window.plainError(e);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      return {
        sends,
        overflow,
        errorsBeforeClose,
        stateAfterClose,
        closedCall,
        sendAfterClose,
        callAfterClose,
        statesAfterClose: states.slice(statesAtClose),
        lastState: states[statesAtClose - 1],
      };
    }, `ws://127.0.0.1:${port}/`);
    // 1 queued call + 2 sends fill maxQueue 3; the third send is refused.
    assert.deepEqual(outcome.sends, [true, true, false], "sends past the bound are refused");
    assert.equal(outcome.overflow.code, "queue_full");
    assert.ok(outcome.errorsBeforeClose >= 2, `kept retrying (${outcome.errorsBeforeClose} failed attempts)`);
    assert.equal(outcome.stateAfterClose, "offline");
    assert.equal(outcome.lastState, "offline");
    assert.equal(outcome.closedCall.code, "closed");
    assert.equal(outcome.sendAfterClose, false);
    assert.equal(outcome.callAfterClose.code, "closed");
    assert.deepEqual(outcome.statesAfterClose, [], "no reconnect attempt after close()");
  });

  test("failed attempts back off exponentially with full jitter", T, async () => {
    await fresh();
    const port = await unusedPort();
    const infos = await run(async (url) => {
      const client = new window.exws.ExwsClient(url, { backoff: { initialMs: 20, maxMs: 80, factor: 2 } });
      const seen = [];
      await window.within(new Promise((resolve) => {
        client.onState((state, info) => {
          seen.push({ state, ...info, error: undefined });
          if (seen.filter((s) => s.state === "error").length === 6) resolve();
        });
      }), 15000, "six failed attempts");
      client.close();
      return seen;
    }, `ws://127.0.0.1:${port}/`);
    const errors = infos.filter((i) => i.state === "error");
    assert.equal(errors.length, 6);
    errors.forEach((info, n) => {
      const cap = Math.min(80, 20 * 2 ** n);
      assert.equal(info.attempt, n, "attempt counts failed attempts");
      assert.equal(info.previous, "connecting");
      assert.ok(info.retryInMs >= 0 && info.retryInMs < cap, `retry ${n}: ${info.retryInMs} ms within [0, ${cap})`);
    });
    assert.deepEqual(
      infos.map((i) => i.state),
      ["connecting", "error", "connecting", "error", "connecting", "error", "connecting", "error", "connecting", "error", "connecting", "error", "offline"],
    );
  });
});
