// Canned responses in the reply box: "/" at the start of a word, then letters, opens a
// list of the agent's canned responses (shortcut matches first, then title, then text),
// rendered by the server for the open session. ArrowUp/ArrowDown move, Enter or Tab
// choose, Escape closes. Choosing replaces only the "/query" token at the cursor; the
// rest of the draft stays. A use is counted once the reply carrying the text was sent.
//
// composer.js owns Enter (send) and Escape in a capture listener on document. While the
// list is open, this file's capture listener on window runs first and stops the event,
// so Enter chooses instead of sending. ARIA combobox pattern: the textarea is the
// combobox, #canned-list the listbox, aria-activedescendant the highlighted option.
(function () {
  "use strict";

  const LIST_ID = "canned-list";
  const TOKEN = /(^|\s)\/([\p{L}\p{N}_-]+)$/u;
  const DEBOUNCE_MS = 120;

  let items = [];
  let active = -1;
  let token = null; // {start, end, query}
  let sequence = 0;
  let timer = null;
  // Per session: what was inserted, counted when a reply containing it is sent.
  const chosen = new Map();
  const pending = new Map();

  function byId(id) {
    return document.getElementById(id);
  }

  function box() {
    return byId("reply-text");
  }

  function sessionId() {
    const conversation = byId("conversation");
    return conversation ? conversation.dataset.sessionId : null;
  }

  function list() {
    return byId(LIST_ID);
  }

  function isOpen() {
    const element = list();
    return !!element && !element.hidden && items.length > 0;
  }

  function prepare() {
    const textarea = box();
    if (!textarea || textarea.dataset.canned === "1") return;
    textarea.dataset.canned = "1";
    textarea.setAttribute("role", "combobox");
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", LIST_ID);
    textarea.setAttribute("aria-expanded", "false");
    const listbox = document.createElement("ul");
    listbox.id = LIST_ID;
    listbox.className = "canned-list";
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-label", "Canned responses"); // the server's translation on first answer
    listbox.hidden = true;
    Object.assign(listbox.style, {
      listStyle: "none",
      margin: "0.25rem 0",
      padding: "0",
      maxHeight: "14rem",
      overflowY: "auto",
      border: "1px solid #8884",
      borderRadius: "6px",
      background: "#fff",
    });
    textarea.insertAdjacentElement("afterend", listbox);
  }

  function close() {
    items = [];
    active = -1;
    token = null;
    sequence += 1; // a late answer does not reopen the list
    clearTimeout(timer);
    const listbox = list();
    if (listbox) {
      listbox.hidden = true;
      listbox.replaceChildren();
    }
    const textarea = box();
    if (textarea) {
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    }
  }

  function currentToken(textarea) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = TOKEN.exec(before);
    if (!match) return null;
    const start = before.length - match[2].length - 1;
    return { start, end: textarea.selectionStart, query: match[2] };
  }

  function highlight(index) {
    const listbox = list();
    const textarea = box();
    if (!listbox || !textarea) return;
    active = index;
    Array.from(listbox.children).forEach((option, i) => {
      const selected = i === index;
      option.setAttribute("aria-selected", selected ? "true" : "false");
      option.style.background = selected ? "#dbeafe" : "";
      if (selected) option.scrollIntoView({ block: "nearest" });
    });
    if (index >= 0) textarea.setAttribute("aria-activedescendant", `canned-option-${index}`);
    else textarea.removeAttribute("aria-activedescendant");
  }

  function show(results) {
    const listbox = list();
    const textarea = box();
    if (!listbox || !textarea) return;
    items = results;
    listbox.replaceChildren();
    if (!items.length) {
      close();
      return;
    }
    items.forEach((item, i) => {
      const option = document.createElement("li");
      option.id = `canned-option-${i}`;
      option.setAttribute("role", "option");
      option.dataset.cannedId = item.id;
      option.style.padding = "0.3rem 0.5rem";
      option.style.cursor = "pointer";
      const head = document.createElement("strong");
      head.textContent = `/${item.shortcut}`;
      const title = document.createElement("span");
      title.textContent = ` ${item.title}`;
      const preview = document.createElement("div");
      preview.className = "muted";
      preview.style.whiteSpace = "nowrap";
      preview.style.overflow = "hidden";
      preview.style.textOverflow = "ellipsis";
      preview.textContent = item.rendered;
      option.append(head, title, preview);
      listbox.append(option);
    });
    listbox.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  function search(textarea) {
    const found = currentToken(textarea);
    const session = sessionId();
    if (!found || !session) {
      close();
      return;
    }
    token = found;
    clearTimeout(timer);
    const mine = ++sequence;
    timer = setTimeout(() => {
      const url = `/console/canned/?session=${encodeURIComponent(session)}&q=${encodeURIComponent(found.query)}`;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : { results: [] }))
        .then((data) => {
          if (mine !== sequence || box() !== textarea) return; // typed on, or swapped away
          if (data.label && list()) list().setAttribute("aria-label", data.label);
          show(data.results || []);
        })
        .catch(() => {
          if (mine === sequence) close();
        });
    }, DEBOUNCE_MS);
  }

  function choose(index) {
    const textarea = box();
    const item = items[index];
    const at = token;
    if (!textarea || !item || !at) return;
    close();
    textarea.focus();
    textarea.setRangeText(item.rendered, at.start, at.end, "end");
    const session = sessionId();
    if (session) {
      if (!chosen.has(session)) chosen.set(session, []);
      chosen.get(session).push({ id: item.id, text: item.rendered });
    }
    // composer.js keeps the draft and the split note from this event.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function csrfToken(form) {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function replyForm(detail) {
    const elt = detail && ((detail.requestConfig && detail.requestConfig.elt) || detail.elt);
    return elt && elt.id === "reply-form" ? elt : null;
  }

  // Listeners -----------------------------------------------------------------

  window.addEventListener(
    "keydown",
    (event) => {
      const textarea = box();
      if (!textarea || event.target !== textarea || !isOpen()) return;
      if (event.isComposing || event.keyCode === 229) return;
      let handled = true;
      if (event.key === "ArrowDown") highlight((active + 1) % items.length);
      else if (event.key === "ArrowUp") highlight((active - 1 + items.length) % items.length);
      else if ((event.key === "Enter" && !event.shiftKey && !event.altKey) || (event.key === "Tab" && !event.shiftKey)) choose(active < 0 ? 0 : active);
      else if (event.key === "Escape") close();
      else handled = false;
      if (handled) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  document.addEventListener("input", (event) => {
    if (event.target && event.target.id === "reply-text") {
      prepare();
      search(event.target);
    }
  });

  document.addEventListener("click", (event) => {
    const option = event.target instanceof Element ? event.target.closest(`#${LIST_ID} [role=option]`) : null;
    if (option) {
      choose(Array.from(option.parentElement.children).indexOf(option));
      return;
    }
    if (isOpen() && event.target !== box()) close();
  });

  document.addEventListener("mousedown", (event) => {
    // Keep the box focused (and its cursor) while an option is clicked.
    if (event.target instanceof Element && event.target.closest(`#${LIST_ID}`)) event.preventDefault();
  });

  document.addEventListener("focusout", (event) => {
    if (event.target && event.target.id === "reply-text") setTimeout(() => {
      if (document.activeElement !== box()) close();
    }, 150);
  });

  // Count a use only when the reply that carries the inserted text was sent (not a note).
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = replyForm(event.detail);
    const session = sessionId();
    if (!form || !session) return;
    const note = form.querySelector("input[name=mode][value=note]");
    const text = (box() && box().value) || "";
    const sent = note && note.checked ? [] : (chosen.get(session) || []).filter((c) => text.includes(c.text));
    pending.set(session, { uses: sent, csrf: csrfToken(form) });
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = replyForm(event.detail);
    if (!form) return;
    const xhr = event.detail.xhr;
    const ok = !!xhr && xhr.status >= 200 && xhr.status < 300;
    pending.forEach((entry, session) => {
      if (!ok) return;
      chosen.delete(session);
      entry.uses.forEach((use) => {
        fetch(`/console/canned/${encodeURIComponent(use.id)}/use/`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": entry.csrf },
        }).catch(() => {});
      });
    });
    pending.clear();
  });

  document.addEventListener("workspace:opened", () => {
    close();
    prepare();
  });
  document.addEventListener("workspace:closed", close);
  // Any swap (the reply form after a send, a panel loading): a new box needs its list;
  // a swap elsewhere leaves an open list alone.
  document.addEventListener("htmx:afterSwap", prepare);
  prepare();
})();
