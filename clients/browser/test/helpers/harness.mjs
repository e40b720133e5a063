// Test harness: the real calculator and chat examples as servers, a tiny HTTP server for the
// page under test, and headless Debian Chromium driven by playwright-core.

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const clientDir = path.resolve(here, "..", "..");

/** The calculator example binary: $EXWS_CALCULATOR_BIN, or the repo's debug build. */
export const calculatorBin = path.resolve(
  clientDir,
  process.env.EXWS_CALCULATOR_BIN || "../../target/debug/examples/calculator",
);

/** The chat example binary: $EXWS_CHAT_BIN, or the repo's debug build. */
export const chatBin = path.resolve(
  clientDir,
  process.env.EXWS_CHAT_BIN || "../../target/debug/examples/chat",
);

/** The streams example binary: $EXWS_STREAMS_BIN, or the repo's debug build. */
export const streamsBin = path.resolve(
  clientDir,
  process.env.EXWS_STREAMS_BIN || "../../target/debug/examples/streams",
);

/** The recovery example binary: $EXWS_RECOVERY_BIN, or the repo's debug build. */
export const recoveryBin = path.resolve(
  clientDir,
  process.env.EXWS_RECOVERY_BIN || "../../target/debug/examples/recovery",
);

/**
 * A TCP proxy on 127.0.0.1 to `port`, whose connections a test cuts (the sockets are destroyed:
 * no close frame) and which refuses new ones until accept().
 */
export async function startProxy(port) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    cut() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    accept() {
      refusing = false;
    },
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

export const chromiumPath = process.env.EXWS_CHROMIUM || "/usr/bin/chromium";

/** Rejects when `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the calculator example on 127.0.0.1 (port 0 unless given) and waits for its
 * `exws listening on ws://IP:PORT` line. Retries a few times when a fixed port is still busy.
 */
export async function startCalculator({ port = 0, attempts = 20 } = {}) {
  if (!existsSync(calculatorBin)) {
    throw new Error(
      `calculator example not found at ${calculatorBin}: run \`cargo build --example calculator\` ` +
        "from the repository root, or set EXWS_CALCULATOR_BIN",
    );
  }
  let lastError;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      return await spawnExample(calculatorBin, "calculator", port);
    } catch (error) {
      lastError = error;
      if (port === 0) break;
      await sleep(250);
    }
  }
  throw lastError;
}

/**
 * Starts the chat example (which also serves its page at `/` and exws.js at `/exws.js`) on
 * 127.0.0.1 (port 0 unless given) and waits for its listening line; `httpUrl` is the page's
 * address. Retries a few times when a fixed port is still busy.
 */
export async function startChat({ port = 0, attempts = 20 } = {}) {
  if (!existsSync(chatBin)) {
    throw new Error(
      `chat example not found at ${chatBin}: run \`cargo build --example chat\` ` +
        "from the repository root, or set EXWS_CHAT_BIN",
    );
  }
  let lastError;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      const server = await spawnExample(chatBin, "chat", port);
      return { ...server, httpUrl: server.url.replace(/^ws:/, "http:") + "/" };
    } catch (error) {
      lastError = error;
      if (port === 0) break;
      await sleep(250);
    }
  }
  throw lastError;
}

/**
 * Starts the streams example (Countdown, Forever and the calculator) on 127.0.0.1, port 0, and
 * waits for its listening line.
 */
export async function startStreams() {
  if (!existsSync(streamsBin)) {
    throw new Error(
      `streams example not found at ${streamsBin}: run \`cargo build --example streams\` ` +
        "from the repository root, or set EXWS_STREAMS_BIN",
    );
  }
  return spawnExample(streamsBin, "streams", 0);
}

/** Starts any example binary on 127.0.0.1 (port 0 unless given), as startChat does. */
export function startExample(binary, name, { port = 0 } = {}) {
  if (!existsSync(binary)) {
    throw new Error(`${name} example not found at ${binary}: run \`cargo build --example ${name}\``);
  }
  return spawnExample(binary, name, port);
}

