"""Checks exws against a client in another language: Python's `websockets` (pip install websockets)
against the calculator example. Usage: python3 scripts/python_interop.py ws://127.0.0.1:8765/

Every answer the protocol promises for one connection: replies, Id echo, each error code the
calculator can produce, binary frames, ordering of 1000 pipelined requests, message_too_large and
close 1009.
"""
import asyncio, json, sys
import websockets

URL = sys.argv[1]
checks = []

def check(name, got, want):
    ok = got == want
    checks.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"\n     got  {got!r}\n     want {want!r}"))

async def main():
    async with websockets.connect(URL, max_size=None) as ws:
        async def ask(frame):
            await ws.send(frame)
            return json.loads(await ws.recv())
        check("reply", await ask('{"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}}'),
              {"Type": "CalculateResponse", "Data": {"result": 4}})
        check("integer Id echoed", await ask('{"Type": "CalculateRequest", "Data": {"numbers": [1, 2]}, "Id": 7}'),
              {"Type": "CalculateResponse", "Data": {"result": 3}, "Id": 7})
        check("string Id echoed", (await ask('{"Type": "CalculateRequest", "Data": {"numbers": []}, "Id": "a-1"}'))["Id"], "a-1")
        r = await ask('not json'); check("invalid_json", r["Data"]["code"], "invalid_json")
        r = await ask('{"Data": 1}'); check("invalid_envelope", r["Data"]["code"], "invalid_envelope")
        r = await ask('{"Type": "Foo", "Id": 3}')
        check("unknown_type", (r["Type"], r["Data"]["code"], r["Data"]["type"], r["Id"]), ("Error", "unknown_type", "Foo", 3))
        r = await ask('{"Type": "CalculateRequest", "Data": {"numbers": [1, "x"]}}')
        check("invalid_data names the path", (r["Data"]["code"], "numbers[1]" in r["Data"]["message"]), ("invalid_data", True))
        await ws.send(b"\x00\x01")
        r = json.loads(await ws.recv()); check("unsupported_frame", r["Data"]["code"], "unsupported_frame")
        # ordering of pipelined requests
        for i in range(1000):
            await ws.send(json.dumps({"Type": "CalculateRequest", "Data": {"numbers": [i]}, "Id": i}))
        ids = [json.loads(await ws.recv())["Id"] for _ in range(1000)]
        check("1000 pipelined replies in order", ids, list(range(1000)))
        # message_too_large closes with 1009
        await ws.send('{"Type": "CalculateRequest", "Data": {"numbers": [' + "1," * 600_000 + '1]}}')
        r = json.loads(await ws.recv()); check("message_too_large", r["Data"]["code"], "message_too_large")
        try:
            await ws.recv()
        except websockets.ConnectionClosed as closed:
            check("close code 1009", closed.rcvd.code if closed.rcvd else None, 1009)

asyncio.run(main())
print(f"{sum(checks)}/{len(checks)} checks passed")
sys.exit(0 if all(checks) else 1)
