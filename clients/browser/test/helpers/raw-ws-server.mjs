// A minimal WebSocket server (RFC 6455, unfragmented frames only) for the one test that needs a
// server which misbehaves on purpose: it sends frames a real exws server never sends (invalid
// JSON, non-envelopes, binary). Every other test talks to the real calculator example.

import http from "node:http";
import crypto from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function frame(opcode, payload) {
  const length = payload.length;
  let header;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/**
 * Starts a server on 127.0.0.1, port 0. `onConnection(conn)` gets each connection:
 * conn.sendText(string), conn.sendBinary(Buffer), conn.close(), conn.onText = (string) => {}.
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startRawWsServer(onConnection) {
  const sockets = new Set();
  const server = http.createServer((_request, response) => {
    response.writeHead(426, { "content-type": "text/plain" });
    response.end("WebSocket only\n");
  });
  server.on("upgrade", (request, socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const key = request.headers["sec-websocket-key"];
    if (typeof key !== "string") {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    const accept = crypto.createHash("sha1").update(key + GUID).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const conn = {
      onText: null,
      sendText: (text) => socket.write(frame(0x1, Buffer.from(text, "utf8"))),
      sendBinary: (bytes) => socket.write(frame(0x2, Buffer.from(bytes))),
      close: (code = 1000) => {
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(code, 0);
        socket.end(frame(0x8, payload));
      },
    };
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length < 2) return;
        const opcode = buffer[0] & 0x0f;
        const masked = (buffer[1] & 0x80) !== 0;
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        const maskOffset = offset;
        if (masked) offset += 4;
        if (buffer.length < offset + length) return;
        const payload = Buffer.from(buffer.subarray(offset, offset + length));
        if (masked) {
          for (let i = 0; i < payload.length; i += 1) payload[i] ^= buffer[maskOffset + (i % 4)];
        }
        buffer = buffer.subarray(offset + length);
        if (opcode === 0x1 && conn.onText) conn.onText(payload.toString("utf8"));
        else if (opcode === 0x8) socket.end(frame(0x8, payload.subarray(0, 2)));
        else if (opcode === 0x9) socket.write(frame(0xa, payload));
      }
    });
    onConnection(conn);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
