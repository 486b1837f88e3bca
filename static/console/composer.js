// The reply box of the agent workspace: Enter sends, drafts per session, files by paste
// or drop, the "will be sent as N messages" note, Telegram's "typing…" and replying to
// one message. #work is swapped by htmx, so every listener is delegated to `document`
// and elements are looked up by id each time; what must outlive a swap (drafts, a
// picked file, the message being answered) is kept per session, not in the DOM.
(function () {
  "use strict";

  const userId = document.body.dataset.userId;
  if (!userId) return;

  const TYPING_EVERY_MS = 4000; // Telegram shows "typing…" for about 5 s per call
  const DEFAULT_TEXT_LIMIT = 4096; // UTF-16 units, as Telegram counts
  const files = new Map(); // session id -> File picked but not sent yet
  const replies = new Map(); // session id -> {chatId, quote} being answered
  const lastTyping = new Map(); // session id -> time of the last typing frame
  let previewUrl = null;

  const byId = (id) => document.getElementById(id);

  function openSession() {
    const conversation = byId("conversation");
    return conversation ? conversation.dataset.sessionId : null;
  }

  function sessionOf(element) {
    const conversation = element && element.closest && element.closest("#conversation");
    return conversation ? conversation.dataset.sessionId : null;
  }

  function formText(name, fallback) {
    const form = byId("reply-form");
    return (form && form.dataset[name]) || fallback;
  }

  // Drafts ----------------------------------------------------------------------

  function draftKey(sessionId) {
    return "helpdesk.draft." + userId + "." + sessionId;
  }

  function readDraft(sessionId) {
    try {
      return localStorage.getItem(draftKey(sessionId)) || "";
    } catch (error) {
      return ""; // storage off (private mode, quota): drafts just do not survive
    }
  }

  function saveDraft(sessionId, text) {
    try {
      if (text.trim()) localStorage.setItem(draftKey(sessionId), text);
      else localStorage.removeItem(draftKey(sessionId));
    } catch (error) {
      /* as above */
    }
  }

  // The same split as the server's (telegram_gateway/transport.py split_text) -------

  // Python's str.isspace() set, so strip()/rstrip() agree with the server's.
  const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  const TRAILING_SPACE = new RegExp("[" + PY_SPACE + "]+$");
  const ONLY_SPACE = new RegExp("^[" + PY_SPACE + "]*$");
  const LEADING_NEWLINES_SPACES = /^[\n ]+/;

  function isHigh(code) {
    return code >= 0xd800 && code <= 0xdbff;
  }

  function isLow(code) {
    return code >= 0xdc00 && code <= 0xdfff;
  }

  // UTF-16 units of `text` that fit in `budget` without halving a surrogate pair.
  function prefixWithin(text, budget) {
    if (text.length <= budget) return text.length;
    if (isHigh(text.charCodeAt(budget - 1)) && isLow(text.charCodeAt(budget))) return budget - 1;
    return budget;
  }

  // JS strings index UTF-16 units, which is how Telegram (and utf16_len) counts.
  function splitText(text, limit) {
    const parts = [];
    while (text.length > limit) {
      const windowLength = prefixWithin(text, limit);
      let cut = -1;
      let separatorLength = 0;
      for (const separator of ["\n\n", "\n", " "]) {
        // A separator right after the window is a boundary too (start <= windowLength).
        const found = text.lastIndexOf(separator, windowLength);
        if (found > 0) {
          cut = found;
          separatorLength = separator.length;
          break;
        }
      }
      if (cut > 0) {
        parts.push(text.slice(0, cut).replace(TRAILING_SPACE, ""));
        text = text.slice(cut + separatorLength).replace(LEADING_NEWLINES_SPACES, "");
      } else {
        parts.push(text.slice(0, windowLength));
        text = text.slice(windowLength);
      }
    }
    if (!ONLY_SPACE.test(text)) parts.push(text);
    return parts;
  }

  const LEADING_SPACE = new RegExp("^[" + PY_SPACE + "]+");

  // The text as the server gets it: a form sends line breaks as CRLF, and Django's
  // CharField strips it. Splitting anything else could count differently.
  function submittedText(value) {
    return value.replace(/\r\n|\r/g, "\n").replace(LEADING_SPACE, "").replace(TRAILING_SPACE, "");
  }

  function updateSplitNote() {
    const note = byId("reply-split-note");
    const box = byId("reply-text");
    if (!note || !box) return;
    const limit = parseInt(formText("textLimit", ""), 10) || DEFAULT_TEXT_LIMIT;
    const text = submittedText(box.value);
    if (text.length <= limit) {
      if (note.textContent) note.textContent = "";
      return;
    }
    // A file goes first, as its own message, when the text is too long for a caption.
    const input = byId("reply-file");
    const withFile = input && input.files && input.files.length ? 1 : 0;
    const count = splitText(text, limit).length + withFile;
    const says =
      count === 1
        ? formText("splitOne", "Will be sent as 1 message")
        : formText("splitMany", "Will be sent as %(n)s messages").replace("%(n)s", String(count));
    if (note.textContent !== says) note.textContent = says;
  }

  // Attachments -----------------------------------------------------------------

  function formatSize(bytes) {
    const lang = document.documentElement.lang || undefined;
    const units = ["B", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    const digits = unit === 0 || value >= 10 ? 0 : 1;
    return value.toLocaleString(lang, { maximumFractionDigits: digits }) + " " + units[unit];
  }

  function renderPreview() {
    const preview = byId("attachment-preview");
    const input = byId("reply-file");
    if (!preview || !input) return;
    if (previewUrl) {
      URL.revokeObjectURL(previewUrl);
      previewUrl = null;
    }
    preview.replaceChildren();
    const file = input.files && input.files[0];
    if (!file) {
      updateSplitNote();
      return;
    }
    const item = document.createElement("figure");
    item.className = "attachment";
    if (file.type.startsWith("image/")) {
      previewUrl = URL.createObjectURL(file);
      const image = document.createElement("img");
      image.src = previewUrl;
      image.alt = file.name;
      image.className = "attachment-thumb";
      item.append(image);
    }
    const caption = document.createElement("figcaption");
    caption.id = "attachment-name";
    caption.className = "attachment-name";
    caption.textContent = file.name + " · " + formatSize(file.size);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "attachment-remove";
    remove.textContent = formText("removeLabel", "Remove");
    remove.setAttribute("aria-describedby", caption.id);
    item.append(caption, remove);
    preview.append(item);
    updateSplitNote();
  }

  function attach(file) {
    const input = byId("reply-file");
    const sessionId = openSession();
    if (!input || !sessionId || !file) return false;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    files.set(sessionId, file);
    renderPreview();
    return true;
  }

  function removeAttachment() {
    const input = byId("reply-file");
    if (input) input.value = "";
    files.delete(openSession());
    renderPreview();
    const box = byId("reply-text");
    if (box) box.focus();
  }

  function hasFiles(dataTransfer) {
    return !!dataTransfer && Array.from(dataTransfer.types || []).includes("Files");
  }

  // Replying to one message --------------------------------------------------------

  function showReplyTarget(chatId, quote) {
    const target = byId("reply-target");
    const field = byId("reply-to-id");
    if (!target || !field) return;
    field.value = chatId;
    target.querySelectorAll("[data-composer]").forEach((node) => node.remove());
    const label = document.createElement("span");
    label.className = "reply-target-label";
    label.textContent = formText("replyingLabel", "Replying to") + " ";
    const quoted = document.createElement("q");
    quoted.className = "reply-target-quote";
    quoted.textContent = quote;
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "reply-cancel";
    cancel.textContent = "×";
    cancel.setAttribute("aria-label", formText("cancelLabel", "Cancel reply"));
    cancel.title = cancel.getAttribute("aria-label");
    for (const node of [label, quoted, cancel]) {
      node.dataset.composer = "";
      target.append(node);
    }
    setHidden(target, false);
  }

  // `hidden`, and display too: a stylesheet's `display` on the element outranks `hidden`.
  function setHidden(element, hidden) {
    element.hidden = hidden;
    element.style.display = hidden ? "none" : "";
  }

  function clearReplyTarget() {
    const target = byId("reply-target");
    const field = byId("reply-to-id");
    if (field) field.value = "";
    if (target) {
      target.querySelectorAll("[data-composer]").forEach((node) => node.remove());
      setHidden(target, true);
    }
  }

  function replyTo(message) {
    const sessionId = openSession();
    if (!message || !sessionId) return;
    const chatId = message.dataset.chatId;
    const quote = message.dataset.quote || "";
    replies.set(sessionId, { chatId: chatId, quote: quote });
    showReplyTarget(chatId, quote);
    const box = byId("reply-text");
    if (box) box.focus();
  }

  function cancelReply() {
    replies.delete(openSession());
    clearReplyTarget();
  }

  function replying() {
    const field = byId("reply-to-id");
    return !!(field && field.value);
  }

  // Typing --------------------------------------------------------------------

  function sendTyping(sessionId, box) {
    if (!box.value.trim()) return;
    const noteMode = byId("mode-note");
    if (noteMode && noteMode.checked) return; // a private note: the client must see nothing
    const conversation = byId("conversation");
    if (conversation && conversation.dataset.unreachable) return;
    const now = Date.now();
    if (now - (lastTyping.get(sessionId) || 0) < TYPING_EVERY_MS) return;
    const helpDesk = window.HelpDesk;
    if (helpDesk && helpDesk.send({ action: "typing", session_id: sessionId })) {
      lastTyping.set(sessionId, now);
    }
  }

  // A conversation came in (switch, reload, or a reply's fresh fragment) ------------

  function restore() {
    const sessionId = openSession();
    const box = byId("reply-text");
    if (!sessionId || !box) return;
    if (!box.value) {
      const draft = readDraft(sessionId);
      if (draft) box.value = draft;
    }
    const input = byId("reply-file");
    const file = files.get(sessionId);
    if (input && file && !(input.files && input.files.length)) {
      const transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
    }
    renderPreview();
    const field = byId("reply-to-id");
    const reply = replies.get(sessionId);
    if (reply && field && (!field.value || field.value === reply.chatId)) {
      showReplyTarget(reply.chatId, reply.quote);
    } else if (field && field.value) {
      // The server kept it (a refused send): show what it is.
      const message = byId("chat-" + field.value);
      showReplyTarget(field.value, message ? message.dataset.quote || "" : "");
    } else {
      clearReplyTarget();
    }
    updateSplitNote();
  }

  function forget(sessionId) {
    saveDraft(sessionId, "");
    files.delete(sessionId);
    replies.delete(sessionId);
  }

  function isReplyRequest(detail) {
    const elt = detail && ((detail.requestConfig && detail.requestConfig.elt) || detail.elt);
    return elt && elt.id === "reply-form" ? elt : null;
  }

  function succeeded(detail) {
    return !!detail.xhr && detail.xhr.status >= 200 && detail.xhr.status < 300;
  }

  function isField(element) {
    if (!(element instanceof Element)) return false;
    if (element.isContentEditable) return true;
    return element.matches("textarea, select, input:not([type=button], [type=submit], [type=reset], [type=checkbox], [type=radio], [type=file], [type=image])");
  }

  function openDialog() {
    return document.querySelector("dialog[open]");
  }

  // Listeners -----------------------------------------------------------------

  // Capture: runs before keys.js's handlers, so Escape cancels a reply before it blurs.
  document.addEventListener(
    "keydown",
    (event) => {
      const box = byId("reply-text");
      // Escape cancels a reply from the box or the page, not from another text field.
      const elsewhere = event.target !== box && isField(event.target);
      if (event.key === "Escape" && replying() && !elsewhere && !openDialog()) {
        event.preventDefault();
        cancelReply();
        return;
      }
      if (!box || event.target !== box || event.key !== "Enter") return;
      if (event.isComposing || event.keyCode === 229) return; // choosing IME candidates
      if (event.shiftKey || event.altKey) return; // a new line
      event.preventDefault();
      const form = byId("reply-form");
      const input = byId("reply-file");
      const hasFile = input && input.files && input.files.length > 0;
      if (!form || (!box.value.trim() && !hasFile)) return;
      if (form.classList.contains("htmx-request")) return; // already on its way
      form.requestSubmit();
    },
    true,
  );

  document.addEventListener("input", (event) => {
    const box = event.target;
    if (!box || box.id !== "reply-text") return;
    const sessionId = sessionOf(box);
    if (!sessionId) return;
    saveDraft(sessionId, box.value);
    updateSplitNote();
    sendTyping(sessionId, box);
  });

  document.addEventListener("change", (event) => {
    if (!event.target || event.target.id !== "reply-file") return;
    const input = event.target;
    const sessionId = sessionOf(input);
    if (sessionId && input.files && input.files.length) files.set(sessionId, input.files[0]);
    else if (sessionId) files.delete(sessionId);
    renderPreview();
  });

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest(".attachment-remove")) {
      removeAttachment();
      return;
    }
    if (target.closest(".reply-cancel")) {
      cancelReply();
      const box = byId("reply-text");
      if (box) box.focus();
      return;
    }
    const button = target.closest("button.reply-to");
    if (button) {
      const message = button.closest("li.msg") || byId("chat-" + button.dataset.chatId);
      replyTo(message);
    }
  });

  document.addEventListener("paste", (event) => {
    const box = byId("reply-text");
    const clipboard = event.clipboardData;
    if (!box || !clipboard || !clipboard.files || !clipboard.files.length) return;
    const target = event.target instanceof Element ? event.target : null;
    if (!target || !target.closest("#conversation")) return;
    attach(clipboard.files[0]);
    // Text copied along with an image (from a document) still pastes as text.
    if (!Array.from(clipboard.types || []).includes("text/plain")) event.preventDefault();
  });

  function dropZone(event) {
    const target = event.target instanceof Element ? event.target : null;
    return target && byId("reply-form") ? target.closest("#conversation") : null;
  }

  for (const type of ["dragenter", "dragover"]) {
    document.addEventListener(type, (event) => {
      if (!hasFiles(event.dataTransfer)) return;
      // Never let a dropped file replace the workspace with the file itself.
      event.preventDefault();
      const zone = dropZone(event);
      event.dataTransfer.dropEffect = zone ? "copy" : "none";
      const conversation = byId("conversation");
      if (conversation) conversation.classList.toggle("drop-target", !!zone);
    });
  }

  document.addEventListener("dragleave", (event) => {
    const conversation = byId("conversation");
    if (conversation && !event.relatedTarget) conversation.classList.remove("drop-target");
  });

  document.addEventListener("drop", (event) => {
    if (!hasFiles(event.dataTransfer)) return;
    event.preventDefault();
    const conversation = byId("conversation");
    if (conversation) conversation.classList.remove("drop-target");
    if (!dropZone(event)) return;
    const file = event.dataTransfer.files[0];
    if (attach(file)) {
      const box = byId("reply-text");
      if (box) box.focus();
    }
  });

  // A sent reply: forget its draft before the fresh fragment comes in, so that the
  // restore after the swap does not put the sent text back; a refused one keeps it.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = isReplyRequest(event.detail);
    if (form) form.dataset.sessionId = sessionOf(form) || "";
  });
  document.addEventListener("htmx:beforeSwap", (event) => {
    const form = isReplyRequest(event.detail);
    if (form && succeeded(event.detail)) forget(form.dataset.sessionId || sessionOf(form));
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = isReplyRequest(event.detail);
    if (!form || !succeeded(event.detail)) return;
    const sessionId = form.dataset.sessionId || sessionOf(form);
    forget(sessionId);
    lastTyping.delete(sessionId);
  });

  // An ended session takes no more replies: its draft would only fill the storage.
  document.addEventListener("workspace:push", (event) => {
    const push = event.detail && event.detail.event;
    if (push && push.kind === "session" && push.status === "ENDED") forget(String(push.session_id));
  });

  document.addEventListener("workspace:opened", restore);
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target && event.target.id === "work") restore();
  });
  restore(); // deferred: the page's own conversation is parsed already
})();
