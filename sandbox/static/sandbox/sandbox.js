// The sandbox page: plain JavaScript, no libraries, no network beyond this server.
(function () {
  "use strict";
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const list = document.getElementById("client-list");
  const messages = document.getElementById("messages");
  const sendForm = document.getElementById("send");
  const errorBox = document.getElementById("error");
  let current = null;
  let shown = "";

  const fileInput = sendForm.querySelector("input[type=file]");
  function size(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1).replace(/\.0$/, "") + " MB";
    return bytes >= 1024 ? Math.round(bytes / 1024) + " KB" : bytes + " bytes";
  }
  // What to tell the person when a proxy or Django answers without our JSON error.
  const fallback = {
    403: "You are signed out or the page is stale: sign in again and reload.",
    404: "This client is gone (the sandbox restarted): add a new one.",
    413: "The file is too large.",
    429: "Too many new clients: wait a minute.",
  };

  async function call(url, options) {
    const response = await fetch(url, Object.assign({ headers: { "X-CSRFToken": csrf } }, options));
    let body = null;
    try { body = await response.json(); } catch (ignored) { /* an HTML error page */ }
    if (!response.ok) {
      let message = (body && body.error) || fallback[response.status] || response.statusText;
      const wait = response.headers.get("Retry-After");
      if (response.status === 429 && wait && !(body && body.error)) message += " (" + wait + " s)";
      throw new Error(message);
    }
    return body;
  }

  function showError(error) { errorBox.textContent = error ? String(error.message || error) : ""; }

  async function loadClients() {
    const { clients } = await call("/sandbox/api/clients/");
    list.replaceChildren(...clients.map((client) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.textContent = [client.first_name, client.last_name].filter(Boolean).join(" ") +
        (client.username ? " @" + client.username : "");
      button.className = current && current.id === client.id ? "active" : "";
      button.addEventListener("click", () => { current = client; shown = ""; loadClients(); refresh(); });
      item.append(button);
      return item;
    }));
  }

  async function refresh() {
    if (!current) return;
    document.getElementById("chat-title").textContent = "Chat as " + current.first_name;
    sendForm.hidden = false;
    const { messages: items } = await call("/sandbox/api/clients/" + current.id + "/messages/");
    const key = JSON.stringify(items);
    if (key === shown) return;
    shown = key;
    messages.replaceChildren(...items.map((message) => {
      const item = document.createElement("li");
      item.className = message.from;
      item.textContent = message.text;  // text only: never HTML
      if (message.file) {
        const file = document.createElement("div");
        file.className = "file";
        file.textContent = "📎 " + message.file;
        item.append(file);
      }
      if (message.buttons && message.buttons.length) item.append(keyboard(message));
      return item;
    }));
    messages.scrollTop = messages.scrollHeight;
  }

  // A bot message's inline buttons, as the message has them now (after the bot's edits).
  function keyboard(message) {
    const rows = document.createElement("div");
    rows.className = "keyboard";
    const client = current;
    rows.append(...message.buttons.map((buttons) => {
      const row = document.createElement("div");
      row.append(...buttons.map((button) => {
        const press = document.createElement("button");
        press.type = "button";
        press.textContent = button.text;
        press.addEventListener("click", () => pressButton(client, message.id, button.data, rows));
        return press;
      }));
      return row;
    }));
    return rows;
  }

  async function pressButton(client, messageId, data, rows) {
    const buttons = rows.querySelectorAll("button");
    buttons.forEach((button) => { button.disabled = true; });  // Telegram's spinner
    try {
      const body = new URLSearchParams({ message_id: String(messageId), data: data });
      await call("/sandbox/api/clients/" + client.id + "/presses/", { method: "POST", body: body });
      showError(null);
      await refresh();
    } catch (error) { showError(error); }
    buttons.forEach((button) => { button.disabled = false; });
  }

  document.getElementById("new-client").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      current = await call("/sandbox/api/clients/", { method: "POST", body: new FormData(event.target) });
      event.target.reset();
      shown = "";
      showError(null);
      await loadClients();
      await refresh();
    } catch (error) { showError(error); }
  });

  sendForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    const maxBytes = Number(fileInput.dataset.maxBytes);
    if (file && maxBytes && file.size > maxBytes) {
      showError("The file is too large: the limit is " + size(maxBytes) + ".");
      return;  // the text stays in the form
    }
    try {
      await call("/sandbox/api/clients/" + current.id + "/messages/", { method: "POST", body: new FormData(sendForm) });
      sendForm.reset();
      showError(null);
      await refresh();
    } catch (error) { showError(error); }
  });

  loadClients().catch(showError);
  setInterval(() => refresh().catch(showError), 1000);
})();
