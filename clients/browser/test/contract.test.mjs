// The contract, end to end: the calculator, chat and streams examples (built with the `schema`
// feature) serve /asyncapi.json, which the official @asyncapi/parser accepts with no error or
// warning; `exws codegen typescript` turns the chat's and the streams' into declarations under
// which typed calls compile (tsc --strict) and wrong ones fail, each at its marked line; the
// chat page's script type-checks against the chat's contract, and its committed contract.d.ts
// is what codegen makes today.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Parser } from "@asyncapi/parser";
import { calculatorBin, chatBin, clientDir, startExample, withTimeout } from "./helpers/harness.mjs";

const root = path.resolve(clientDir, "..", "..");
const streamsBin = path.resolve(clientDir, process.env.EXWS_STREAMS_BIN || "../../target/debug/examples/streams");
const cliBin = path.resolve(clientDir, process.env.EXWS_CLI_BIN || "../../target/debug/exws");
const contractDir = path.join(clientDir, "test", "contract");
const tsc = path.join(clientDir, "node_modules", "typescript", "bin", "tsc");
const T = { timeout: 120000 };

/** Runs a command; its exit code and output, never throwing. */
async function run(file, args, options = {}) {
  return withTimeout(
    promisify(execFile)(file, args, { cwd: clientDir, ...options }).then(
      (output) => ({ code: 0, ...output }),
      (error) => ({ code: error.code, stdout: error.stdout ?? "", stderr: error.stderr ?? String(error) }),
    ),
    110000,
    `${path.basename(file)} ${args.join(" ")}`,
  );
}

function typecheck(file, extra = []) {
  return run(process.execPath, [
    tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
    "--moduleResolution", "nodenext", "--lib", "es2022,dom", ...extra, file,
  ]);
}

async function document(server) {
  const response = await withTimeout(fetch(server.url.replace(/^ws:/, "http:") + "/asyncapi.json"), 10000, "GET /asyncapi.json");
  assert.equal(response.status, 200, "the example serves its contract (built with --features schema?)");
  assert.match(response.headers.get("content-type"), /^application\/json/);
  return response.text();
}