function spawnExample(binary, name, port) {
  const child = spawn(binary, [], {
    env: { ...process.env, EXWS_ADDR: `127.0.0.1:${port}`, RUST_LOG: process.env.RUST_LOG || "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const listening = new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = /exws listening on (ws:\/\/(\S+):(\d+))/.exec(stdout);
      if (match) resolve({ url: match[1], port: Number(match[3]) });
    });
    child.once("error", reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before listening:\n${stderr}`)),
    );
  });
  return withTimeout(listening, 20000, `${name} to print its listening line`).then(
    ({ url, port: boundPort }) => ({
      url,
      port: boundPort,
      pid: child.pid,
      exited,
      signal: (name) => child.kill(name),
      /**
       * SIGSTOP, and wait until the kernel reports the process stopped: delivery is asynchronous
       * and, on a loaded machine, a worker thread can still answer a request before it stops.
       */
      async pause() {
        child.kill("SIGSTOP");
        const deadline = Date.now() + 10000;
        while (processState(child.pid) !== "T") {
          if (Date.now() > deadline) throw new Error(`${name} ${child.pid} did not stop after SIGSTOP`);
          await sleep(5);
        }
      },
      resume: () => child.kill("SIGCONT"),
      /** SIGKILL, and wait until the process is gone. */
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await withTimeout(exited, 10000, `${name} to exit`);
      },
    }),
    async (error) => {
      child.kill("SIGKILL");
      throw error;
    },
  );
}

// The one-letter state of a Linux process ("R", "S", "T" for stopped, ...), from /proc.
function processState(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^State:\s+(\S)/m.exec(status);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

/** A port nothing listens on (bound, then released). */
export async function unusedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>exws client test</title>
<script>
  // Registered before exws.js loads: picked up from window.exwsHandlers.
  window.preloaded = [];
  window.exwsHandlers = [["CalculateResponse", (data, envelope) => window.preloaded.push({ data, envelope })]];
  // Bounds an in-page await.
  window.within = (promise, ms, label) => Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after " + ms + " ms: " + label)), ms)),
  ]);
  // An ExwsError (or any error) as plain data the test can receive.
  window.plainError = (error) => ({
    isExwsError: error instanceof window.exws.ExwsError,
    isError: error instanceof Error,
    name: error && error.name,
    code: error && error.code,
    message: error && error.message,
    type: error && error.type,
    id: error && error.id,
  });
</script>
<script type="module">
  import * as exws from "/exws.js";
  window.exws = exws;
  document.body.dataset.ready = "yes";
</script>
</head>
<body></body>
</html>
`;

/** Serves the test page at / and exws.js at /exws.js. */
export async function startPageServer() {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, "http://localhost");
    if (url.pathname === "/") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      response.end(PAGE);
    } else if (url.pathname === "/exws.js") {
      response.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
      response.end(readFileSync(path.join(clientDir, "exws.js")));
    } else if (url.pathname === "/favicon.ico") {
      response.writeHead(204);
      response.end();
    } else {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found\n");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function launchBrowser() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: install Debian's chromium (run-tests.sh does)`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30000,
  });
}

/**
 * A fresh page (own context) with exws.js loaded as window.exws. `problems` collects uncaught
 * page errors and console errors, for tests to assert none happened.
 */
export async function openPage(browser, pageServer) {
  const context = await withTimeout(browser.newContext(), 15000, "a browser context");
  const page = await withTimeout(context.newPage(), 15000, "a new page");
  page.setDefaultTimeout(15000);
  const problems = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
  });
  await withTimeout(page.goto(pageServer.url), 15000, "page to load");
  await page.waitForSelector("body[data-ready=yes]", { state: "attached", timeout: 15000 });
  return { page, problems, close: () => withTimeout(context.close(), 15000, "the browser context to close") };
}
