// exws.js in headless Chromium while the calculator example is killed and restarted:
// state events, reconnection with backoff, pending calls failing with "disconnected".

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, sleep, startCalculator, startPageServer, withTimeout } from "./helpers/harness.mjs";

const T = { timeout: 90000 };

describe("exws.js when the server goes away", () => {
  let pageServer;
  let browser;
  let session;
  const servers = new Set();

  before(async () => {
    pageServer = await startPageServer();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
  }, { timeout: 90000 });

  after(async () => {
    await session?.close();
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await withTimeout(pageServer?.close(), 10000, "the page server to close");
    for (const server of servers) {
      server.resume();
      await server.kill();
    }
  }, { timeout: 90000 });

  async function calculator(options) {
    const server = await startCalculator(options);
    servers.add(server);
    return server;
  }

  async function fresh() {
    if (session) await session.close();
    session = await openPage(browser, pageServer);
    return session;
  }
  const run = (fn, arg, ms = 20000) => withTimeout(session.page.evaluate(fn, arg), ms, "page.evaluate");
  const waitFor = (fn, arg, label, ms = 15000) =>
    withTimeout(session.page.waitForFunction(fn, arg, { timeout: ms, polling: 20 }), ms + 1000, label);

  test("state events: connecting → online → offline when killed → online after restart on the same port", T, async () => {
    await fresh();
    const first = await calculator();
    await run((url) => {
      const client = new window.exws.ExwsClient(url, { backoff: { initialMs: 50, maxMs: 400 } });
      window.client = client;
      window.states = [];
      window.infos = [];
      window.replies = [];
      client.onState((state, info) => {
        window.states.push(state);
        window.infos.push({ state, previous: info.previous, retryInMs: info.retryInMs, code: info.code });
      });
      // Registered once, before the first connection; must survive reconnects.
      client.on("CalculateResponse", (data) => window.replies.push(data));
    }, first.url);
    await waitFor(() => window.client.state === "online", null, "online");
    assert.deepEqual(await run(() => window.states), ["connecting", "online"]);
    assert.deepEqual(
      await run(() => window.within(window.client.call("CalculateRequest", { numbers: [2, 2] }), 10000, "call")),
      { result: 4 },
    );

    await first.kill();
    await waitFor(() => window.states.includes("offline"), null, "offline after the kill");
    const offline = await run(() => window.infos.find((i) => i.state === "offline"));
    assert.equal(offline.previous, "online");
    assert.equal(typeof offline.retryInMs, "number", "a retry is scheduled");
    assert.notEqual(offline.code, 1000, "an abnormal close");
    // With the server down, attempts fail: connecting → error, again and again.
    await waitFor(() => window.states.filter((s) => s === "error").length >= 2, null, "failed attempts");
    assert.equal(await run(() => window.client.state === "online"), false);

    const second = await calculator({ port: first.port });
    assert.equal(second.port, first.port);
    await waitFor(() => window.client.state === "online", null, "online again after the restart");
    const states = await run(() => window.states);
    assert.match(
      states.join(","),
      /^connecting,online,offline(,connecting,error)+,connecting,online$/,
      `state sequence: ${states.join(" → ")}`,
    );
    // The same client and the handler registered before the first connection work on the new one.
    assert.deepEqual(
      await run(() => window.within(window.client.call("CalculateRequest", { numbers: [3, 4] }), 10000, "call")),
      { result: 7 },
    );
    assert.deepEqual(await run(() => window.replies), [{ result: 4 }, { result: 7 }]);
    await run(() => window.client.close());
    assert.equal(await run(() => window.client.state), "offline");
    // Chromium itself logs each refused attempt; nothing else may appear.
    assert.deepEqual(session.problems.filter((p) => !/WebSocket connection to '.*' failed/.test(p)), []);
    await second.kill();
  });

  test("a pending call is rejected promptly with code disconnected when the server is killed", T, async () => {
    await fresh();
    const server = await calculator();
    await run(async (url) => {
      window.client = new window.exws.ExwsClient(url, { callTimeoutMs: 30000, backoff: { initialMs: 50, maxMs: 400 } });
      await window.within(window.client.call("CalculateRequest", { numbers: [1] }), 10000, "first call");
    }, server.url);
    // Stopped, the server takes the request off the wire but never answers; then it dies.
    await server.pause();
    await run(() => {
      window.outcomes = [];
      const record = (label) => (value) => window.outcomes.push({ label, value, at: performance.now() });
      const recordError = (label) => (error) =>
        window.outcomes.push({ label, error: window.plainError(error), at: performance.now() });
      window.client.call("CalculateRequest", { numbers: [1, 2] }).then(record("a"), recordError("a"));
      window.client.call("NoSuchType", {}).then(record("b"), recordError("b"));
    });
    await sleep(300);
    assert.deepEqual(await run(() => window.outcomes), [], "nothing settles while the server is stopped");
    await server.kill();
    await waitFor(() => window.outcomes.length === 2, null, "both calls to settle", 10000);
    const outcomes = await run(() => window.outcomes);
    for (const outcome of outcomes) {
      assert.ok(outcome.error, `call ${outcome.label} rejected`);
      assert.equal(outcome.error.isExwsError, true);
      // "disconnected", not "timeout": with a 30 s call timeout, the kill ended the calls.
      assert.equal(outcome.error.code, "disconnected");
    }
    assert.deepEqual(outcomes.map((o) => o.error.type).sort(), ["CalculateRequest", "NoSuchType"]);
    const state = await run(() => window.client.state);
    assert.ok(state === "offline" || state === "connecting" || state === "error", `state ${state}`);
    await run(() => window.client.close());
  });

  test("calls made while the server is down are queued and answered after it comes back", T, async () => {
    await fresh();
    const first = await calculator();
    await run(async (url) => {
      window.client = new window.exws.ExwsClient(url, { backoff: { initialMs: 50, maxMs: 300 } });
      await window.within(window.client.call("CalculateRequest", { numbers: [1] }), 10000, "first call");
    }, first.url);
    await first.kill();
    await waitFor(() => window.client.state !== "online", null, "the drop to be noticed");
    await run(() => {
      window.queued = window.client.call("CalculateRequest", { numbers: [20, 22] }).then(
        (value) => ({ value }),
        (error) => ({ error: window.plainError(error) }),
      );
      window.sent = window.client.send("CalculateRequest", { numbers: [1, 1] });
    });
    const second = await calculator({ port: first.port });
    const outcome = await run(() => window.within(window.queued, 15000, "queued call"));
    assert.deepEqual(outcome, { value: { result: 42 } });
    assert.equal(await run(() => window.sent), true);
    await run(() => window.client.close());
    await second.kill();
  });
});
