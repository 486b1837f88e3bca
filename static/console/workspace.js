// The agent workspace: list, conversation and client side by side. The server renders
// every fragment (escaped, in the agent's language); htmx swaps #work when the agent
// opens a session, and this file puts live pushes where they belong. Elements are
// looked up by id each time: #work's content is replaced on every switch.
(function () {
  "use strict";

  const body = document.body;
  const liveUrl = body.dataset.liveUrl;
  const myId = body.dataset.userId;
  const byId = (id) => document.getElementById(id);
  let socket = null;
  let retryDelay = 1000;
  let unreadWhileHidden = false;
  let heldEvents = null; // while catching up: events to apply after the fresh copy
  const titleSuffix = document.title.slice(document.title.lastIndexOf(" · "));

  if (window.htmx) {
    // Back and forward always ask the server: a cached copy of a conversation is stale.
    htmx.config.historyCacheSize = 0;
    htmx.config.defaultFocusScroll = false;
    // A refused reply comes back as 400 with the reason and the text kept: show it.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "400", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  function openSessionId() {
    const conversation = byId("conversation");
    return conversation ? conversation.dataset.sessionId : null;
  }

  function sessionUrl(sessionId) {
    return "/console/sessions/" + encodeURIComponent(sessionId) + "/";
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function setStatus(up) {
    const status = byId("live-status");
    if (!status) return;
    status.textContent = up ? status.dataset.live : status.dataset.offline;
    status.classList.toggle("down", !up);
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function markRead() {
    const sessionId = openSessionId();
    unreadWhileHidden = false;
    if (sessionId) send({ action: "read", session_id: sessionId });
  }

  // ---- opening sessions -------------------------------------------------------

  function open(sessionId) {
    const link = document.querySelector("#session-" + CSS.escape(sessionId) + " > a");
    if (link && window.htmx) {
      link.click(); // hx-get into #work, and the address follows
    } else {
      window.location.assign(sessionUrl(sessionId));
    }
  }

  function scrollToLatest() {
    const scroller = byId("message-scroller");
    if (scroller) scroller.scrollTop = scroller.scrollHeight;
  }

  function afterWorkChanged() {
    const sessionId = openSessionId();
    const workspace = byId("workspace");
    if (workspace) workspace.dataset.pane = sessionId ? "conversation" : "list";
    for (const row of document.querySelectorAll("#session-list .session-row")) {
      const current = row.dataset.sessionId === sessionId;
      row.classList.toggle("current", current);
      const link = row.querySelector("a");
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    // The tab says who is open; alerts.js puts the unread count in front.
    const conversation = byId("conversation");
    document.title = (conversation ? conversation.dataset.title : titleOfList()) + titleSuffix;
    scrollToLatest();
    // Opened from a search result: that message, centred and highlighted.
    const messages = byId("messages");
    const focus = messages && messages.dataset.focusChat && byId("chat-" + messages.dataset.focusChat);
    if (focus) {
      focus.scrollIntoView({ block: "center" });
      focus.classList.add("search-focus");
    }
    emit(sessionId ? "workspace:opened" : "workspace:closed", { sessionId: sessionId });
  }

  function titleOfList() {
    const title = byId("list-title");
    return title ? title.textContent.trim() : "";
  }

  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target && event.detail.target.id === "work") afterWorkChanged();
  });
  document.addEventListener("htmx:historyRestore", afterWorkChanged);

  // One pane at a time on narrow screens: the client details and back again.
  document.addEventListener("click", (event) => {
    const workspace = byId("workspace");
    if (!workspace) return;
    if (event.target.closest(".show-client")) {
      workspace.dataset.pane = "client";
      const pane = byId("client-pane");
      if (pane) pane.querySelector("h2").focus({ preventScroll: true });
    } else if (event.target.closest(".hide-client")) {
      workspace.dataset.pane = "conversation";
    }
  });

  // ---- live pushes ------------------------------------------------------------

  function onChat(event) {
    const messages = byId("messages");
    if (!messages || !messages.dataset.live || event.session_id !== openSessionId()) return;
    const node = fragment(event.html);
    const existing = byId("chat-" + event.chat_id);
    if (existing) {
      existing.replaceWith(node);
      return;
    }
    const scroller = byId("message-scroller");
    const nearBottom =
      scroller && scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 120;
    const empty = byId("no-messages");
    if (empty) empty.remove();
    if (!joinAlbum(messages, node)) messages.appendChild(node);
    if (nearBottom) scrollToLatest();
    if (event.sender_type === "CLIENT") {
      if (document.visibilityState === "visible") markRead();
      else unreadWhileHidden = true;
    }
  }

  // An album's parts arrive one by one: each joins the grid of the first.
  function joinAlbum(messages, node) {
    const group = node.dataset.mediaGroup;
    if (!group) return false;
    const album = messages.querySelector('li[data-media-group="' + CSS.escape(group) + '"]');
    if (!album) return false;
    for (const part of node.querySelectorAll(".album-part")) {
      const known = album.querySelector('.album-part[data-part-id="' + part.dataset.partId + '"]');
      if (!known) album.querySelector(".album-grid").appendChild(part);
    }
    for (const text of node.querySelectorAll(".album-text .text")) {
      const known = album.querySelector('.text[data-part-id="' + text.dataset.partId + '"]');
      if (!known) album.querySelector(".album-text").appendChild(text);
    }
    return true;
  }

  function onSession(event) {
    const list = byId("session-list");
    const existing = byId("session-" + event.session_id);
    event.is_new_for_me =
      !existing && event.status === "ACTIVE" && !!event.cs_id && event.cs_id === myId;
    const conversation = byId("conversation");
    if (conversation && event.session_id === openSessionId()) {
      const changed =
        event.status !== conversation.dataset.status ||
        (event.cs_id || "") !== conversation.dataset.cs ||
        (event.unreachable ? "1" : "") !== conversation.dataset.unreachable ||
        (event.flooding ? "1" : "") !== conversation.dataset.flooding;
      // Ended, moved, unreachable or flooding: the server's fragment says what is so.
      if (changed) refreshWork();
    }
    if (!list) return;
    if (event.status === "ENDED" && !list.dataset.keepEnded) {
      removeRow(event.session_id);
      return;
    }
    const row = fragment(event.html);
    markCurrent(row);
    if (existing) {
      existing.replaceWith(row);
      // Newest activity first: a session with news moves to the top.
      const news = row.dataset.activity !== existing.dataset.activity;
      if (news && list.dataset.insert && list.dataset.order === "activity") list.prepend(row);
    } else if (list.dataset.insert) {
      if (list.dataset.order === "activity") list.prepend(row);
      else list.appendChild(row);
    }
    if (window.htmx) htmx.process(row);
    refreshEmptyNote();
  }

  function markCurrent(row) {
    if (row.dataset.sessionId !== openSessionId()) return;
    row.classList.add("current");
    row.querySelector("a").setAttribute("aria-current", "page");
  }

  function removeRow(sessionId) {
    const row = byId("session-" + sessionId);
    if (row) row.remove();
    refreshEmptyNote();
  }

  function refreshEmptyNote() {
    const empty = byId("session-list-empty");
    const list = byId("session-list");
    if (empty && list) empty.hidden = list.children.length > 0;
  }

  // The open conversation again from the server (drafts live in the browser's
  // storage, so a refresh loses no words being written).
  function refreshWork() {
    const sessionId = openSessionId();
    if (!sessionId || !window.htmx) return;
    htmx.ajax("GET", sessionUrl(sessionId), { target: "#work", swap: "innerHTML" });
  }

  function onSessionGone(event) {
    if (event.session_id === openSessionId() && window.htmx) {
      htmx.ajax("GET", "/console/", { target: "#work", swap: "innerHTML" }).then(() => {
        window.history.replaceState({}, "", "/console/");
      });
    }
    removeRow(event.session_id);
  }

  function onQueue(event) {
    const count = byId("waiting-count");
    if (count) count.textContent = String(event.waiting);
    if (byId("waiting-list")) refreshWaitingSoon();
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
    const mine = byId("waiting-list");
    if (!mine) return;
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
      console.warn("workspace: refreshing the waiting list failed", error);
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
    if (event.agent_id && event.agent_id !== myId) return; // an admin's view of others
    const form = document.querySelector("form.presence");
    if (form) form.dataset.online = event.online ? "1" : "0";
  }

  const handlers = {
    chat: onChat,
    session: onSession,
    session_gone: onSessionGone,
    queue: onQueue,
    presence: onPresence,
    error: (event) => console.warn("workspace:", event.message),
  };

  function apply(events) {
    for (const event of events) {
      const handle = handlers[event.kind];
      if (handle) handle(event); // other kinds (note, mention) are their scripts' business
      emit("workspace:push", { event: event });
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
      console.warn("workspace: catching up failed", error);
    } finally {
      const events = heldEvents;
      heldEvents = null;
      apply(events);
    }
  }

  function refreshFrom(fresh) {
    const conversation = byId("conversation");
    const freshConversation = fresh.getElementById("conversation");
    if (conversation && freshConversation) {
      const moved =
        freshConversation.dataset.status !== conversation.dataset.status ||
        freshConversation.dataset.cs !== conversation.dataset.cs ||
        freshConversation.dataset.unreachable !== conversation.dataset.unreachable ||
        freshConversation.dataset.flooding !== conversation.dataset.flooding;
      if (moved) refreshWork();
    }
    for (const id of ["session-list", "waiting-count", "waiting-list"]) {
      const mine = byId(id);
      const theirs = fresh.getElementById(id);
      if (mine && theirs) {
        mine.innerHTML = theirs.innerHTML;
        if (window.htmx) htmx.process(mine);
      }
    }
    const messages = byId("messages");
    const freshMessages = fresh.getElementById("messages");
    if (messages && messages.dataset.live && freshMessages && freshConversation &&
        freshConversation.dataset.sessionId === openSessionId()) {
      messages.innerHTML = freshMessages.innerHTML;
    }
    for (const row of document.querySelectorAll("#session-list .session-row")) markCurrent(row);
    const presence = document.querySelector("form.presence");
    const freshPresence = fresh.querySelector("form.presence");
    if (presence && freshPresence) presence.dataset.online = freshPresence.dataset.online;
    refreshEmptyNote();
    emit("workspace:push", { event: { kind: "refreshed" } });
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

  window.HelpDesk = { open: open, send: send, openSessionId: openSessionId };

  if (liveUrl && "WebSocket" in window) connect();
  // The first paint: the open conversation starts at its latest message.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", afterWorkChanged);
  } else {
    afterWorkChanged();
  }
})();

// Load at a glance: my active sessions (top bar) and, for an admin, every agent's
// state and load. Fragments from the server, asked again at most once a second
// while sessions or presence change.
(function () {
  "use strict";
  const pending = new Set();
  let timer = null;

  function refresh() {
    timer = null;
    for (const id of pending) {
      const element = document.getElementById(id);
      if (element && window.htmx) {
        htmx.ajax("GET", element.dataset.url, { target: "#" + id, swap: "outerHTML" });
      }
    }
    pending.clear();
  }

  document.addEventListener("workspace:push", (event) => {
    const kind = event.detail.event.kind;
    if (!["session", "session_gone", "presence", "refreshed"].includes(kind)) return;
    pending.add("my-load");
    if (kind !== "session_gone") pending.add("agents-panel");
    if (!timer) timer = window.setTimeout(refresh, 1000);
  });
})();
