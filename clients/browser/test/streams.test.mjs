// exws.js streams in headless Chromium against the real streams example: `for await` over
// Countdown, `break` cancelling Forever (the server confirms with StreamEnd), the callback form,
// Error envelopes, overflow, and a lost connection.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, startPageServer, startStreams, withTimeout } from "./helpers/harness.mjs";

const T = { timeout: 60000 };

describe("exws.js streams against the streams example", () => {
  let server;
  let pageServer;
  let browser;
  let session;

  before(async () => {
    server = await startStreams();
    pageServer = await startPageServer();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
  }, { timeout: 90000 });

  after(async () => {
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await withTimeout(pageServer?.close(), 10000, "the page server to close");
    await server?.kill();
  }, { timeout: 90000 });

  async function fresh() {
    if (session) await session.close();
    session = await openPage(browser, pageServer);
    return session;
  }
  const run = (fn, arg, ms = 20000) => withTimeout(session.page.evaluate(fn, arg), ms, "page.evaluate");

  test("for await iterates Countdown's items in order, then ends", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      const envelopes = [];
      client.on("*", (_data, envelope) => envelopes.push(envelope));
      const ticks = client.stream("Countdown", { from: 3, interval_ms: 10 });
      const seen = [];
      await window.within(
        (async () => {
          for await (const tick of ticks) seen.push(tick.n);
        })(),
        10000,
        "the countdown",
      );
      // A call on the same connection still works.
      const sum = await window.within(client.call("CalculateRequest", { numbers: [2, 2] }), 10000, "call");
      client.close();
      return {
        seen,
        id: ticks.id,
        open: ticks.open,
        isStream: ticks instanceof window.exws.ExwsStream,
        wire: envelopes.map((envelope) => [envelope.Type, envelope.Id]),
        sum,
      };
    }, server.url);
    assert.deepEqual(outcome.seen, [3, 2, 1]);
    assert.equal(outcome.open, false);
    assert.equal(outcome.isStream, true);
    assert.ok(Number.isInteger(outcome.id));
    // Every item and the StreamEnd carry the stream's Id.
    assert.deepEqual(outcome.wire.slice(0, 4), [
      ["Tick", outcome.id],
      ["Tick", outcome.id],
      ["Tick", outcome.id],
      ["StreamEnd", outcome.id],
    ]);
    assert.deepEqual(outcome.sum, { result: 4 });
    assert.deepEqual(session.problems, []);
  });

  test("break in for await sends StreamCancel: the server stops Forever with StreamEnd", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      const ends = [];
      let ended;
      const endArrived = new Promise((resolve) => (ended = resolve));
      const items = [];
      client.on("StreamEnd", (_data, envelope) => {
        ends.push(envelope.Id);
        ended();
      });
      client.on("Tick", (_data, envelope) => items.push(envelope.Id));
      const ticks = client.stream("Forever", { interval_ms: 5 });
      const seen = [];
      await window.within(
        (async () => {
          for await (const tick of ticks) {
            seen.push(tick.n);
            if (seen.length === 3) break;
          }
        })(),
        10000,
        "three ticks",
      );
      // Forever never ends by itself: a StreamEnd means the cancel reached the server.
      await window.within(endArrived, 10000, "the server's StreamEnd");
      const afterEnd = items.length;
      const next = await ticks.next();
      await window.within(client.call("CalculateRequest", { numbers: [1] }), 10000, "a round trip");
      client.close();
      return { seen, ends, id: ticks.id, open: ticks.open, next, lateItems: items.length - afterEnd };
    }, server.url);
    assert.deepEqual(outcome.seen, [1, 2, 3]);
    assert.deepEqual(outcome.ends, [outcome.id]);
    assert.equal(outcome.open, false);
    assert.equal(outcome.next.done, true, "nothing after break");
    assert.equal(outcome.lateItems, 0, "no item follows the StreamEnd");
    assert.deepEqual(session.problems, []);
  });

  test("callback form: onItem for each item, onEnd once; cancel() resolves at StreamEnd", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      const events = [];
      await window.within(
        new Promise((resolve) => {
          client.stream("Countdown", { from: 2, interval_ms: 5 }, {
            onItem: (data, envelope, stream) => events.push(["item", data.n, envelope.Id === stream.id]),
            onEnd: () => {
              events.push(["end"]);
              resolve();
            },
            onError: (error) => events.push(["error", error.code]),
          });
        }),
        10000,
        "the countdown's end",
      );
      const forever = [];
      let third;
      const gotThree = new Promise((resolve) => (third = resolve));
      const handle = client.stream("Forever", { interval_ms: 5 }, {
        onItem: (data) => {
          forever.push(data.n);
          if (forever.length === 3) third();
        },
        onEnd: () => forever.push("end"),
      });
      await window.within(gotThree, 10000, "three Forever ticks");
      await window.within(handle.cancel(), 10000, "the cancel to be confirmed");
      const count = forever.length;
      await window.within(client.call("CalculateRequest", { numbers: [1] }), 10000, "a round trip");
      client.close();
      return { events, count, forever, open: handle.open };
    }, server.url);
    assert.deepEqual(outcome.events, [["item", 2, true], ["item", 1, true], ["end"]]);
    assert.ok(outcome.count >= 3);
    assert.equal(outcome.forever.length, outcome.count, "no callback after cancel()");
    assert.ok(!outcome.forever.includes("end"), "onEnd is not called for a cancelled stream");
    assert.equal(outcome.open, false);
    assert.deepEqual(session.problems, []);
  });

  test("an Error envelope makes for await throw an ExwsError with the code", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      let thrown = null;
      try {
        for await (const item of client.stream("NoSuchStream", {})) void item;
      } catch (error) {
        thrown = window.plainError(error);
      }
      let invalid = null;
      await new Promise((resolve) => {
        client.stream("Countdown", { from: "three" }, {
          onError: (error) => {
            invalid = window.plainError(error);
            resolve();
          },
        });
      });
      client.close();
      return { thrown, invalid };
    }, server.url);
    assert.equal(outcome.thrown.isExwsError, true);
    assert.equal(outcome.thrown.code, "unknown_type");
    assert.equal(outcome.thrown.type, "NoSuchStream");
    assert.equal(outcome.invalid.code, "invalid_data");
    assert.deepEqual(session.problems, []);
  });

  test("a reader that lets bufferSize items wait gets overflow, and the stream is cancelled", T, async () => {
    await fresh();
    const outcome = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      let ended;
      const endArrived = new Promise((resolve) => (ended = resolve));
      client.on("StreamEnd", () => ended());
      const ticks = client.stream("Forever", { interval_ms: 1 }, { bufferSize: 3 });
      // Not read until the client has cancelled it (the server answered StreamEnd).
      await window.within(endArrived, 10000, "the overflow's cancel to be confirmed");
      const seen = [];
      let error = null;
      try {
        for await (const tick of ticks) seen.push(tick.n);
      } catch (e) {
        error = window.plainError(e);
      }
      client.close();
      return { seen, error };
    }, server.url);
    assert.deepEqual(outcome.seen, [1, 2, 3], "the buffered items come first");
    assert.equal(outcome.error?.code, "overflow");
  });

  test("a lost connection ends open streams with disconnected; close() with closed", T, async () => {
    await fresh();
    const own = await startStreams();
    try {
      const first = await run(async (url) => {
        const client = new window.exws.ExwsClient(url, { backoff: { initialMs: 20, maxMs: 50 } });
        window.lossClient = client;
        window.lossTicks = client.stream("Forever", { interval_ms: 5 });
        return await window.within(window.lossTicks.next(), 10000, "a first tick");
      }, own.url);
      assert.deepEqual(first.value, { n: 1 });
      await own.kill();
      const outcome = await run(async () => {
        let error = null;
        try {
          for await (const tick of window.lossTicks) void tick;
        } catch (e) {
          error = window.plainError(e);
        }
        const state = window.lossClient.state;
        window.lossClient.close();
        return { error, state, open: window.lossTicks.open };
      });
      assert.equal(outcome.error?.code, "disconnected");
      assert.equal(outcome.error?.type, "Forever");
      assert.equal(outcome.open, false);
      assert.notEqual(outcome.state, "online");
    } finally {
      await own.kill();
    }

    const closed = await run(async (url) => {
      const client = new window.exws.ExwsClient(url);
      const ticks = client.stream("Forever", { interval_ms: 5 });
      await window.within(ticks.next(), 10000, "a first tick");
      const failing = ticks.next().then(
        () => null,
        (error) => window.plainError(error),
      );
      // The next tick may already be buffered: read until the failure.
      client.close();
      let error = await failing;
      while (error === null) {
        error = await ticks.next().then(
          (result) => (result.done ? { code: "done" } : null),
          (e) => window.plainError(e),
        );
      }
      return error;
    }, server.url);
    assert.equal(closed.code, "closed");
  });
});
