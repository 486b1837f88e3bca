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

  async function call(url, options) {
    const response = await fetch(url, Object.assign({ headers: { "X-CSRFToken": csrf } }, options));
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
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
      return item;
    }));
    messages.scrollTop = messages.scrollHeight;
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
