// exws.js with `recover: true` in headless Chromium against the recovery example: the server's
// side of the socket is dropped (a TCP proxy between them cuts it, no close frame); messages
// sent meanwhile arrive after the client reconnects by itself, in order and once, before new
// ones, and onRecovered() reports the resumed, complete session.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, recoveryBin, startExample, startPageServer, startProxy, withTimeout } from "./helpers/harness.mjs";

const T = { timeout: 90000 };

describe("exws.js connection recovery", () => {
  let pageServer;
  let browser;
  let session;
  let server;
  let proxy;

  before(async () => {
    pageServer = await startPageServer();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
    server = await startExample(recoveryBin, "recovery");
    proxy = await startProxy(server.port);
  }, { timeout: 90000 });

  after(async () => {
    await session?.close();
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await withTimeout(pageServer?.close(), 10000, "the page server to close");
    await proxy?.close();
    await server?.kill();
  }, { timeout: 90000 });

  const run = (fn, arg, ms = 20000) => withTimeout(session.page.evaluate(fn, arg), ms, "page.evaluate");
  const waitFor = (fn, arg, label, ms = 15000) =>
    withTimeout(session.page.waitForFunction(fn, arg, { timeout: ms, polling: 20 }), ms + 1000, label);

  test("a dropped socket resumes with every missed message, in order, then live ones", T, async () => {
    session = await openPage(browser, pageServer);
    await run(async ({ proxied, direct }) => {
      const { ExwsClient } = window.exws;
      window.said = [];
      window.recoveries = [];
      window.states = [];
      const client = new ExwsClient(`${proxied}/?user=ada`, { recover: true, backoff: { initialMs: 50, maxMs: 200 } });
      client.on("Said", (data, envelope) => window.said.push({ data, pos: envelope.Pos }));
      client.onRecovered((info) => window.recoveries.push(info));
      client.onState((state) => window.states.push(state));
      window.client = client;
      // Another client, straight to the server, speaks while the first one is away.
      window.sender = new ExwsClient(`${direct}/`);
      await client.call("Join", { room: "red" });
      await window.sender.call("Join", { room: "elsewhere" });
      window.sender.send("Say", { room: "red", text: "before" });
    }, { proxied: proxy.url, direct: server.url });
    await waitFor(() => window.said.length === 1, undefined, "the first message");
    const first = await run(() => ({ said: window.said[0], recoveries: window.recoveries }));
    assert.equal(first.said.data.text, "before");
    assert.equal(first.said.pos.room, "red");
    assert.equal(first.recoveries.length, 1);
    assert.equal(first.recoveries[0].resumed, false);

    proxy.cut();
    await waitFor(() => window.client.state !== "online", undefined, "the client to notice the cut");
    await run(async () => {
      for (let n = 0; n < 50; n++) window.sender.send("Say", { room: "red", text: `missed ${n}` });
      window.sender.send("Tell", { user: "ada", text: "for ada" });
      // Requests are handled in order: once this is answered, every message above was sent.
      await window.sender.call("Join", { room: "elsewhere" });
    });
    proxy.accept();

    await waitFor(() => window.recoveries.length === 2 && window.said.length === 52, undefined, "the resume and replay");
    const resumed = await run(() => ({ said: window.said, recoveries: window.recoveries }));
    const recovered = resumed.recoveries[1];
    assert.equal(recovered.resumed, true, JSON.stringify(recovered));
    assert.equal(recovered.complete, true);
    assert.deepEqual(recovered.gaps, []);
    assert.equal(recovered.connection, resumed.recoveries[0].connection, "the same connection id");
    const red = resumed.said.filter((message) => message.data.room === "red").map((message) => message.data.text);
    assert.deepEqual(red, ["before", ...Array.from({ length: 50 }, (_, n) => `missed ${n}`)], "in order, each once");
    const mine = resumed.said.filter((message) => message.data.room === "");
    assert.deepEqual(mine.map((message) => message.data.text), ["for ada"]);

    await run(() => window.sender.send("Say", { room: "red", text: "live" }));
    await waitFor(() => window.said.length === 53, undefined, "a live message after the replay");
    const live = await run(() => window.said[52]);
    assert.equal(live.data.text, "live");
    assert.equal(live.pos.seq, 52);
    // Chromium logs the attempts the proxy refused while it was cut; nothing else may be logged.
    const refused = /WebSocket connection to .* failed/;
    assert.deepEqual(session.problems.filter((problem) => !refused.test(problem)), []);
  });
});
