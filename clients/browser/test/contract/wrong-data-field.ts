// Must NOT compile (test/contract.test.mjs): `JoinRoom`'s Data has no field `name`.
import { ExwsClient } from "../../exws.js";
import type { Contract } from "./chat-contract.js";

const client = new ExwsClient<Contract>("ws://127.0.0.1:8765");
void client.call("JoinRoom", { name: "lobby" }); // expect-error
