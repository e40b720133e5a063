// The chat page's script (examples/chat/index.html), served by the chat example at /chat.js.
// Its one import is the browser client, served at /exws.js. Type-checked by tsc (checkJs)
// against the chat server's generated contract, contract.d.ts
// (clients/browser/test/contract.test.mjs).
import { ExwsClient } from "./exws.js";

/** The page's element with this id. @param {string} id @returns {any} */
const $ = (id) => document.getElementById(id);

// ---- state -------------------------------------------------------------------------------
// Conversations by key: "room:<name>", "dm:<connection id>" or "everyone".
const conversations = new Map();
// Joined rooms by name: { count: member count, members: Set of ids once the list arrived }.
const rooms = new Map();
let me = null; // our connection id, from Welcome
let active = null; // the key of the conversation on screen
let peopleRoom = null; // the room whose members the right panel shows

function conversation(key) {
  let entry = conversations.get(key);
  if (!entry) {
    entry = { key, messages: [], unread: 0 };
    conversations.set(key, entry);
  }
  return entry;
}
const roomKey = (room) => `room:${room}`;
const dmKey = (id) => `dm:${id}`;

// ---- small rendering helpers (text only: nothing from the network becomes HTML) -------------
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A colour per id. Ids of one server differ only in their counter: stepping the hue by the
// golden angle per counter keeps neighbours far apart; a hash of the prefix varies the start.
function hue(id) {
  const [prefix, rest] = idParts(String(id));
  let hash = 0x811c9dc5;
  for (const char of prefix) hash = Math.imul(hash ^ char.codePointAt(0), 0x01000193);
  const counter = /^[0-9a-f]{1,12}$/i.test(rest) ? parseInt(rest, 16) : [...rest].length;
  return Math.round(((hash >>> 0) % 360) + counter * 137.508) % 360;
}

// Ids look like "<process prefix>-<counter>"; the counter tells people of one server apart.
function idParts(id) {
  const at = id.lastIndexOf("-");
  return at > 0 ? [id.slice(0, at + 1), id.slice(at + 1)] : ["", id];
}

function avatar(id, small) {
  const node = el("div", small ? "avatar small" : "avatar", idParts(id)[1].slice(-3).toUpperCase());
  node.style.setProperty("--hue", String(hue(id)));
  node.setAttribute("aria-hidden", "true");
  return node;
}

// The id with its shared prefix dimmed (and, when space is short, cut rather than the part
// that tells people apart); its textContent is the whole id.
function idText(tag, className, id) {
  const node = el(tag, className ? `${className} id-text` : "id-text");
  const [prefix, rest] = idParts(id);
  if (prefix) node.append(el("span", "id-prefix", prefix));
  node.append(el("span", "id-rest", rest));
  node.title = id;
  return node;
}

