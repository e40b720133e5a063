// Must NOT compile (test/contract.test.mjs): the chat server has no request `Type` `JoinRooms`.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./chat-contract.js";

const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
void client.call("JoinRooms", { room: "lobby" }); // expect-error