describe("the examples' contracts", () => {
  const servers = {};

  before(async () => {
    assert.ok(existsSync(cliBin), `the exws CLI is built at ${cliBin} (cargo build -p exws-cli), or set EXWS_CLI_BIN`);
    servers.calculator = await startExample(calculatorBin, "calculator");
    servers.chat = await startExample(chatBin, "chat");
    servers.streams = await startExample(streamsBin, "streams");
  }, T);

  after(async () => {
    for (const server of Object.values(servers)) await server.kill();
  }, T);

  for (const name of ["calculator", "chat", "streams"]) {
    test(`@asyncapi/parser accepts the ${name} example's document with no error or warning`, T, async () => {
      const text = await document(servers[name]);
      const { document: parsed, diagnostics } = await new Parser().parse(text);
      // Severity 0 is an error, 1 a warning; 2 and 3 are hints (e.g. "AsyncAPI 3.1 exists").
      const problems = diagnostics.filter((d) => d.severity <= 1);
      assert.deepEqual(
        problems.map((d) => `${d.code} at ${d.path.join(".")}: ${d.message}`),
        [],
        `${name}'s document is valid AsyncAPI`,
      );
      assert.ok(parsed, "the parser made a document");
      assert.equal(parsed.version(), "3.0.0");
      const operations = parsed.operations().all().map((operation) => operation.id()).sort();
      const expected = {
        calculator: ["call.CalculateRequest"],
        chat: ["call.Broadcast", "call.DirectMessage", "call.JoinRoom", "call.LeaveRoom",
          "call.SendToRoom", "push.Broadcasted", "push.Direct", "push.RoomMessage", "push.Welcome"],
        streams: ["call.CalculateRequest", "call.Countdown", "call.Forever", "call.StreamCancel"],
      }[name];
      assert.deepEqual(operations, expected);
      // Request/reply as AsyncAPI 3 models it, on the one channel.
      const calls = parsed.operations().all().filter((operation) => operation.action() === "receive");
      for (const operation of calls) {
        assert.ok(operation.reply(), `${operation.id()} has a reply`);
        assert.deepEqual(operation.channels().all().map((channel) => channel.id()), ["exws"]);
      }
      if (name === "chat") {
        const joined = parsed.components().messages().get("Joined");
        const data = joined.payload().properties().Data;
        assert.deepEqual(Object.keys(data.properties()).sort(), ["members", "room"]);
        assert.equal(data.properties().members.type(), "integer");
      }
    });
  }

  test("codegen writes the chat's and the streams' declarations; typed calls compile, wrong ones fail at their line", T, async () => {
    for (const name of ["chat", "streams"]) {
      const out = path.join(contractDir, `${name}-contract.d.ts`);
      const result = await run(cliBin, ["codegen", "typescript", servers[name].url, "--out", out]);
      assert.equal(result.code, 0, `codegen ${name}: ${result.stderr}`);
      assert.match(readFileSync(out, "utf8"), /export interface Contract \{/);
    }
    const usage = await typecheck(path.join(contractDir, "usage.ts"));
    assert.equal(usage.code, 0, `usage.ts compiles:\n${usage.stdout}${usage.stderr}`);
    for (const wrong of ["wrong-data-field", "wrong-type", "wrong-reply", "wrong-stream-item", "wrong-push"]) {
      const file = path.join(contractDir, `${wrong}.ts`);
      const marked = readFileSync(file, "utf8").split("\n").findIndex((line) => line.includes("// expect-error")) + 1;
      assert.ok(marked > 0, `${wrong}.ts marks its wrong line`);
      const result = await typecheck(file);
      assert.notEqual(result.code, 0, `${wrong}.ts must not compile`);
      const lines = [...result.stdout.matchAll(/\.ts\((\d+),\d+\): error/g)].map((match) => Number(match[1]));
      assert.ok(lines.length > 0, `${wrong}.ts fails with a type error:\n${result.stdout}`);
      assert.deepEqual([...new Set(lines)], [marked], `${wrong}.ts fails at line ${marked} only:\n${result.stdout}`);
    }
  });

  test("the chat page type-checks against the chat's contract, and its contract.d.ts is current", T, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "exws-chat-page-"));
    try {
      const generated = path.join(dir, "contract.d.ts");
      const result = await run(cliBin, ["codegen", "typescript", servers.chat.url, "--out", generated]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        readFileSync(generated, "utf8"),
        readFileSync(path.join(root, "examples", "chat", "contract.d.ts"), "utf8"),
        "examples/chat/contract.d.ts is what `exws codegen typescript` makes of the chat today: regenerate it",
      );
      copyFileSync(path.join(root, "examples", "chat", "chat.js"), path.join(dir, "chat.js"));
      copyFileSync(path.join(clientDir, "exws.d.ts"), path.join(dir, "exws.d.ts"));
      const checked = await run(process.execPath, [
        tsc, "--noEmit", "--allowJs", "--checkJs", "--target", "es2022", "--module", "nodenext",
        "--moduleResolution", "nodenext", "--lib", "es2022,dom", path.join(dir, "chat.js"),
      ]);
      assert.equal(checked.code, 0, `chat.js type-checks:\n${checked.stdout}${checked.stderr}`);
      // And the check has teeth: a wrong field in the page's JoinRoom call fails it.
      const page = readFileSync(path.join(dir, "chat.js"), "utf8");
      assert.ok(page.includes('client.call("JoinRoom", { room: name }'), "the page joins rooms");
      writeFileSync(path.join(dir, "chat.js"), page.replace('client.call("JoinRoom", { room: name }', 'client.call("JoinRoom", { rooms: name }'));
      const broken = await run(process.execPath, [
        tsc, "--noEmit", "--allowJs", "--checkJs", "--target", "es2022", "--module", "nodenext",
        "--moduleResolution", "nodenext", "--lib", "es2022,dom", path.join(dir, "chat.js"),
      ]);
      assert.notEqual(broken.code, 0, "a wrong Data field in chat.js fails the check");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
