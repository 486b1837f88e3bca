// Being told: a sound, a desktop notification and the tab title's unread count when a
// session is assigned to me or a client writes where I am not looking. The switches
// (#alert-controls) are the agent's own, kept on the user's row.
(function () {
  "use strict";

  const body = document.body;
  const me = body.dataset.userId;
  if (!me) return; // signed out: no workspace
  const isAdmin = body.dataset.role === "ADMIN";
  const SOUND_GAP_MS = 1000; // a burst of messages chimes once
  const supportsNotifications = "Notification" in window;

  let audio = null;
  let lastSound = 0;

  function form() {
    return document.getElementById("alert-form");
  }

  function text(name, fallback) {
    const alertForm = form();
    return (alertForm && alertForm.dataset[name]) || fallback;
  }

  // The switch when it is on the page (it changes at once), else the user's row as rendered.
  function switchedOn(id, attribute) {
    const box = document.getElementById(id);
    if (box) return box.checked;
    return body.dataset[attribute] !== "0";
  }

  function playSound() {
    if (!switchedOn("alert-sound", "notifySound")) return;
    const now = Date.now();
    if (now - lastSound < SOUND_GAP_MS) return;
    lastSound = now;
    const alertForm = form();
    const url = alertForm && alertForm.dataset.soundUrl;
    if (!url) return;
    if (!audio) {
      audio = new Audio(url);
      audio.preload = "auto";
    }
    audio.currentTime = 0;
    // Refused until the agent has interacted with the page (the browser's autoplay rule).
    const playing = audio.play();
    if (playing && playing.catch) playing.catch(() => {});
  }

  function row(sessionId) {
    return document.getElementById("session-" + sessionId);
  }

  function clientName(sessionId, html) {
    const item = row(sessionId);
    if (item && item.dataset.clientName) return item.dataset.clientName;
    if (html) {
      const template = document.createElement("template");
      template.innerHTML = html.trim();
      const pushed = template.content.firstElementChild;
      if (pushed && pushed.dataset.clientName) return pushed.dataset.clientName;
    }
    return text("textFallback", document.title);
  }

  function notify(sessionId, bodyText, html) {
    if (!supportsNotifications || Notification.permission !== "granted") return;
    if (!switchedOn("alert-desktop", "notifyDesktop")) return;
    let notification;
    try {
      // One per session: a burst replaces the previous notification instead of stacking.
      notification = new Notification(clientName(sessionId, html), {
        body: bodyText,
        tag: "helpdesk-session-" + sessionId,
      });
    } catch (error) {
      console.warn("alerts: no notification", error); // e.g. a page the browser forbids it
      return;
    }
    notification.addEventListener("click", () => {
      window.focus();
      if (window.HelpDesk && window.HelpDesk.open) window.HelpDesk.open(String(sessionId));
      notification.close();
    });
  }

  function openHere(sessionId) {
    const open = window.HelpDesk && window.HelpDesk.openSessionId && window.HelpDesk.openSessionId();
    return !document.hidden && open != null && String(open) === String(sessionId);
  }

  function mine(sessionId) {
    const item = row(sessionId);
    if (item) return item.dataset.csId === me;
    return !isAdmin; // an agent's socket carries only the agent's own sessions
  }

  function onPush(domEvent) {
    const event = domEvent.detail && domEvent.detail.event;
    if (event) {
      if (event.kind === "session" && event.is_new_for_me) {
        playSound();
        notify(event.session_id, text("textAssigned", "New session assigned"), event.html);
      } else if (
        event.kind === "chat" &&
        event.sender_type === "CLIENT" &&
        !event.is_notice &&
        !openHere(event.session_id) &&
        mine(event.session_id)
      ) {
        playSound();
        notify(event.session_id, text("textMessage", "New message"));
      }
    }
    updateTitle();
  }

  // The title: "(3) Help Desk" while my sessions hold 3 unread client messages.
  const COUNT_PREFIX = /^\(\d+\) /;
  let unread = 0;

  function unreadCount() {
    const list = document.getElementById("session-list");
    if (!list) return 0;
    let sum = 0;
    for (const item of list.querySelectorAll(".session-row")) {
      if (item.dataset.csId === me) sum += parseInt(item.dataset.unread, 10) || 0;
    }
    return sum;
  }

  function applyTitle() {
    const plain = document.title.replace(COUNT_PREFIX, "");
    const wanted = unread > 0 ? "(" + unread + ") " + plain : plain;
    if (document.title !== wanted) document.title = wanted;
  }

  function updateTitle() {
    unread = unreadCount();
    applyTitle();
  }

  // A swap may bring its own <title> (htmx sets it): put the count back in front.
  new MutationObserver(applyTitle).observe(document.head, {
    childList: true,
    subtree: true,
    characterData: true,
  });

  // Permission: asked only from the button, and the button shows only while unasked.
  function showPermission() {
    const button = document.getElementById("alert-permission");
    const blocked = document.getElementById("alert-blocked");
    const permission = supportsNotifications ? Notification.permission : "unsupported";
    if (button) button.hidden = permission !== "default";
    if (blocked) blocked.hidden = permission !== "denied";
  }

  async function askPermission() {
    if (!supportsNotifications) return;
    try {
      await Notification.requestPermission();
    } finally {
      showPermission();
    }
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const field = document.querySelector("#alert-form input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // A flipped switch counts at once (alerts read the box) and is saved in the background.
  async function save(box) {
    const name = box.name;
    const value = box.checked ? "1" : "0";
    body.dataset[name === "sound" ? "notifySound" : "notifyDesktop"] = value;
    const data = new FormData();
    data.append(name, value);
    try {
      const response = await fetch(form().action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
    } catch (error) {
      console.warn("alerts: the switch was not saved", error);
      box.checked = !box.checked; // show what is stored
      body.dataset[name === "sound" ? "notifySound" : "notifyDesktop"] = box.checked ? "1" : "0";
    }
  }

  document.addEventListener("change", (event) => {
    const box = event.target;
    if (box.id === "alert-sound" || box.id === "alert-desktop") save(box);
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("#alert-permission")) askPermission();
  });

  document.addEventListener("workspace:push", onPush);
  document.addEventListener("workspace:opened", updateTitle);
  document.addEventListener("workspace:closed", updateTitle);

  if (supportsNotifications && navigator.permissions && navigator.permissions.query) {
    navigator.permissions
      .query({ name: "notifications" })
      .then((status) => status.addEventListener("change", showPermission))
      .catch(() => {});
  }
  showPermission();
  updateTitle();
})();
