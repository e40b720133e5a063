// Must NOT compile (test/contract.test.mjs): a `RoomMessage`'s `text` is a string.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./chat-contract.js";

const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
client.on("RoomMessage", (message) => {
  const text: number = message.text; // expect-error
  console.log(text);
});
