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
  let unreadWhileHidden = false;
  let heldEvents = null; // while catching up: events to apply after the fresh copy

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
    if (document.getElementById("waiting-list")) refreshWaitingSoon();
  }

  // An admin's waiting list carries assign forms the push does not render: take it
  // from a fresh copy of the page, at most about once a second during a burst.
  let waitingTimer = null;
  let waitingStale = false;
  function refreshWaitingSoon() {
    waitingStale = true;
    if (!waitingTimer) waitingTimer = window.setTimeout(refreshWaiting, 500);
  }

  async function refreshWaiting() {
    const mine = document.getElementById("waiting-list");
    if (mine.contains(document.activeElement)) {
      waitingTimer = window.setTimeout(refreshWaiting, 1000); // never under a choice being made
      return;
    }
    waitingStale = false;
    try {
      const fresh = await freshPage();
      const theirs = fresh && fresh.getElementById("waiting-list");
      if (theirs) mine.innerHTML = theirs.innerHTML;
    } catch (error) {
      console.warn("console: refreshing the waiting list failed", error);
    } finally {
      waitingTimer = window.setTimeout(() => {
        waitingTimer = null;
        if (waitingStale) refreshWaitingSoon(); // the queue changed meanwhile
      }, 500);
    }
  }

  async function freshPage() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return null;
    return new DOMParser().parseFromString(await response.text(), "text/html");
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

  function apply(events) {
    for (const event of events) {
      const handle = handlers[event.kind];
      if (handle) handle(event);
    }
  }

  // What changed between the server rendering this page and the socket joining its
  // groups (or while the connection was down) was pushed to nobody: take the live
  // parts from a fresh copy of the page, then apply what arrived meanwhile.
  async function catchUp() {
    heldEvents = [];
    try {
      const fresh = await freshPage();
      if (fresh) refreshFrom(fresh);
    } catch (error) {
      console.warn("console: catching up failed", error);
    } finally {
      const events = heldEvents;
      heldEvents = null;
      apply(events);
    }
  }

  function refreshFrom(fresh) {
    const freshConversation = fresh.getElementById("conversation");
    if (conversation && freshConversation) {
      const moved =
        freshConversation.dataset.status !== conversation.dataset.status ||
        freshConversation.dataset.cs !== conversation.dataset.cs;
      if (moved) reloadIfIdle();
    }
    for (const id of ["session-list", "waiting-count", "waiting-list"]) {
      const mine = document.getElementById(id);
      const theirs = fresh.getElementById(id);
      if (mine && theirs) mine.innerHTML = theirs.innerHTML;
    }
    const freshMessages = fresh.getElementById("messages");
    if (messages && messages.dataset.live && freshMessages) {
      messages.innerHTML = freshMessages.innerHTML;
    }
    const presence = document.querySelector("form.presence");
    const freshPresence = fresh.querySelector("form.presence");
    if (presence && freshPresence) presence.dataset.online = freshPresence.dataset.online;
    refreshEmptyNote();
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + liveUrl);
    socket.addEventListener("open", () => {
      setStatus(true);
      retryDelay = 1000;
      catchUp();
    });
    socket.addEventListener("message", (message) => {
      const events = JSON.parse(message.data).events || [];
      if (heldEvents) heldEvents.push(...events);
      else apply(events);
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
