// exws.js presence in headless Chromium against the real chat example (presence on, each
// connection's meta {name} from its URL's ?name=): watchPresence's state and diffs applied
// into an ExwsPresence, a leave and a closed page, a refused watch, and presence() once.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, startChat, startPageServer, withTimeout } from "./helpers/harness.mjs";

const T = { timeout: 60000 };

describe("exws.js presence against the chat example", () => {
  let chat;
  let pageServer;
  let browser;

  before(async () => {
    chat = await startChat();
    pageServer = await startPageServer();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
  }, { timeout: 90000 });

  after(async () => {
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await withTimeout(pageServer?.close(), 10000, "the page server to close");
    await chat?.kill();
  }, { timeout: 90000 });

  test("a watch follows joins and leaves; presence() reads once; a non-member is refused", T, async () => {
    const session = await openPage(browser, pageServer);
    try {
      const outcome = await withTimeout(
        session.page.evaluate(async (url) => {
          const { ExwsClient, ExwsPresence } = window.exws;
          const welcome = (client) =>
            new Promise((resolve) => client.on("Welcome", ({ id }) => resolve(id)));
          const watcher = new ExwsClient(`${url}/?name=Walt`);
          const walt = await welcome(watcher);
          // Not in the room yet: refused.
          const refused = await window.within(
            watcher.presence("lobby").then(() => "resolved", (error) => error.code),
            10000,
            "the refusal",
          );
          await watcher.call("JoinRoom", { room: "lobby" });
          const changes = [];
          let notify = () => {};
          const watch = watcher.watchPresence("lobby", {
            onChange: (presence, change) => {
              changes.push({
                kind: change.kind,
                joined: change.joined.map((entry) => entry.metas[0].connection),
                left: change.left.map((entry) => entry.metas[0].connection),
                size: presence.size,
              });
              notify();
            },
          });
          const changed = (count) =>
            window.within(
              new Promise((resolve) => {
                notify = () => changes.length >= count && resolve();
                notify();
              }),
              10000,
              `${count} presence changes`,
            );
          await changed(1);
          const other = new ExwsClient(`${url}/?name=Ada`);
          const ada = await welcome(other);
          await other.call("JoinRoom", { room: "lobby" });
          await changed(2);
          const listed = await window.within(other.presence("lobby"), 10000, "presence()");
          const metaOfAda = watch.presence.list().find((entry) => entry.metas[0].connection === ada);
          await other.call("LeaveRoom", { room: "lobby" });
          await changed(3);
          await other.call("JoinRoom", { room: "lobby" });
          await changed(4);
          other.close();
          await changed(5);
          const left = watch.presence.connections();
          await watch.cancel();
          watcher.close();
          return {
            refused,
            walt,
            ada,
            changes,
            listed,
            metaOfAda,
            left,
            isPresence: watch.presence instanceof ExwsPresence,
          };
        }, chat.url),
        40000,
        "page.evaluate",
      );
      const { walt, ada } = outcome;
      assert.equal(outcome.refused, "unauthorized");
      assert.equal(outcome.isPresence, true);
      assert.deepEqual(outcome.changes, [
        { kind: "state", joined: [walt], left: [], size: 1 },
        { kind: "diff", joined: [ada], left: [], size: 2 },
        { kind: "diff", joined: [], left: [ada], size: 1 },
        { kind: "diff", joined: [ada], left: [], size: 2 },
        { kind: "diff", joined: [], left: [ada], size: 1 },
      ]);
      const sorted = [walt, ada].sort();
      assert.deepEqual(
        outcome.listed.map((entry) => entry.metas[0].connection),
        sorted,
      );
      assert.deepEqual(outcome.metaOfAda, { user: null, metas: [{ connection: ada, meta: { name: "Ada" } }] });
      assert.deepEqual(outcome.left, [walt]);
      assert.deepEqual(session.problems, []);
    } finally {
      await session.close();
    }
  });
});
