// Compiled (not run) by test/types.test.mjs with tsc --strict against exws.d.ts.
import {
  connect,
  DEFAULT_OPTIONS,
  ExwsClient,
  ExwsError,
  ExwsStream,
  registerHandler,
  STATES,
  unregisterHandler,
  type ExwsEnvelope,
  type ExwsState,
  type ExwsStateInfo,
} from "../exws.js";

interface CalculateResponse {
  result: number;
}

window.exwsHandlers = [["CalculateResponse", (data: CalculateResponse) => console.log(data.result)]];

async function usage(): Promise<void> {
  const client = new ExwsClient("ws://127.0.0.1:8765", {
    reconnect: true,
    backoff: { initialMs: 250, maxMs: 10000, factor: 2 },
    callTimeoutMs: 30000,
    maxQueue: 100,
    protocols: ["exws.v1"],
    autoConnect: false,
    onError: (error, context) => {
      if (context.kind === "handler") console.log(context.type, context.envelope.Type, error);
    },
  });
  const same: ExwsClient = client.connect();
  const state: ExwsState = same.state;
  const response = await client.call<CalculateResponse>("CalculateRequest", { numbers: [2, 2] });
  const result: number = response.result;
  const untyped = await client.call("CalculateRequest", { numbers: [1] }, { timeoutMs: 500 });
  const sent: boolean = client.send("chat.message", { text: "hi" });
  const off = client.on<CalculateResponse>("CalculateResponse", (data, envelope: ExwsEnvelope<CalculateResponse>, who) => {
    const n: number = data.result;
    const id = envelope.Id;
    who.send("Ack", { n, id });
  });
  off();
  const all = (_data: unknown, envelope: ExwsEnvelope) => console.log(envelope.Type);
  client.on("*", all);
  client.off("*", all);
  const stop = client.onState((next: ExwsState, info: ExwsStateInfo) => {
    const wait: number | undefined = info.retryInMs;
    console.log(next, info.previous, info.attempt, wait);
  });
  stop();
  client.offState(() => {});
  client.close();
  client.close(4000, "bye");
  try {
    await client.call("X");
  } catch (error) {
    if (error instanceof ExwsError) {
      const code: string = error.code;
      const type: string | undefined = error.type;
      console.log(code, type, error.id, error.data, error.message, error.name);
    }
  }
  interface Tick {
    n: number;
  }
  const ticks: ExwsStream<Tick> = client.stream<Tick>("Countdown", { from: 3, interval_ms: 10 });
  for await (const tick of ticks) {
    const n: number = tick.n;
    if (n === 2) break;
  }
  const handle = client.stream<Tick>("Forever", { interval_ms: 10 }, {
    onItem: (tick, envelope, stream) => console.log(tick.n, envelope.Id, stream.id),
    onEnd: () => console.log("end"),
    onError: (error: ExwsError) => console.log(error.code),
    bufferSize: 10,
  });
  const open: boolean = handle.open;
  await handle.cancel();
  const buffered: number = DEFAULT_OPTIONS.streamBufferSize;
  console.log(open, buffered);
  // @ts-expect-error unknown stream option
  client.stream("Forever", {}, { onitem: () => {} });
  const other = connect(() => new URL("/ws", "http://localhost"), { reconnect: false });
  const unregister = registerHandler("Hello", (data: { n: number }) => data.n);
  unregister();
  unregisterHandler("Hello", all);
  const first: "connecting" = STATES[0];
  const timeout: number = DEFAULT_OPTIONS.callTimeoutMs;
  const initial: number = DEFAULT_OPTIONS.backoff.initialMs;
  console.log(state, result, untyped, sent, other, first, timeout, initial);

  // @ts-expect-error the type is a string
  client.send(5, {});
  // @ts-expect-error no such state
  const bad: ExwsState = "reconnecting";
  // @ts-expect-error send returns a boolean
  const notString: string = client.send("A");
  // @ts-expect-error unknown option
  new ExwsClient("ws://x", { reconect: true });
  // @ts-expect-error state is read-only
  client.state = "online";
  console.log(bad, notString);
}

void usage;
