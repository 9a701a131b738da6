/*
 * Switchboard chat client. Plain JS, no build step; needs the Socket.IO
 * client served at /socket.io/socket.io.js.
 *
 * Event vocabulary (see CONTRACTS.md): "add user", "login", "new message",
 * "typing", "stop typing", "join room" (ack), "list rooms" (ack), "rooms",
 * "room users", "user joined", "user left", "user joined room",
 * "user left room".
 *
 * All user-provided text is inserted with textContent / attributes only.
 */
(function () {
  "use strict";

  var TYPING_IDLE_MS = 400; // send "stop typing" after this much idle time
  var TYPING_STALE_MS = 6000; // forget a remote typist that never said stop
  var ACK_TIMEOUT_MS = 8000;
  var MAX_NAME = 32;
  var DEFAULT_ROOM = "general";

  // ---------------------------------------------------------------- helpers

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function hue(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h % 360;
  }

  function avatar(name, small) {
    var a = el("span", small ? "avatar avatar-sm" : "avatar", (Array.from(name)[0] || "?").toUpperCase());
    a.style.setProperty("--h", String(hue(name)));
    a.setAttribute("aria-hidden", "true");
    return a;
  }

  function fmtTime(ms) {
    var d = new Date(ms);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function fmtDay(ms) {
    var d = new Date(ms);
    var today = new Date();
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (d.toDateString() === today.toDateString()) return "Today";
    if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
    return d.toLocaleDateString([], { weekday: "long", month: "short", day: "numeric" });
  }

  function validName(s) {
    var n = Array.from(s).length;
    return n >= 1 && n <= MAX_NAME;
  }

  function showError(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  // ------------------------------------------------------------------ state

  var state = {
    username: null, // chosen nickname (kept across reconnects)
    loggedIn: false, // "login" received on the current connection
    room: null, // room whose messages are displayed
    joining: null, // room name of a pending "join room"
    rooms: [],
    users: [],
    numUsers: 0,
    entries: [], // displayed timeline: {kind, username, message, time, node}
    typists: new Map(), // username -> stale timer
    typing: false,
    typingTimer: null,
    conn: "connecting",
    transport: "",
    everConnected: false,
    recentlyLeft: new Map(), // username -> time they left the room list
    systemKeys: new Map() // dedupe key -> time
  };

  var ui = {
    app: $("app"),
    loginScreen: $("login-screen"),
    chatScreen: $("chat-screen"),
    loginForm: $("login-form"),
    username: $("username"),
    loginError: $("login-error"),
    loginButton: $("login-button"),
    me: $("me"),
    status: $("status"),
    statusText: $("status-text"),
    statusTransport: $("status-transport"),
    reconnect: $("reconnect"),
    currentRoom: $("current-room"),
    rooms: $("rooms"),
    onlineCount: $("online-count"),
    newRoomForm: $("new-room-form"),
    newRoomInput: $("new-room-input"),
    roomError: $("room-error"),
    users: $("users"),
    usersCount: $("users-count"),
    messages: $("messages"),
    jump: $("jump"),
    typing: $("typing"),
    messageForm: $("message-form"),
    messageInput: $("message-input"),
    sendButton: $("send-button")
  };

  // ------------------------------------------------------------- connection

  var params = new URLSearchParams(window.location.search);
  var opts = {};
  var tp = params.get("transports");
  if (tp) {
    var list = tp.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (list.length) opts.transports = list;
  }
  // ?cert_hash=<hex SHA-256 of the server's certificate>: trust a
  // self-signed certificate (ECDSA, valid for less than two weeks) for
  // WebTransport, as when trying it locally (see README, "WebTransport").
  var ch = params.get("cert_hash");
  if (ch && /^[0-9a-fA-F]{64}$/.test(ch)) {
    var hash = new Uint8Array(32);
    for (var i = 0; i < 32; i++) hash[i] = parseInt(ch.substr(2 * i, 2), 16);
    opts.transportOptions = { webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value: hash }] } };
  }

  if (typeof window.io !== "function") {
    setConn("disconnected");
    ui.statusTransport.textContent = "client library failed to load";
    return;
  }

  var socket = window.io(opts);
  window.chatSocket = socket; // handy for debugging and tests

  function setConn(s) {
    state.conn = s;
    ui.status.dataset.state = s;
    ui.statusText.textContent = s;
    ui.reconnect.hidden = s !== "disconnected";
    updateComposer();
    updateLoginButton();
  }

  function setTransport(name) {
    state.transport = name || "";
    ui.status.dataset.transport = state.transport;
    ui.statusTransport.textContent = state.transport;
    ui.status.title = state.transport ? "Transport: " + state.transport : "";
  }

  // A new engine is created for every (re)connection: hook its upgrade event.
  socket.io.on("open", function () {
    var engine = socket.io.engine;
    if (!engine) return;
    setTransport(engine.transport && engine.transport.name);
    engine.on("upgrade", function (transport) {
      setTransport(transport && transport.name);
    });
  });

  socket.on("connect", function () {
    var wasConnected = state.everConnected;
    state.everConnected = true;
    state.loggedIn = false;
    if (socket.io.engine && socket.io.engine.transport) setTransport(socket.io.engine.transport.name);
    setConn("connected");
    if (state.username) {
      if (wasConnected) systemLine("Reconnected", "conn-ok", "ok");
      socket.emit("add user", state.username);
      if (ui.app.dataset.screen !== "chat") {
        ui.loginButton.textContent = "Joining…";
        armLoginTimeout();
      }
    }
  });

  socket.on("disconnect", function (reason) {
    state.loggedIn = false;
    stopTyping(false);
    clearTypists();
    setTransport("");
    if (socket.active) {
      setConn("reconnecting");
    } else {
      setConn("disconnected");
    }
    if (state.username) systemLine(socket.active ? "Connection lost — reconnecting…" : "Disconnected", "conn-lost", "warn");
    void reason;
  });

  socket.on("connect_error", function () {
    setConn(socket.active ? (state.everConnected ? "reconnecting" : "connecting") : "disconnected");
  });

  socket.io.on("reconnect_attempt", function () {
    setConn(state.everConnected ? "reconnecting" : "connecting");
  });

  socket.io.on("reconnect_failed", function () {
    setConn("disconnected");
  });

  ui.reconnect.addEventListener("click", function () {
    setConn("connecting");
    socket.connect();
  });

  // ------------------------------------------------------------------ login

  function updateLoginButton() {
    ui.loginButton.disabled = !!state.username && !state.loggedIn && state.conn === "connected";
  }

  ui.loginForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = ui.username.value.trim();
    if (!validName(name)) {
      showError(ui.loginError, "Nicknames are 1 to " + MAX_NAME + " characters.");
      ui.username.focus();
      return;
    }
    showError(ui.loginError, "");
    state.username = name;
    if (socket.connected) {
      socket.emit("add user", name);
      ui.loginButton.textContent = "Joining…";
      armLoginTimeout();
    } else {
      // The "connect" handler sends it once we are connected.
      ui.loginButton.textContent = "Waiting for connection…";
    }
    updateLoginButton();
  });

  var loginTimer = null;
  function armLoginTimeout() {
    clearTimeout(loginTimer);
    loginTimer = setTimeout(function () {
      if (state.loggedIn || ui.app.dataset.screen === "chat") return;
      state.username = null;
      ui.loginButton.textContent = "Enter chat";
      showError(ui.loginError, "The server did not accept this nickname. Try another one.");
      updateLoginButton();
    }, ACK_TIMEOUT_MS);
  }

  socket.on("login", function (data) {
    data = data || {};
    clearTimeout(loginTimer);
    if (!state.username) return; // answer to an abandoned attempt
    var first = !state.loggedIn && state.room === null;
    state.loggedIn = true;
    if (typeof data.numUsers === "number") setOnline(data.numUsers);
    if (Array.isArray(data.rooms)) renderRooms(data.rooms);
    showChat();

    var serverRoom = data.room || DEFAULT_ROOM;
    var wanted = state.room;
    if (first || wanted === null) {
      enterRoom(serverRoom, data.history || [], null, true);
      var n = typeof data.numUsers === "number" ? data.numUsers : 1;
      systemLine(n === 1 ? "You're the only one here. Say hi!" : "Welcome! " + n + " people are online.", "welcome");
    } else if (wanted === serverRoom) {
      enterRoom(serverRoom, data.history || [], null, false);
    } else {
      // Reconnected: go back to the room we were in.
      joinRoom(wanted, { rejoin: true, fallback: { room: serverRoom, history: data.history || [] } });
    }
    refreshRooms();
    updateComposer();
    updateLoginButton();
  });

  function showChat() {
    if (ui.app.dataset.screen === "chat") return;
    ui.app.dataset.screen = "chat";
    ui.loginScreen.hidden = true;
    ui.chatScreen.hidden = false;
    ui.me.hidden = false;
    ui.me.replaceChildren(avatar(state.username, true), el("span", "me-name", state.username));
    ui.me.title = "Signed in as " + state.username;
    ui.messageInput.focus();
  }

  // ------------------------------------------------------------------ rooms

  function refreshRooms() {
    socket.timeout(ACK_TIMEOUT_MS).emit("list rooms", function (err, rooms) {
      if (!err && Array.isArray(rooms)) renderRooms(rooms);
    });
  }

  socket.on("rooms", function (rooms) {
    if (Array.isArray(rooms)) renderRooms(rooms);
  });

  function renderRooms(rooms) {
    state.rooms = rooms.filter(function (r) { return r && typeof r.name === "string"; });
    var list = state.rooms.slice();
    if (state.room && !list.some(function (r) { return r.name === state.room; })) {
      list.push({ name: state.room, count: 1 });
    }
    list.sort(function (a, b) {
      if (a.name === DEFAULT_ROOM) return -1;
      if (b.name === DEFAULT_ROOM) return 1;
      return a.name.localeCompare(b.name);
    });
    var existing = new Map();
    Array.prototype.forEach.call(ui.rooms.children, function (li) { existing.set(li.dataset.room, li); });
    var frag = document.createDocumentFragment();
    list.forEach(function (r) {
      var li = existing.get(r.name);
      if (!li) {
        li = el("li", "room");
        li.dataset.room = r.name;
        var btn = el("button", "room-btn");
        btn.type = "button";
        btn.appendChild(el("span", "room-hash", "#"));
        btn.appendChild(el("span", "room-name", r.name));
        btn.appendChild(el("span", "room-count"));
        btn.addEventListener("click", function () { joinRoom(r.name); });
        li.appendChild(btn);
      }
      existing.delete(r.name);
      var count = typeof r.count === "number" ? r.count : 0;
      var countEl = li.querySelector(".room-count");
      countEl.textContent = String(count);
      countEl.title = count + (count === 1 ? " person" : " people");
      var active = r.name === state.room;
      li.classList.toggle("active", active);
      li.classList.toggle("pending", r.name === state.joining);
      var b = li.querySelector(".room-btn");
      if (active) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
      frag.appendChild(li);
    });
    ui.rooms.replaceChildren(frag);
  }

  function joinRoom(name, o) {
    o = o || {};
    name = String(name).trim();
    if (!validName(name)) {
      showError(ui.roomError, "Room names are 1 to " + MAX_NAME + " characters.");
      return;
    }
    if (!o.rejoin && (name === state.room || state.joining)) return;
    if (!socket.connected) {
      showError(ui.roomError, "Not connected.");
      return;
    }
    showError(ui.roomError, "");
    state.joining = name;
    renderRooms(state.rooms);
    socket.timeout(ACK_TIMEOUT_MS).emit("join room", name, function (err, reply) {
      state.joining = null;
      if (err || !reply || reply.error) {
        var msg = err ? "The server did not answer." : (reply && reply.error) || "Could not join the room.";
        showError(ui.roomError, "Could not join #" + name + ": " + msg);
        if (o.fallback) enterRoom(o.fallback.room, o.fallback.history, null, false);
        renderRooms(state.rooms);
        return;
      }
      var room = typeof reply.room === "string" ? reply.room : name;
      var sameRoom = room === state.room;
      enterRoom(room, reply.history || [], reply.users, !sameRoom);
      if (!sameRoom) systemLine("You joined #" + room, "self-join:" + room);
    });
  }

  // Switch the displayed room. reset=false merges history into the current
  // timeline (used after reconnects so nothing is duplicated or lost).
  function enterRoom(room, history, users, reset) {
    var changed = room !== state.room;
    state.room = room;
    ui.currentRoom.textContent = room;
    document.title = "#" + room + " · Switchboard";
    if (reset || changed) {
      clearTimeline();
      clearTypists();
      if (!Array.isArray(users)) setUsers([]);
    }
    if (Array.isArray(users)) setUsers(users);
    mergeHistory(Array.isArray(history) ? history : []);
    renderRooms(state.rooms);
    updateComposer();
    scrollToBottom(true);
  }

  ui.newRoomForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = ui.newRoomInput.value.trim();
    if (!validName(name)) {
      showError(ui.roomError, "Room names are 1 to " + MAX_NAME + " characters.");
      return;
    }
    if (name === state.room) {
      ui.newRoomInput.value = "";
      return;
    }
    ui.newRoomInput.value = "";
    joinRoom(name);
  });

  // ------------------------------------------------------------------ users

  function setOnline(n) {
    state.numUsers = n;
    ui.onlineCount.textContent = n + " online";
  }

  socket.on("room users", function (data) {
    if (!data || data.room !== state.room || !Array.isArray(data.users)) return;
    var now = Date.now();
    state.users.forEach(function (u) {
      if (data.users.indexOf(u) < 0) state.recentlyLeft.set(u, now);
    });
    setUsers(data.users);
  });

  function setUsers(users) {
    state.users = users.filter(function (u) { return typeof u === "string"; });
    var list = state.users.slice().sort(function (a, b) {
      if (a === state.username) return -1;
      if (b === state.username) return 1;
      return a.localeCompare(b);
    });
    var frag = document.createDocumentFragment();
    list.forEach(function (name) {
      var li = el("li", "user");
      li.dataset.user = name;
      li.appendChild(avatar(name, true));
      li.appendChild(el("span", "user-name", name));
      if (name === state.username) {
        li.classList.add("me-item");
        li.appendChild(el("span", "you", "you"));
      }
      if (state.typists.has(name)) li.classList.add("is-typing");
      frag.appendChild(li);
    });
    ui.users.replaceChildren(frag);
    ui.usersCount.textContent = String(list.length);
    // Drop typists that are no longer here.
    state.typists.forEach(function (_, name) {
      if (state.users.indexOf(name) < 0) removeTypist(name);
    });
  }

  function wasInRoom(name) {
    if (state.users.indexOf(name) >= 0) return true;
    var t = state.recentlyLeft.get(name);
    return t !== undefined && Date.now() - t < 5000;
  }

  socket.on("user joined", function (data) {
    if (!data) return;
    if (typeof data.numUsers === "number") setOnline(data.numUsers);
    // New users land in the default room.
    if (state.room === DEFAULT_ROOM && data.username) {
      systemLine(data.username + " joined", "join:" + data.username);
    }
  });

  socket.on("user left", function (data) {
    if (!data) return;
    if (typeof data.numUsers === "number") setOnline(data.numUsers);
    if (data.username) {
      if (wasInRoom(data.username)) systemLine(data.username + " left", "leave:" + data.username);
      removeTypist(data.username);
    }
  });

  socket.on("user joined room", function (data) {
    if (!data || data.room !== state.room || !data.username) return;
    systemLine(data.username + " joined #" + data.room, "join:" + data.username);
  });

  socket.on("user left room", function (data) {
    if (!data || data.room !== state.room || !data.username) return;
    systemLine(data.username + " left #" + data.room, "leave:" + data.username);
    removeTypist(data.username);
  });

  // --------------------------------------------------------------- timeline

  function nearBottom() {
    var m = ui.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToBottom(force) {
    if (force || nearBottom()) {
      ui.messages.scrollTop = ui.messages.scrollHeight;
      ui.jump.hidden = true;
    } else {
      ui.jump.hidden = false;
    }
  }

  ui.messages.addEventListener("scroll", function () {
    if (nearBottom()) ui.jump.hidden = true;
  });
  ui.jump.addEventListener("click", function () { scrollToBottom(true); });

  function clearTimeline() {
    state.entries = [];
    ui.messages.replaceChildren();
  }

  function dayKey(ms) {
    return new Date(ms).toDateString();
  }

  // Insert a timeline entry in time order and add day separators.
  function insertEntry(entry) {
    var entries = state.entries;
    var i = entries.length;
    while (i > 0 && entries[i - 1].time > entry.time) i--;
    var before = i < entries.length ? entries[i].node : null;
    var prev = i > 0 ? entries[i - 1] : null;
    if (!prev || dayKey(prev.time) !== dayKey(entry.time)) {
      // separator goes right before this entry; it may already exist there
      var sepKey = dayKey(entry.time);
      var sib = before ? before.previousSibling : ui.messages.lastChild;
      if (!(sib && sib.dataset && sib.dataset.day === sepKey)) {
        var sep = el("li", "day-sep");
        sep.dataset.day = sepKey;
        sep.setAttribute("role", "separator");
        sep.appendChild(el("span", null, fmtDay(entry.time)));
        ui.messages.insertBefore(sep, before);
      }
    }
    ui.messages.insertBefore(entry.node, before);
    entries.splice(i, 0, entry);
    // Consecutive messages by the same author collapse their header.
    refreshGrouping(i);
    if (i + 1 < entries.length) refreshGrouping(i + 1);
  }

  function refreshGrouping(i) {
    var e = state.entries[i];
    if (!e || e.kind !== "message") return;
    var p = state.entries[i - 1];
    var grouped = !!p && p.kind === "message" && p.username === e.username &&
      e.time - p.time < 5 * 60 * 1000 && dayKey(p.time) === dayKey(e.time);
    e.node.classList.toggle("grouped", grouped);
  }

  function messageNode(m, mine) {
    var li = el("li", "message" + (mine ? " mine" : ""));
    li.dataset.author = m.username;
    li.dataset.time = String(m.time);
    li.appendChild(avatar(m.username));
    var body = el("div", "body");
    var meta = el("div", "meta");
    var author = el("span", "author", m.username);
    author.style.setProperty("--h", String(hue(m.username)));
    meta.appendChild(author);
    var t = el("time", "time", fmtTime(m.time));
    t.dateTime = new Date(m.time).toISOString();
    t.title = new Date(m.time).toLocaleString();
    meta.appendChild(t);
    body.appendChild(meta);
    body.appendChild(el("div", "text", m.message));
    li.appendChild(body);
    return li;
  }

  function addMessage(m, mine) {
    var stick = nearBottom() || mine;
    var entry = { kind: "message", username: m.username, message: m.message, time: m.time, node: messageNode(m, mine) };
    insertEntry(entry);
    scrollToBottom(stick);
  }

  // History replaces nothing: each message is added unless an equal one is
  // already shown (own messages carry a local timestamp, hence the slack).
  function mergeHistory(history) {
    var matched = new Set(); // entries already paired with a history item
    history.forEach(function (h) {
      if (!h || typeof h.username !== "string" || typeof h.message !== "string") return;
      var time = typeof h.time === "number" ? h.time : Date.now();
      var dup = state.entries.some(function (e) {
        if (e.kind !== "message" || matched.has(e)) return false;
        if (e.username === h.username && e.message === h.message && Math.abs(e.time - time) < 2 * 60 * 1000) {
          matched.add(e);
          return true;
        }
        return false;
      });
      if (dup) return;
      var entry = {
        kind: "message", username: h.username, message: h.message, time: time,
        node: messageNode({ username: h.username, message: h.message, time: time }, h.username === state.username)
      };
      insertEntry(entry);
      matched.add(entry);
    });
  }

  function systemLine(text, key, tone) {
    var now = Date.now();
    if (key) {
      var last = state.systemKeys.get(key);
      if (last !== undefined && now - last < 3000) return;
      state.systemKeys.set(key, now);
    }
    var stick = nearBottom();
    var li = el("li", "system" + (tone ? " system-" + tone : ""));
    li.appendChild(el("span", "system-text", text));
    var t = el("time", "time", fmtTime(now));
    t.dateTime = new Date(now).toISOString();
    li.appendChild(t);
    insertEntry({ kind: "system", time: now, node: li });
    scrollToBottom(stick);
  }

  socket.on("new message", function (m) {
    if (!m || typeof m.username !== "string" || typeof m.message !== "string") return;
    if (m.room && m.room !== state.room) return;
    removeTypist(m.username);
    addMessage({ username: m.username, message: m.message, time: typeof m.time === "number" ? m.time : Date.now() }, false);
  });

  // --------------------------------------------------------------- composer

  function updateComposer() {
    var ready = state.conn === "connected" && state.loggedIn;
    ui.sendButton.disabled = !ready;
    ui.messageInput.placeholder = ready
      ? "Message #" + (state.room || DEFAULT_ROOM)
      : state.conn === "connected" ? "Joining…" : "Waiting for connection…";
  }

  ui.messageForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = ui.messageInput.value;
    if (!text.trim()) return;
    if (!socket.connected || !state.loggedIn) return; // keep the draft
    ui.messageInput.value = "";
    stopTyping(true);
    socket.emit("new message", text);
    addMessage({ username: state.username, message: text, time: Date.now() }, true);
  });

  ui.messageInput.addEventListener("input", function () {
    if (!socket.connected || !state.loggedIn) return;
    if (!ui.messageInput.value) {
      stopTyping(true);
      return;
    }
    if (!state.typing) {
      state.typing = true;
      socket.emit("typing");
    }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(function () { stopTyping(true); }, TYPING_IDLE_MS);
  });

  function stopTyping(send) {
    clearTimeout(state.typingTimer);
    state.typingTimer = null;
    if (state.typing && send && socket.connected) socket.emit("stop typing");
    state.typing = false;
  }

  socket.on("typing", function (data) {
    if (!data || !data.username || data.username === state.username) return;
    if (data.room && data.room !== state.room) return;
    clearTimeout(state.typists.get(data.username));
    state.typists.set(data.username, setTimeout(function () { removeTypist(data.username); }, TYPING_STALE_MS));
    renderTyping();
  });

  socket.on("stop typing", function (data) {
    if (data && data.username) removeTypist(data.username);
  });

  function removeTypist(name) {
    if (!state.typists.has(name)) return;
    clearTimeout(state.typists.get(name));
    state.typists.delete(name);
    renderTyping();
  }

  function clearTypists() {
    state.typists.forEach(function (t) { clearTimeout(t); });
    state.typists.clear();
    renderTyping();
  }

  function renderTyping() {
    var names = Array.from(state.typists.keys());
    var text = "";
    if (names.length === 1) text = names[0] + " is typing…";
    else if (names.length === 2) text = names[0] + " and " + names[1] + " are typing…";
    else if (names.length > 2) text = "Several people are typing…";
    ui.typing.replaceChildren();
    if (text) {
      var dots = el("span", "dots");
      dots.setAttribute("aria-hidden", "true");
      dots.append(el("i"), el("i"), el("i"));
      ui.typing.append(dots, el("span", "typing-text", text));
    }
    ui.typing.classList.toggle("active", !!text);
    Array.prototype.forEach.call(ui.users.children, function (li) {
      li.classList.toggle("is-typing", state.typists.has(li.dataset.user));
    });
  }

  // ------------------------------------------------------------------- init

  setConn("connecting");
  updateComposer();
})();
