// Must NOT compile (test/contract.test.mjs): a `Presence`'s `joined` is a boolean.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./chat-contract.js";

const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
client.on("Presence", (presence) => {
  const joined: string = presence.joined; // expect-error
  console.log(joined);
});
