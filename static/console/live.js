// The console's live updates. The server renders every fragment (escaped, in the
// agent's language); this file only puts fragments where they belong.
(function () {
  "use strict";

  const liveUrl = document.body.dataset.liveUrl;
  if (!liveUrl || !("WebSocket" in window)) return;

  const status = document.getElementById("live-status");
  const list = document.getElementById("session-list");
  const conversation = document.getElementById("conversation");
  const messages = document.getElementById("messages");
  const openSessionId = conversation ? conversation.dataset.sessionId : null;
  let socket = null;
  let retryDelay = 1000;
  let everConnected = false;
  let unreadWhileHidden = false;

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function setStatus(up) {
    if (!status) return;
    status.textContent = up ? status.dataset.live : status.dataset.offline;
    status.classList.toggle("down", !up);
  }

  function markRead() {
    unreadWhileHidden = false;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ action: "read", session_id: openSessionId }));
    }
  }

  function onChat(event) {
    if (!messages || !messages.dataset.live || event.session_id !== openSessionId) return;
    const node = fragment(event.html);
    const existing = document.getElementById("chat-" + event.chat_id);
    if (existing) {
      existing.replaceWith(node);
      return;
    }
    const nearBottom =
      window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
    const empty = document.getElementById("no-messages");
    if (empty) empty.remove();
    messages.appendChild(node);
    if (nearBottom) node.scrollIntoView({ block: "end" });
    if (event.sender_type === "CLIENT") {
      if (document.visibilityState === "visible") markRead();
      else unreadWhileHidden = true;
    }
  }

  function onSession(event) {
    if (conversation && event.session_id === openSessionId) {
      const changed =
        event.status !== conversation.dataset.status ||
        (event.cs_id || "") !== conversation.dataset.cs;
      // Ended or moved: the server's page says what the agent may still do here.
      if (changed) reloadIfIdle();
    }
    if (!list) return;
    const existing = document.getElementById("session-" + event.session_id);
    if (event.status === "ENDED" && !list.dataset.keepEnded) {
      removeRow(event.session_id);
      return;
    }
    const row = fragment(event.html);
    if (existing) {
      existing.replaceWith(row);
      // Newest activity first: a session with news moves to the top.
      const news = row.dataset.activity !== existing.dataset.activity;
      if (news && list.dataset.insert && list.dataset.order === "activity") list.prepend(row);
    } else if (list.dataset.insert) {
      if (list.dataset.order === "activity") list.prepend(row);
      else list.appendChild(row);
    }
    refreshEmptyNote();
  }

  function removeRow(sessionId) {
    const row = document.getElementById("session-" + sessionId);
    if (row) row.remove();
    refreshEmptyNote();
  }

  function refreshEmptyNote() {
    const empty = document.getElementById("session-list-empty");
    if (empty && list) empty.hidden = list.children.length > 0;
  }

  function onSessionGone(event) {
    if (event.session_id === openSessionId) {
      window.location.assign(conversation.dataset.listUrl);
      return;
    }
    removeRow(event.session_id);
  }

  function onQueue(event) {
    const count = document.getElementById("waiting-count");
    if (count) count.textContent = String(event.waiting);
  }

  function onPresence(event) {
    const form = document.querySelector("form.presence");
    if (form) form.dataset.online = event.online ? "1" : "0";
  }

  function reloadIfIdle() {
    // Never throw away a reply being written.
    const reply = document.querySelector(".reply textarea");
    if (!reply || !reply.value.trim()) window.location.reload();
  }

  const handlers = {
    chat: onChat,
    session: onSession,
    session_gone: onSessionGone,
    queue: onQueue,
    presence: onPresence,
    error: (event) => console.warn("console:", event.message),
  };

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + liveUrl);
    socket.addEventListener("open", () => {
      setStatus(true);
      retryDelay = 1000;
      // Whatever happened while the connection was down is on the server's page.
      if (everConnected) reloadIfIdle();
      everConnected = true;
    });
    socket.addEventListener("message", (message) => {
      const frame = JSON.parse(message.data);
      for (const event of frame.events || []) {
        const handle = handlers[event.kind];
        if (handle) handle(event);
      }
    });
    socket.addEventListener("close", (closed) => {
      setStatus(false);
      if (closed.code === 4401) {
        window.location.reload(); // signed out: the server shows the login page
        return;
      }
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && unreadWhileHidden) markRead();
  });

  connect();
})();
