// Must NOT compile (test/contract.test.mjs): `JoinRoom`'s reply is `Joined`, whose `members` is
// a number, not a list.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./chat-contract.js";

async function misuse(): Promise<void> {
  const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
  const joined = await client.call("JoinRoom", { room: "lobby" });
  joined.members.map((member) => member); // expect-error
}
void misuse;
