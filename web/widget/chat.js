// The chat widget: one <script type="module"> tag puts a chat window on any page and talks to
// Rasa 3.6's socket.io channel (session_request/session_confirm, user_uttered/bot_uttered).
//
//   <script type="module" src="https://bot.example.com/widget/chat.js"
//     data-server="https://bot.example.com" data-title="Ask us" data-initial-message="hi"></script>
//
// Attributes: data-server (Rasa's address; default: this page's), data-path (socket.io path,
// default /socket.io/), data-title, data-initial-message (sent once per conversation, not
// shown, so the bot greets), data-open ("true": open at start), data-position ("bottom-right",
// the default, or "bottom-left", at every width), data-stylesheet ("none": bring your own).
// Bot text is always set as text, never parsed as HTML. The host page never scrolls or moves.

import { io } from "./socket.io.esm.min.js";

const script = [...document.querySelectorAll("script[src]")].find((s) => s.src === import.meta.url);
const options = script?.dataset ?? {};
const KEY = `rasa-chat:${options.server ?? location.origin}`;
const stored = JSON.parse(sessionStorage.getItem(KEY) ?? "null") ?? { session: null, log: [] };

function save() {
  stored.log = stored.log.slice(-200);
  sessionStorage.setItem(KEY, JSON.stringify(stored));
}

function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, "");
    else if (value !== false && value != null) element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) element.append(child); // strings become text nodes
  }
  return element;
}

// The widget joins the page once styled: unstyled, it would sit in the page's flow. A
// stylesheet that neither loads nor fails within 3 s does not keep the chat away.
const styled = options.stylesheet === "none" ? Promise.resolve() : new Promise((resolve) => {
  document.head.append(h("link", {
    rel: "stylesheet", href: new URL("chat.css", import.meta.url), onload: resolve, onerror: resolve,
  }));
  setTimeout(resolve, 3000);
});

const title = options.title || "Chat with us";
const messages = h("ol", { class: "rc-messages", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
const typing = h("p", { class: "rc-typing", hidden: true, "aria-live": "polite" }, "The assistant is typing…");
const state = h("p", { class: "rc-state", role: "status" });
const input = h("input", { id: "rc-input", class: "rc-input", autocomplete: "off", maxlength: 1000 });
const send = h("button", { type: "submit", class: "rc-send" }, "Send");
const form = h("form", { class: "rc-form" },
  h("label", { for: "rc-input", class: "rc-hidden" }, "Message"), input, send);
const close = h("button", { type: "button", class: "rc-close", "aria-label": "Close the chat" }, "×");
const panel = h("section", { class: "rc-panel", "aria-label": title, hidden: true },
  h("header", { class: "rc-header" }, h("h2", {}, title), close), state, messages, typing, form);
const launcher = h("button", { type: "button", class: "rc-launcher", "aria-expanded": "false" }, title);
const position = options.position === "bottom-left" ? "bottom-left" : "bottom-right";
const root = h("div", { class: "rasa-chat", "data-position": position }, panel, launcher);

function toLatest() {
  messages.scrollTop = messages.scrollHeight; // the list scrolls, never the host page
}

function setOpen(open, focus = true) {
  panel.hidden = !open;
  root.classList.toggle("rc-open", open);
  launcher.setAttribute("aria-expanded", String(open));
  launcher.hidden = open;
  if (open) toLatest(); // a hidden list cannot scroll
  if (focus) (open ? input : launcher).focus({ preventScroll: true });
}
launcher.addEventListener("click", () => setOpen(true));
close.addEventListener("click", () => setOpen(false));
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") setOpen(false);
});

/** One bot answer: text, then its quick replies or buttons as buttons that answer for you. */
function botEntry(message) {
  const choices = [...(message.quick_replies ?? []), ...(message.buttons ?? [])]
    .filter((choice) => choice && choice.title);
  const image = message.attachment?.type === "image" ? message.attachment.payload?.src : null;
  return h("li", { class: "rc-bot" },
    message.text ? h("p", {}, message.text) : null,
    image && /^https:/.test(image) ? h("img", { src: image, alt: "" }) : null,
    choices.length
      ? h("div", { class: "rc-choices" }, choices.map((choice) => h("button", {
        type: "button",
        onclick: () => say(String(choice.title), String(choice.payload ?? choice.title)),
      }, String(choice.title))))
      : null);
}

function show(entry) {
  if (entry.from === "user") {
    // An answer, typed or pressed, closes the earlier questions (also when the log is replayed).
    for (const button of messages.querySelectorAll(".rc-choices button")) button.disabled = true;
    messages.append(h("li", { class: "rc-user" }, h("p", {}, entry.text)));
  } else {
    messages.append(botEntry(entry.message));
  }
  toLatest();
}

let waiting = null;
function waitForBot(on) {
  clearTimeout(waiting);
  typing.hidden = !on;
  // Rasa sends an answer as several messages and never says it is done: the indicator goes
  // with the first and comes back until the bot has been quiet for a moment.
  if (on) waiting = setTimeout(() => { typing.hidden = true; }, 15000);
}

const socket = io(options.server || location.origin, {
  path: options.path || "/socket.io/",
  transports: ["websocket", "polling"],
  tryAllTransports: true,
  reconnectionDelayMax: 4000,
});

function say(text, payload = text, { silent = false } = {}) {
  if (!payload.trim()) return;
  if (!silent) {
    const entry = { from: "user", text };
    stored.log.push(entry);
    save();
    show(entry);
  }
  socket.emit("user_uttered", { message: payload, session_id: stored.session });
  waitForBot(true);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!stored.session) return;
  say(input.value);
  input.value = "";
});

socket.on("connect", () => {
  root.dataset.transport = socket.io.engine.transport.name;
  socket.io.engine.once("upgrade", () => { root.dataset.transport = socket.io.engine.transport.name; });
  state.textContent = "";
  // The same session id after a reload or a reconnection: Rasa continues the conversation.
  socket.emit("session_request", { session_id: stored.session });
});

socket.on("session_confirm", (id) => {
  const started = stored.session === null;
  stored.session = typeof id === "string" ? id : id?.session_id ?? stored.session;
  save();
  root.dataset.session = stored.session;
  send.disabled = false;
  if (started && options.initialMessage) say(options.initialMessage, options.initialMessage, { silent: true });
});

socket.on("bot_uttered", (message) => {
  const entry = { from: "bot", message: message ?? {} };
  stored.log.push(entry);
  save();
  show(entry);
  waitForBot(false);
});

socket.on("disconnect", () => {
  send.disabled = true;
  state.textContent = "Connection lost: reconnecting…";
});
socket.io.on("reconnect_attempt", () => {
  state.textContent = "Connection lost: reconnecting…";
});

send.disabled = true;
stored.log.forEach(show);
styled.then(() => {
  document.body.append(root);
  setOpen(options.open === "true", options.open === "true"); // closed, it leaves the page's focus
});