const clock = (date) => date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function toast(text) {
  const node = el("div", "toast", text);
  node.setAttribute("role", "alert");
  $("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
}

// ---- messages ----------------------------------------------------------------------------
// kind: "room" | "direct" | "broadcast" | "notice"; from: a connection id (not for notices).
function addMessage(key, message) {
  const entry = conversation(key);
  message.at = new Date();
  message.mine = message.from !== undefined && message.from === me;
  entry.messages.push(message);
  if (key === active) {
    const list = $("messages");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(renderMessage(message, entry.messages[entry.messages.length - 2]));
    if (nearBottom || message.mine) list.scrollTop = list.scrollHeight;
  } else if (message.kind !== "notice") {
    entry.unread += 1;
    renderNav();
  }
}

function renderMessage(message, previous) {
  if (message.kind === "notice") {
    const node = el("li", message.error ? "notice error" : "notice", message.text);
    node.dataset.kind = "notice";
    return node;
  }
  const mine = message.mine;
  const continued = previous && previous.kind !== "notice" && previous.from === message.from
    && message.at - previous.at < 120000;
  const node = el("li", `message${mine ? " mine" : ""}${continued ? " continued" : ""}`);
  node.dataset.kind = message.kind;
  node.dataset.from = message.from;
  node.append(avatar(message.from));
  const content = el("div", "content");
  const meta = el("div", "meta");
  if (mine) meta.append(el("span", "from", "You"));
  else meta.append(idText("span", "from", message.from));
  meta.append(el("time", "", clock(message.at)));
  content.append(meta, el("div", "bubble text", message.text));
  node.append(content);
  return node;
}

// ---- rendering the page --------------------------------------------------------------------
function renderAll() {
  renderNav();
  renderConversation();
  renderPeople();
}

// Everything but the message list.
function renderChrome() {
  renderNav();
  renderHeader();
  renderPeople();
}

function navButton(key, glyph, name, extra) {
  const button = el("button", "nav-item");
  button.type = "button";
  button.dataset.conversation = key;
  if (key === active) button.setAttribute("aria-current", "true");
  const icon = el("span", "glyph", glyph);
  icon.setAttribute("aria-hidden", "true");
  button.append(icon, name);
  if (extra) button.append(extra);
  const unread = conversation(key).unread;
  if (unread > 0) button.append(el("span", "unread", String(unread)));
  button.addEventListener("click", () => select(key));
  return button;
}

function renderNav() {
  const roomList = $("rooms");
  roomList.replaceChildren();
  for (const [name, room] of [...rooms].sort(([a], [b]) => a.localeCompare(b))) {
    const item = el("li");
    item.dataset.room = name;
    const count = el("span", "count", String(room.count));
    count.title = plural(room.count, "member");
    item.append(navButton(roomKey(name), "#", el("span", "name", name), count));
    roomList.append(item);
  }
  $("rooms-empty").hidden = rooms.size > 0;

  const directs = $("directs");
  directs.replaceChildren();
  const peers = [...conversations.keys()].filter((key) => key.startsWith("dm:")).map((key) => key.slice(3));
  for (const peer of peers.sort()) {
    const item = el("li");
    item.dataset.peer = peer;
    item.append(navButton(dmKey(peer), "@", idText("span", "name mono", peer)));
    directs.append(item);
  }
  $("directs-empty").hidden = peers.length > 0;

  const everyone = $("everyone");
  const unread = conversation("everyone").unread;
  everyone.querySelector(".unread").hidden = unread === 0;
  everyone.querySelector(".unread").textContent = String(unread);
  if (active === "everyone") everyone.setAttribute("aria-current", "true");
  else everyone.removeAttribute("aria-current");

  const total = [...conversations.values()].reduce((sum, entry) => sum + entry.unread, 0);
  document.title = total > 0 ? `(${total}) exws chat` : "exws chat";
}

function renderConversation() {
  renderHeader();
  const list = $("messages");
  list.replaceChildren();
  const entry = active === null ? null : conversation(active);
  if (entry) {
    entry.messages.forEach((message, index) => list.append(renderMessage(message, entry.messages[index - 1])));
  }
  list.hidden = entry === null;
  $("empty").hidden = entry !== null;
  $("composer-input").disabled = entry === null;
  $("send-button").disabled = entry === null;
  list.scrollTop = list.scrollHeight;
}

function renderHeader() {
  const title = $("conversation-title");
  const subtitle = $("conversation-subtitle");
  const input = $("composer-input");
  const leave = $("leave-button");
  leave.hidden = true;
  title.replaceChildren();
  if (active === null) {
    title.textContent = "Welcome";
    subtitle.textContent = "Join a room to start.";
    input.placeholder = "Join a room to write";
  } else if (active.startsWith("room:")) {
    const name = active.slice(5);
    const room = rooms.get(name);
    title.append(el("span", "hash", "#"), ` ${name}`);
    const others = room ? room.count - 1 : 0;
    subtitle.textContent = room
      ? `${plural(room.count, "member")} · ${others === 0 ? "only you so far" : `you and ${plural(others, "other")}`}`
      : "";
    input.placeholder = `Message #${name}`;
    leave.hidden = false;
  } else if (active.startsWith("dm:")) {
    const peer = active.slice(3);
    title.append("Direct · ", idText("span", "", peer));
    subtitle.textContent = "Only the two of you see these messages.";
    input.placeholder = `Message ${peer}`;
  } else {
    title.textContent = "Broadcast";
    subtitle.textContent = "Everyone connected to this server sees these messages.";
    input.placeholder = "Message everyone";
  }
}

function renderPeople() {
  const list = $("members");
  list.replaceChildren();
  const room = peopleRoom === null ? undefined : rooms.get(peopleRoom);
  $("who-room").textContent = room ? `· #${peopleRoom}` : "";
  const hint = $("members-hint");
  if (!room) {
    hint.textContent = "Open a room to see who is in it.";
    hint.hidden = false;
    return;
  }
  if (!room.members) {
    hint.textContent = "Loading…";
    hint.hidden = false;
    return;
  }
  hint.hidden = true;
  const ids = [...room.members].sort((a, b) => (a === me ? -1 : b === me ? 1 : a.localeCompare(b)));
  for (const id of ids) {
    const item = el("li");
    item.dataset.member = id;
    const button = el("button", "member");
    button.type = "button";
    button.append(avatar(id, true), idText("span", "id", id));
    if (id === me) {
      button.disabled = true;
      button.append(el("span", "you", "you"));
    } else {
      button.title = `Message ${id} directly`;
      button.append(el("span", "dm", "message"));
      button.addEventListener("click", () => {
        conversation(dmKey(id));
        select(dmKey(id));
      });
    }
    list.append(item);
    item.append(button);
  }
}

function select(key) {
  active = key;
  if (key !== null) conversation(key).unread = 0;
  if (key !== null && key.startsWith("room:")) peopleRoom = key.slice(5);
  renderAll();
  if (key !== null) $("composer-input").focus();
}

// ---- the connection ----------------------------------------------------------------------
// The page's ?name= becomes this connection's presence meta ({name}), which others see.
const myName = new URLSearchParams(location.search).get("name");
/**
 * Typed by the chat server's contract (contract.d.ts, made by `exws codegen typescript` from the
 * server's /asyncapi.json): tsc checks every `Type` and `Data` below against the handlers.
 * @type {ExwsClient<import("./contract.js").Contract>}
 */
const client = new ExwsClient(myName ? `/?name=${encodeURIComponent(myName)}` : "/");

const STATE_TEXT = {
  connecting: "Connecting…",
  online: "Online",
  offline: "Offline · reconnecting",
  error: "Cannot connect · retrying",
};
client.onState((state, info) => {
  $("state").dataset.state = state;
  $("state-text").textContent = STATE_TEXT[state] || state;
  if (state === "offline" && info.previous === "online" && active !== null) {
    addMessage(active, { kind: "notice", text: "Connection lost. Reconnecting…" });
  }
});

client.on("Welcome", ({ id }) => {
  const previous = me;
  me = id;
  $("my-id").replaceChildren(idText("span", "", id));
  $("my-id").title = id;
  const mine = avatar(id, true);
  mine.id = "my-avatar";
  $("my-avatar").replaceWith(mine);
  if (previous !== null && previous !== id) {
    // A new connection is a new id in no room: join the rooms again.
    for (const name of rooms.keys()) {
      addMessage(roomKey(name), { kind: "notice", text: `Reconnected as ${id}` });
      join(name, { quiet: true });
    }
  }
  renderAll();
});

client.on("RoomMessage", ({ room, from, text }) => {
  if (!rooms.has(room)) return; // a late message for a room we left
  addMessage(roomKey(room), { kind: "room", from, text });
});

client.on("Direct", ({ from, text }) => {
  const isNew = !conversations.has(dmKey(from));
  addMessage(dmKey(from), { kind: "direct", from, text });
  if (isNew) renderNav();
});

client.on("Broadcasted", ({ from, text }) => {
  addMessage("everyone", { kind: "broadcast", from, text });
});

// Who is here: exws's presence watch of each joined room (one entry per user, or per
// connection without a user; each connection's meta is {name} from the page's ?name=).
function watchRoom(name, room) {
  room.watch = client.watchPresence(name, {
    onChange: (presence, change) => {
      if (rooms.get(name) !== room) return; // left meanwhile
      room.members = new Set(presence.connections());
      room.count = room.members.size;
      const tell = (/** @type {import("./exws.js").ExwsPresenceEntry[]} */ entries, /** @type {string} */ verb) => {
        for (const entry of entries) {
          for (const { connection } of entry.metas) {
            if (connection !== me) addMessage(roomKey(name), { kind: "notice", text: `${connection} ${verb}` });
          }
        }
      };
      if (change.diff) {
        tell(change.diff.joins, "joined");
        tell(change.diff.leaves, "left");
      }
      renderChrome();
    },
    // The server ends the watch when we leave the room; a lost connection ends it too (the
    // rooms are joined again, and watched again, on reconnection).
    onError: () => {},
  });
}

// Errors of fire-and-forget sends (an Error with an Id settles its call instead).
client.on("Error", (data, envelope) => {
  if (envelope.Id !== undefined) return;
  toast(data && data.message ? data.message : "The server reported an error");
});

async function join(name, { quiet = false } = {}) {
  try {
    const joined = await client.call("JoinRoom", { room: name }, { timeoutMs: 10000 });
    const known = rooms.get(joined.room);
    const room = known || { count: joined.members, members: null, watch: null };
    room.count = joined.members;
    room.members = null;
    rooms.set(joined.room, room);
    if (!quiet) {
      addMessage(roomKey(joined.room), {
        kind: "notice",
        text: `You joined #${joined.room} · ${plural(joined.members, "member")}`,
      });
      select(roomKey(joined.room));
    } else {
      renderChrome();
    }
    // Who is here: the room's presence, then its changes as people come and go.
    if (room.watch) room.watch.cancel();
    watchRoom(joined.room, room);
  } catch (error) {
    toast(`Could not join #${name}: ${error.message}`);
  }
}

async function leave(name) {
  try {
    await client.call("LeaveRoom", { room: name }, { timeoutMs: 10000 });
  } catch (error) {
    toast(`Could not leave #${name}: ${error.message}`);
    return;
  }
  const room = rooms.get(name);
  if (room && room.watch) room.watch.cancel(); // ended by the server already, as we left
  rooms.delete(name);
  conversations.delete(roomKey(name));
  if (peopleRoom === name) peopleRoom = rooms.size > 0 ? [...rooms.keys()][0] : null;
  select(active === roomKey(name) ? (peopleRoom === null ? null : roomKey(peopleRoom)) : active);
}

// ---- the forms ---------------------------------------------------------------------------
$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("room-input");
  const name = input.value.trim();
  if (name === "") return;
  input.value = "";
  if (rooms.has(name)) select(roomKey(name));
  else join(name);
});

$("leave-button").addEventListener("click", () => {
  if (active !== null && active.startsWith("room:")) leave(active.slice(5));
});

$("everyone").addEventListener("click", () => select("everyone"));

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value;
  if (text.trim() === "" || active === null) return;
  let sent;
  if (active.startsWith("room:")) {
    const room = active.slice(5);
    sent = client.send("SendToRoom", { room, text });
    // The server does not send the sender a copy: show it here.
    if (sent) addMessage(active, { kind: "room", from: me, text });
  } else if (active.startsWith("dm:")) {
    sent = client.send("DirectMessage", { to: active.slice(3), text });
    if (sent) addMessage(active, { kind: "direct", from: me, text });
  } else {
    // Everyone, the sender included, gets the Broadcasted back.
    sent = client.send("Broadcast", { text });
  }
  if (sent) input.value = "";
  else toast("Not sent: the connection is closed");
});

renderAll();
$("room-input").focus();
