// Private notes and mentions in the workspace: a pushed note joins the open
// conversation; the "Mentions" badge follows the unread count; the button opens the
// mentions panel (htmx loads it), Escape or a chosen item closes it.
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function onNote(event) {
    const messages = byId("messages");
    const open = window.HelpDesk && window.HelpDesk.openSessionId();
    if (!messages || !messages.dataset.live || String(event.session_id) !== String(open)) return;
    if (byId("note-" + event.note_id)) return; // already there (the fresh fragment had it)
    const empty = byId("no-messages");
    if (empty) empty.remove();
    messages.appendChild(fragment(event.html));
    const scroller = byId("message-scroller");
    if (scroller) scroller.scrollTop = scroller.scrollHeight;
  }

  function setCount(count) {
    const badge = byId("mentions-count");
    if (!badge) return;
    badge.textContent = String(count);
    badge.dataset.count = String(count);
    badge.hidden = !count;
  }

  function setPanel(open) {
    const button = byId("mentions-button");
    const panel = byId("mentions-panel");
    if (!button || !panel) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.hidden = !open;
  }

  document.addEventListener("workspace:push", (domEvent) => {
    const event = domEvent.detail && domEvent.detail.event;
    if (!event) return;
    if (event.kind === "note") onNote(event);
    else if (event.kind === "mention") setCount(event.unread);
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#mentions-button");
    if (button) {
      // htmx loads the list on the same click; a second click closes the panel.
      setPanel(button.getAttribute("aria-expanded") !== "true");
      return;
    }
    if (event.target.closest && event.target.closest("#mentions-panel a")) setPanel(false);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && byId("mentions-panel") && !byId("mentions-panel").hidden) {
      setPanel(false);
      const button = byId("mentions-button");
      if (button) button.focus();
    }
  });
})();
