// exws.js answering the server's calls (`Connection::call`), in headless Chromium: answers from
// sync and async answerers, refusals (a throw, a type without an answerer), and calls that are
// not dispatched to on() handlers. The server side speaks the wire extension of
// docs/PROTOCOL.md ("Server calls") from helpers/raw-ws-server.mjs, which records the answers;
// the Rust tests (tests/server_calls.rs) check the same frames against the real server.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, startPageServer, withTimeout } from "./helpers/harness.mjs";
import { startRawWsServer } from "./helpers/raw-ws-server.mjs";

describe("exws.js answers server calls", () => {
  let pageServer;
  let browser;
  let session;
  let raw;
  const answers = [];
  let answered;

  before(async () => {
    pageServer = await startPageServer();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
    raw = await startRawWsServer((conn) => {
      conn.onText = (text) => {
        const frame = JSON.parse(text);
        if (frame.Type === "Ready") {
          conn.sendText(JSON.stringify({ Type: "Question", Data: { text: "sync?" }, Call: 1 }));
          conn.sendText(JSON.stringify({ Type: "SlowQuestion", Data: { text: "async?" }, Call: 2 }));
          conn.sendText(JSON.stringify({ Type: "Trap", Data: null, Call: 3 }));
          conn.sendText(JSON.stringify({ Type: "Nobody", Data: 7, Call: 4 }));
          conn.sendText(JSON.stringify({ Type: "Question", Data: { text: "pushed" } }));
          return;
        }
        answers.push(frame);
        if (answers.length === 4) answered();
      };
    });
  }, { timeout: 90000 });

  after(async () => {
    await session?.close();
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await withTimeout(pageServer?.close(), 10000, "the page server to close");
    await withTimeout(raw?.close(), 10000, "the raw server to close");
  }, { timeout: 90000 });

  test("answerers answer, refuse, and calls without one get unknown_type", { timeout: 60000 }, async () => {
    session = await openPage(browser, pageServer);
    const allAnswered = new Promise((resolve) => {
      answered = resolve;
    });
    const pushed = await withTimeout(
      session.page.evaluate(async (url) => {
        const client = new window.exws.ExwsClient(url);
        window.callClient = client;
        client.answer("Question", (data) => ({ yes: data.text.endsWith("?") }));
        client.answer("SlowQuestion", async (data) => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          return { echoed: data.text };
        });
        client.answer("Trap", () => {
          throw new Error("not answering that");
        });
        const seen = [];
        const pushedQuestion = new Promise((resolve) =>
          client.on("Question", (data, envelope) => {
            seen.push({ data, call: envelope.Call ?? null });
            resolve();
          }),
        );
        client.send("Ready", {});
        await window.within(pushedQuestion, 10000, "the pushed Question");
        return seen;
      }, raw.url),
      30000,
      "page.evaluate",
    );
    // The client stays open until the server has every answer.
    await withTimeout(allAnswered, 10000, "four answers");
    await withTimeout(session.page.evaluate(() => window.callClient.close()), 10000, "close");
    const byCall = Object.fromEntries(answers.map((frame) => [frame.Call, frame]));
    assert.deepEqual(byCall[1], { Type: "Answer", Call: 1, Data: { yes: true } });
    assert.deepEqual(byCall[2], { Type: "Answer", Call: 2, Data: { echoed: "async?" } });
    assert.deepEqual(byCall[3], {
      Type: "AnswerError",
      Call: 3,
      Data: { code: "handler_error", message: "not answering that" },
    });
    assert.equal(byCall[4].Type, "AnswerError");
    assert.equal(byCall[4].Data.code, "unknown_type");
    assert.deepEqual(pushed, [{ data: { text: "pushed" }, call: null }], "calls are not events");
    assert.deepEqual(session.problems, []);
  });
});
