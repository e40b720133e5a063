// exws.d.ts matches exws.js: the same exports, the same ExwsClient members, and it compiles
// (with a usage file) under tsc --strict.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { clientDir, withTimeout } from "./helpers/harness.mjs";

const declarations = readFileSync(path.join(clientDir, "exws.d.ts"), "utf8");

function declaredValueExports(source) {
  const names = [];
  for (const match of source.matchAll(/^export declare (?:const|class|function) (\w+)/gm)) names.push(match[1]);
  return names.sort();
}

function classBody(source, name) {
  const start = source.search(new RegExp(`export declare class ${name}[ <]`));
  assert.ok(start >= 0, `class ${name} is declared`);
  let depth = 0;
  for (let i = source.indexOf("{", start); i < source.length; i += 1) {
    if (source[i] === "{") depth += 1;
    else if (source[i] === "}" && --depth === 0) return source.slice(source.indexOf("{", start) + 1, i);
  }
  throw new Error("unbalanced braces");
}

function declaredMembers(body) {
  // Members at the class's top level: lines indented by two spaces, outside comments.
  const names = new Set();
  for (const line of body.split("\n")) {
    const match = /^ {2}(?:get |set )?(#?\w+)[<(:;?]/.exec(line);
    if (match) names.add(match[1]);
  }
  return [...names].sort();
}

test("exws.d.ts declares exactly the values exws.js exports", { timeout: 30000 }, async () => {
  const module = await import(path.join(clientDir, "exws.js"));
  assert.deepEqual(declaredValueExports(declarations), Object.keys(module).sort());
});

test("exws.d.ts declares exactly the members of ExwsClient and ExwsError", { timeout: 30000 }, async () => {
  const { ExwsClient, ExwsError } = await import(path.join(clientDir, "exws.js"));
  const clientMembers = Object.getOwnPropertyNames(ExwsClient.prototype).filter((n) => n !== "constructor");
  assert.deepEqual(
    declaredMembers(classBody(declarations, "ExwsClient")),
    ["#private", "constructor", ...clientMembers].sort(),
  );
  const error = new ExwsError("timeout", "m", { type: "T", id: 1, data: null });
  const errorFields = Object.keys(error).filter((n) => n !== "message");
  assert.deepEqual(
    declaredMembers(classBody(declarations, "ExwsError")),
    ["constructor", ...errorFields].sort(),
  );
  assert.equal(error.name, "ExwsError");
  assert.ok(error instanceof Error);
});

test("exws.d.ts compiles with a usage file under tsc --strict", { timeout: 120000 }, async () => {
  const tsc = path.join(clientDir, "node_modules", "typescript", "bin", "tsc");
  const args = [
    tsc,
    "--noEmit",
    "--strict",
    "--target", "es2022",
    "--module", "nodenext",
    "--moduleResolution", "nodenext",
    "--lib", "es2022,dom",
    path.join(clientDir, "test", "types-usage.ts"),
  ];
  const result = await withTimeout(
    promisify(execFile)(process.execPath, args, { cwd: clientDir }).then(
      (output) => ({ code: 0, ...output }),
      (error) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    ),
    110000,
    "tsc",
  );
  assert.equal(result.code, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
