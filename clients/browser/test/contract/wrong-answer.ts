// Must NOT compile (test/contract.test.mjs): `ConfirmPayment` is answered with a
// `Confirmation`, whose `accepted` is a boolean, not a string.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./calls-contract.js";

function misuse(): void {
  const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
  client.answer("ConfirmPayment", () => ({ accepted: "yes" })); // expect-error
}
void misuse;
