"""A PyStrands backend written against the PyPI client (`pystrands==1.0.0`), unchanged, for the
gateway tests. It prints every event it gets as one JSON line on stdout, and acts on messages:
`room:R:text` to room R, `all:text` to everyone, `to:ID:text` to client ID, anything else
echoed to its sender. Headers decide admission: `X-Reject` refuses, `X-Client-Id` names the
client, `X-Role` goes into its metadata; the room is the last segment of the path."""

import json
import sys
import threading

from pystrands import PyStrandsClient


def log(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class Backend(PyStrandsClient):
    def on_connection_request(self, request):
        headers = request.headers
        log("connection_request", headers=headers, url=request.url,
            remote_addr=request.remote_addr)
        if "X-Reject" in headers:
            return False
        if "X-Client-Id" in headers:
            request.context.client_id = headers["X-Client-Id"][0]
        request.context.room_id = request.url.rsplit("/", 1)[-1]
        request.context.metadata = {"role": headers.get("X-Role", ["guest"])[0]}
        return True

    def on_new_connection(self, context):
        log("new_connection", context=context.to_json())

    def on_message(self, message, context):
        log("new_message", message=message, context=context.to_json())
        command, _, rest = message.partition(":")
        if command == "room":
            room, _, text = rest.partition(":")
            self.send_room_message(room, text)
        elif command == "all":
            self.broadcast_message(rest)
        elif command == "to":
            target, _, text = rest.partition(":")
            self.send_private_message(target, text)
        else:
            self.send_private_message(context.client_id, message)

    def on_disconnect(self, context):
        log("disconnected", context=context.to_json())

    def on_error(self, error, context):
        log("error", error=error)


backend = Backend(host="127.0.0.1", port=int(sys.argv[1]), auto_reconnect=False)
if not backend.connect():
    sys.exit(3)
log("ready")
threading.Event().wait()
