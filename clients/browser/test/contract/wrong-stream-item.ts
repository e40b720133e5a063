// Must NOT compile (test/contract.test.mjs): `Countdown`'s items are `Tick`s, which have no `text`.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./streams-contract.js";

async function misuse(): Promise<void> {
  const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
  for await (const tick of client.stream("Countdown", { from: 3, interval_ms: 10 })) {
    console.log(tick.text); // expect-error
  }
}
void misuse;
