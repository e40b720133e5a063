// Must NOT compile (test/contract.test.mjs): the contract's server makes no `Refund` call, so a
// typed client has nothing to answer by that name.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./calls-contract.js";

function misuse(): void {
  const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
  client.answer("Refund", () => ({ accepted: true })); // expect-error
}
void misuse;
