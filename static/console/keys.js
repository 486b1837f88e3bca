// Keyboard shortcuts of the agent workspace, and the `?` dialog that lists them.
// Letters never fire while the agent types in a field; Escape and Alt+Arrow do, since
// they are meant for the reply box. Sessions open through window.HelpDesk.open, in the
// order the list shows them.
(function () {
  "use strict";

  if (!document.body.dataset.userId) return;

  // [keys, description]: the dialog the page may render (#shortcut-help, translated)
  // lists the same; this English one is only the fallback.
  const SHORTCUTS = [
    [["j", "Alt+↓"], "Next session"],
    [["k", "Alt+↑"], "Previous session"],
    [["u"], "Next unread session"],
    [["r"], "Reply box (on a message: reply to it)"],
    [["/"], "Search sessions"],
    [["Enter"], "Send"],
    [["Shift+Enter"], "New line"],
    [["Esc"], "Cancel the reply, leave the box"],
    [["?"], "Show these shortcuts"],
  ];

  let focusBoxOnOpen = false;
  let returnFocus = null;

  const byId = (id) => document.getElementById(id);

  function isField(element) {
    if (!(element instanceof Element)) return false;
    if (element.isContentEditable) return true;
    return element.matches(
      "textarea, select, input:not([type=button], [type=submit], [type=reset], [type=checkbox], [type=radio], [type=file], [type=image])",
    );
  }

  function showPane(name) {
    const workspace = byId("workspace");
    if (workspace && workspace.dataset.pane) workspace.dataset.pane = name;
  }

  // Sessions ------------------------------------------------------------------

  function rows() {
    return Array.from(document.querySelectorAll("#session-list > li.session-row")).filter(
      (row) => !row.hidden,
    );
  }

  function openId() {
    const helpDesk = window.HelpDesk;
    const id = helpDesk && helpDesk.openSessionId ? helpDesk.openSessionId() : null;
    if (id) return String(id);
    const conversation = byId("conversation");
    return conversation ? conversation.dataset.sessionId : null;
  }

  function open(row) {
    if (!row) return false;
    const helpDesk = window.HelpDesk;
    if (helpDesk && helpDesk.open) helpDesk.open(row.dataset.sessionId);
    else {
      const link = row.querySelector("a[href]");
      if (!link) return false;
      link.click();
    }
    row.scrollIntoView({ block: "nearest" });
    return true;
  }

  function step(by) {
    const list = rows();
    if (!list.length) return false;
    const index = list.findIndex((row) => row.dataset.sessionId === openId());
    if (index < 0) return open(by > 0 ? list[0] : list[list.length - 1]);
    const next = list[index + by];
    return next ? open(next) : false; // the ends do not wrap
  }

  function unread(row) {
    return parseInt(row.dataset.unread || "0", 10) > 0 || row.classList.contains("unread");
  }

  function nextUnread() {
    const list = rows();
    const index = list.findIndex((row) => row.dataset.sessionId === openId());
    // After the open one, then from the top.
    const order = list.slice(index + 1).concat(list.slice(0, Math.max(index, 0)));
    return open(order.find(unread));
  }

  // Focus ------------------------------------------------------------------

  function focusReply() {
    const focused = document.activeElement;
    const message = focused instanceof Element ? focused.closest("li.msg") : null;
    const replyTo = message && message.querySelector("button.reply-to");
    if (replyTo) {
      replyTo.click(); // composer.js: answer this message, focus the box
      return true;
    }
    const box = byId("reply-text");
    if (!box) return false;
    showPane("conversation");
    box.focus();
    return true;
  }

  function focusSearch() {
    const search = byId("session-search");
    if (!search) return false;
    showPane("list");
    search.focus();
    search.select();
    return true;
  }

  // Help dialog --------------------------------------------------------------

  function buildHelp() {
    const dialog = document.createElement("dialog");
    dialog.id = "shortcut-help";
    dialog.className = "shortcut-help";
    dialog.setAttribute("aria-labelledby", "shortcut-help-title");
    const title = document.createElement("h2");
    title.id = "shortcut-help-title";
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    list.className = "shortcuts";
    for (const [keys, description] of SHORTCUTS) {
      const term = document.createElement("dt");
      keys.forEach((key, index) => {
        if (index) term.append(" / ");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        term.append(kbd);
      });
      const detail = document.createElement("dd");
      detail.textContent = description;
      list.append(term, detail);
    }
    const form = document.createElement("form");
    form.method = "dialog";
    const close = document.createElement("button");
    close.textContent = "Close";
    form.append(close);
    dialog.append(title, list, form);
    document.body.append(dialog);
    return dialog;
  }

  function showHelp() {
    const dialog = byId("shortcut-help") || buildHelp();
    if (dialog.open) return true;
    returnFocus = document.activeElement;
    if (!dialog.dataset.bound) {
      dialog.dataset.bound = "1";
      dialog.addEventListener("close", () => {
        if (returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
        returnFocus = null;
      });
    }
    dialog.showModal();
    return true;
  }

  // Keys -------------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey) return;
    if (document.querySelector("dialog[open]")) return; // the dialog handles its Escape
    const target = event.target;
    const typing = isField(target);
    const box = byId("reply-text");

    if (event.key === "Escape") {
      if (typing) target.blur();
      return;
    }
    if (event.altKey) {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      if (target instanceof Element && target.matches("select")) return; // opens the select
      const fromBox = box !== null && target === box;
      if (step(event.key === "ArrowDown" ? 1 : -1)) {
        event.preventDefault();
        focusBoxOnOpen = fromBox;
      }
      return;
    }
    if (typing || event.repeat) return;
    let done = false;
    switch (event.key) {
      case "j":
        done = step(1);
        break;
      case "k":
        done = step(-1);
        break;
      case "u":
        done = nextUnread();
        break;
      case "r":
        done = focusReply();
        break;
      case "/":
        done = focusSearch();
        break;
      case "?":
        done = showHelp();
        break;
      default:
        return;
    }
    if (done) event.preventDefault(); // "/" and "r" would be typed into the field
  });

  // Alt+Arrow from the reply box: keep typing in the next session's box.
  document.addEventListener("workspace:opened", () => {
    if (!focusBoxOnOpen) return;
    focusBoxOnOpen = false;
    const box = byId("reply-text");
    if (box) box.focus();
  });
})();
