// exws.js in headless Chromium against a server that sends frames a real exws server never
// sends. No exws server misbehaves this way on purpose, so this one test uses the minimal
// WebSocket server in helpers/raw-ws-server.mjs instead of the calculator example.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, startPageServer, withTimeout } from "./helpers/harness.mjs";
import { startRawWsServer } from "./helpers/raw-ws-server.mjs";

describe("exws.js and malformed frames", () => {
  let pageServer;
  let browser;
  let session;
  let raw;

  before(async () => {
    pageServer = await startPageServer();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
    raw = await startRawWsServer((conn) => {
      conn.onText = (text) => {
        const request = JSON.parse(text);
        if (request.Type !== "Go") return;
        conn.sendText("not json {");
        conn.sendText("[1, 2, 3]");
        conn.sendText("null");
        conn.sendText('{"Data": 1}');
        conn.sendText('{"Type": 5}');
        conn.sendBinary(Buffer.from([1, 2, 3]));
        // An Error envelope with no usable Data still rejects the call it answers.
        conn.sendText(JSON.stringify({ Type: "Error", Data: "broken", Id: request.Id }));
        // An Id that matches no call, and an Id of a type the protocol does not allow.
        conn.sendText(JSON.stringify({ Type: "Stray", Data: { n: 1 }, Id: 999999 }));
        conn.sendText(JSON.stringify({ Type: "Stray", Data: { n: 2 }, Id: { nested: true } }));
        // Data absent on the wire reaches handlers as null.
        conn.sendText(JSON.stringify({ Type: "Hello", Extra: "ignored" }));
      };
    });
  }, { timeout: 90000 });

  after(async () => {
    await session?.close();
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await withTimeout(pageServer?.close(), 10000, "the page server to close");
    await withTimeout(raw?.close(), 10000, "the raw server to close");
  }, { timeout: 90000 });

  test("invalid JSON and non-envelopes are ignored and reported; the connection stays up", { timeout: 60000 }, async () => {
    session = await openPage(browser, pageServer);
    const outcome = await withTimeout(
      session.page.evaluate(async (url) => {
        const reported = [];
        const client = new window.exws.ExwsClient(url, {
          onError: (error, context) => reported.push({ code: error.code, kind: context.kind, isExwsError: error instanceof window.exws.ExwsError }),
        });
        const stray = [];
        client.on("Stray", (data, envelope) => stray.push({ data, id: envelope.Id }));
        const hello = new Promise((resolve) => client.on("Hello", (data, envelope) => resolve({ data, envelope })));
        let callError = null;
        try {
          await window.within(client.call("Go"), 10000, "call");
        } catch (error) {
          callError = window.plainError(error);
        }
        const greeting = await window.within(hello, 10000, "Hello");
        const state = client.state;
        client.close();
        // Without onError, ignored frames go to console.warn, and still nothing throws.
        const warnings = [];
        const warn = console.warn;
        console.warn = (...args) => warnings.push(args.join(" "));
        try {
          const quiet = new window.exws.ExwsClient(url);
          const hello2 = new Promise((resolve) => quiet.on("Hello", resolve));
          await window.within(quiet.call("Go").catch(() => {}), 10000, "call");
          await window.within(hello2, 10000, "Hello");
          quiet.close();
        } finally {
          console.warn = warn;
        }
        return { reported, callError, greeting, stray, state, warnings };
      }, raw.url),
      30000,
      "page.evaluate",
    );
    assert.deepEqual(outcome.reported, [
      { code: "invalid_json", kind: "frame", isExwsError: true },
      { code: "invalid_envelope", kind: "frame", isExwsError: true },
      { code: "invalid_envelope", kind: "frame", isExwsError: true },
      { code: "invalid_envelope", kind: "frame", isExwsError: true },
      { code: "invalid_envelope", kind: "frame", isExwsError: true },
      { code: "unsupported_frame", kind: "frame", isExwsError: true },
    ]);
    assert.equal(outcome.callError.isExwsError, true);
    assert.equal(outcome.callError.code, "unknown_error");
    assert.equal(outcome.callError.type, "Go");
    assert.deepEqual(outcome.stray, [
      { data: { n: 1 }, id: 999999 },
      { data: { n: 2 }, id: { nested: true } },
    ]);
    assert.equal(outcome.greeting.data, null);
    assert.equal(outcome.greeting.envelope.Extra, "ignored");
    assert.equal(outcome.state, "online");
    assert.equal(outcome.warnings.length, 6, outcome.warnings.join("\n"));
    assert.ok(outcome.warnings.every((w) => w.startsWith("exws: ignored a frame from the server")));
    assert.deepEqual(session.problems, [], "nothing was thrown out of the socket's handlers");
  });
});
