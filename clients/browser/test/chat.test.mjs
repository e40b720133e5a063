// The chat example's page (examples/chat/index.html, served by the example at `/`) in headless
// Chromium: pages talking to each other through the real chat server, driven through the UI.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { clientDir, launchBrowser, startChat, withTimeout } from "./helpers/harness.mjs";

const T = { timeout: 90000 };
const SCREENSHOT = process.env.EXWS_CHAT_SCREENSHOT || path.join(os.tmpdir(), "chat-page.png");

describe("the chat example's page", () => {
  let chat;
  let browser;
  const open = new Set();

  before(async () => {
    chat = await startChat();
    browser = await withTimeout(launchBrowser(), 30000, "chromium to launch");
  }, { timeout: 90000 });

  after(async () => {
    for (const session of open) await session.close().catch(() => {});
    await withTimeout(browser?.close(), 30000, "chromium to close");
    await chat?.kill();
  }, { timeout: 90000 });

  /** A page of its own (own context) on the chat page, online, with its connection id. */
  async function openChat(label, server = chat) {
    const context = await withTimeout(
      browser.newContext({ viewport: { width: 1280, height: 800 } }),
      15000,
      "a browser context",
    );
    const page = await withTimeout(context.newPage(), 15000, "a new page");
    page.setDefaultTimeout(15000);
    const problems = [];
    page.on("pageerror", (error) => problems.push(`${label} pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") {
        problems.push(`${label} console.${message.type()}: ${message.text()}`);
      }
    });
    const response = await withTimeout(page.goto(server.httpUrl), 15000, "the chat page to load");
    assert.equal(response.status(), 200);
    await page.waitForSelector("#state[data-state=online]");
    await page.waitForFunction(() => document.getElementById("my-id").textContent.trim() !== "");
    const id = (await page.textContent("#my-id")).trim();
    const session = {
      label,
      page,
      problems,
      id,
      closed: false,
      async close() {
        if (session.closed) return;
        session.closed = true;
        open.delete(session);
        await withTimeout(context.close(), 15000, "the browser context to close");
      },
    };
    open.add(session);
    return session;
  }

  // Joins `room` through the form; waits until the room is on screen with its member list.
  async function join(session, room) {
    const { page } = session;
    await page.fill("#room-input", room);
    await page.click("#join-button");
    await page.waitForSelector(`#rooms li[data-room="${room}"]`);
    await page.waitForFunction(
      (name) => document.getElementById("conversation-title").textContent === `# ${name}`,
      room,
    );
    await page.waitForSelector(`#members li[data-member="${session.id}"]`);
  }

  async function write(session, text) {
    await session.page.fill("#composer-input", text);
    await session.page.click("#send-button");
  }

  // The text of the message from `from` of `kind` on screen, once there is one with `text`.
  async function seeMessage(session, { kind, from, text }) {
    const selector = `#messages li.message[data-kind="${kind}"][data-from="${from}"]`;
    await session.page.waitForFunction(
      ({ selector, text }) =>
        [...document.querySelectorAll(selector)].some((node) => node.querySelector(".text").textContent === text),
      { selector, text },
    );
  }

  const memberIds = (session) =>
    session.page.$$eval("#members li[data-member]", (items) => items.map((item) => item.dataset.member));

  async function waitForMembers(session, expected) {
    const want = [...expected].sort();
    await session.page
      .waitForFunction(
        (want) => {
          const ids = [...document.querySelectorAll("#members li[data-member]")].map((item) => item.dataset.member);
          return JSON.stringify(ids.sort()) === JSON.stringify(want);
        },
        want,
      )
      .catch(async (error) => {
        throw new Error(`${session.label} expected members ${want}, has ${await memberIds(session)}: ${error.message}`);
      });
  }

  test("the server serves the page at /, its chat.js and exws.js with a JavaScript content type", T, async () => {
    const script = await withTimeout(fetch(new URL("/exws.js", chat.httpUrl)), 10000, "GET /exws.js");
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type"), /^(text|application)\/javascript\b/);
    assert.equal(await script.text(), readFileSync(path.join(clientDir, "exws.js"), "utf8"));

    const page = await withTimeout(fetch(chat.httpUrl), 10000, "GET /");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /^text\/html\b/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/chat\.js"><\/script>/);
    assert.doesNotMatch(html, /\b(src|href)="https?:/, "no external resources");
    const chatScript = await withTimeout(fetch(new URL("/chat.js", chat.httpUrl)), 10000, "GET /chat.js");
    assert.equal(chatScript.status, 200);
    assert.match(chatScript.headers.get("content-type"), /^(text|application)\/javascript\b/);
    const source = await chatScript.text();
    assert.equal(source, readFileSync(path.join(clientDir, "..", "..", "examples", "chat", "chat.js"), "utf8"));
    assert.match(source, /import \{ ExwsClient \} from "\.\/exws\.js"/);
  });

  test("two pages: a room, who is here, room messages, direct messages, broadcasts", T, async () => {
    const a = await openChat("A");
    const b = await openChat("B");
    assert.notEqual(a.id, b.id);

    // A joins first and is alone; B joins and is the second member.
    await join(a, "lobby");
    assert.equal((await a.page.textContent('#rooms li[data-room="lobby"] .count')).trim(), "1");
    await join(b, "lobby");
    assert.equal((await b.page.textContent('#rooms li[data-room="lobby"] .count')).trim(), "2");
    assert.match(await b.page.textContent("#conversation-subtitle"), /2 members/);

    // Who is here: B got the list with A in it; A, watching, was told B joined.
    await waitForMembers(b, [a.id, b.id]);
    await waitForMembers(a, [a.id, b.id]);
    await a.page.waitForFunction(
      (id) => [...document.querySelectorAll("#messages li.notice")].some((n) => n.textContent === `${id} joined`),
      b.id,
    );
    assert.match(await a.page.textContent("#conversation-subtitle"), /2 members/);

    // A writes to the room: B sees it with A's id; A sees its own copy.
    await write(a, "hello from A");
    await seeMessage(b, { kind: "room", from: a.id, text: "hello from A" });
    const from = await b.page.textContent(`#messages li.message[data-from="${a.id}"] .from`);
    assert.equal(from, a.id, "the sender's id is shown");
    await seeMessage(a, { kind: "room", from: a.id, text: "hello from A" });
    assert.equal(await a.page.locator(`#messages li.message.mine[data-from="${a.id}"]`).count(), 1);
    await write(b, "hi A, welcome!");
    await seeMessage(a, { kind: "room", from: b.id, text: "hi A, welcome!" });

    // B clicks A under "who is here" and writes to A alone.
    await b.page.click(`#members li[data-member="${a.id}"] button`);
    await b.page.waitForFunction(
      (id) => document.getElementById("conversation-title").textContent === `Direct · ${id}`,
      a.id,
    );
    await write(b, "psst, just you");
    await seeMessage(b, { kind: "direct", from: b.id, text: "psst, just you" });
    // A gets a conversation with B in its sidebar, with an unread badge; opening it shows it.
    const dm = `#directs li[data-peer="${b.id}"]`;
    await a.page.waitForSelector(`${dm} .unread`);
    assert.equal((await a.page.textContent(`${dm} .unread`)).trim(), "1");
    await a.page.click(`${dm} button`);
    await seeMessage(a, { kind: "direct", from: b.id, text: "psst, just you" });
    assert.equal(await a.page.locator(`${dm} .unread`).count(), 0, "read once opened");
    // The room message did not leak into anyone's direct conversation, nor the reverse.
    assert.equal(await b.page.locator('#messages li.message[data-kind="room"]').count(), 0);

    // A broadcasts: both pages get it from the server (the sender too).
    await a.page.click("#everyone");
    await write(a, "hello everyone");
    await seeMessage(a, { kind: "broadcast", from: a.id, text: "hello everyone" });
    await b.page.waitForSelector("#everyone .unread:not([hidden])");
    await b.page.click("#everyone");
    await seeMessage(b, { kind: "broadcast", from: a.id, text: "hello everyone" });

    // Text from the network is text, never markup.
    const hostile = '<img src=x onerror="window.pwned=1"><b>bold?</b>';
    await b.page.click('#rooms li[data-room="lobby"] button');
    await write(b, hostile);
    await a.page.click('#rooms li[data-room="lobby"] button');
    await seeMessage(a, { kind: "room", from: b.id, text: hostile });
    assert.equal(await a.page.locator("#messages img, #messages b").count(), 0);
    assert.equal(await a.page.evaluate(() => window.pwned), undefined);
    await write(a, "nice try :)");
    await seeMessage(b, { kind: "room", from: a.id, text: "nice try :)" });

    await a.page.screenshot({ path: SCREENSHOT });
    assert.deepEqual([...a.problems, ...b.problems], []);
    await a.close();
    await b.close();
  });

  test("who is here follows leaving the room and closing the page", T, async () => {
    const c = await openChat("C");
    const d = await openChat("D");
    await join(c, "garden");
    await join(d, "garden");
    await waitForMembers(c, [c.id, d.id]);

    // D leaves with the button: C's list loses D, and C is told.
    await d.page.click("#leave-button");
    await d.page.waitForSelector('#rooms li[data-room="garden"]', { state: "detached" });
    await waitForMembers(c, [c.id]);
    await c.page.waitForFunction(
      (id) => [...document.querySelectorAll("#messages li.notice")].some((n) => n.textContent === `${id} left`),
      d.id,
    );
    assert.equal((await c.page.textContent('#rooms li[data-room="garden"] .count')).trim(), "1");

    // D comes back, then closes its page: the server tells C that D left.
    await join(d, "garden");
    await waitForMembers(c, [c.id, d.id]);
    await d.close();
    await waitForMembers(c, [c.id]);

    // A third page joining sees only C.
    const e = await openChat("E");
    await join(e, "garden");
    await waitForMembers(e, [c.id, e.id]);
    await waitForMembers(c, [c.id, e.id]);
    assert.deepEqual([...c.problems, ...d.problems, ...e.problems], []);
    await c.close();
    await e.close();
  });

  test("after a server restart the page reconnects, with a new id, and joins its rooms again", T, async () => {
    const first = await startChat();
    let second;
    try {
      const f = await openChat("F", first);
      await join(f, "phoenix");
      await first.kill();
      await f.page.waitForSelector("#state:not([data-state=online])");
      second = await startChat({ port: first.port });
      await f.page.waitForSelector("#state[data-state=online]", { timeout: 30000 });
      await f.page.waitForFunction(
        (old) => !["", old].includes(document.getElementById("my-id").textContent.trim()),
        f.id,
      );
      const id = (await f.page.textContent("#my-id")).trim();
      // Back in the room, with the new id: the list says so, and a newcomer sees it.
      await waitForMembers({ ...f, id }, [id]);
      const g = await openChat("G", second);
      await join(g, "phoenix");
      await waitForMembers(g, [id, g.id]);
      await waitForMembers(f, [id, g.id]);
      await write(g, "welcome back");
      await seeMessage(f, { kind: "room", from: g.id, text: "welcome back" });
      // Chromium itself logs each refused attempt; nothing else may appear.
      const unexpected = f.problems.filter((p) => !/WebSocket connection to '.*' failed/.test(p));
      assert.deepEqual([...unexpected, ...g.problems], []);
      await f.close();
      await g.close();
    } finally {
      await second?.kill();
      await first.kill();
    }
  });
});
