// The console's shell: sign in and out, the sections, and the address (#/...) each view has.

import { api, ApiError, onSignedOut, session } from "./api.js";
import { h, replace } from "./dom.js";
import { actionsView, testView } from "./actions.js";
import { editorView } from "./editor.js";
import { tenantView } from "./tenant.js";
import { auditView } from "./audit.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

/** Who is signed in: GET /me, kept for the views (permissions decide what they offer). */
let me = null;
/** Counts the views asked for: a view that finishes loading after a newer one was asked for is dropped. */
let asked = 0;

function signInView(notice) {
  const input = h("input", {
    id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false",
    required: true,
  });
  const problem = h("p", { class: "field-error", id: "token-error", role: "alert", hidden: true });
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, "Sign in"),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    h("p", {}, "Use the API token your tenant admin gave you. It stays in this tab only."),
    h("div", { class: "field" }, h("label", { for: "token" }, "API token"), input, problem),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Sign in")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    problem.hidden = true;
    input.removeAttribute("aria-invalid");
    try {
      if (!token) throw new ApiError(401, { error: { message: "Enter your API token." } });
      me = await api("GET", "/me", undefined, { token });
    } catch (error) {
      problem.textContent = error.status === 401 && token
        ? "That token is not valid: it is unknown or was revoked."
        : error.message;
      problem.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", problem.id);
      input.focus();
      return;
    }
    session.keep(token);
    input.value = "";
    if (location.hash === "#/actions") show();
    else location.hash = "#/actions"; // hashchange shows it
  });
  replace(main, form);
  input.focus();
}

function signOut(notice) {
  asked += 1;
  session.forget();
  me = null;
  nav.hidden = true;
  who.hidden = true;
  history.replaceState(null, "", location.pathname);
  signInView(notice);
}

document.getElementById("sign-out").addEventListener("click", () => signOut("You are signed out."));
onSignedOut(() => signOut("Your token is no longer accepted; sign in again."));

/** The address's parts: #/section/name/verb. */
const address = () => location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);

/** The view for the address, drawn into `view`. */
function route(view) {
  const [section = "actions", name, verb] = address();
  if (section === "actions" && name === "new") return editorView(view, me, null);
  if (section === "actions" && name && verb === "edit") return editorView(view, me, name);
  if (section === "actions" && name && !verb) return editorView(view, me, name);
  if (section === "actions" && name && verb === "test") return testView(view, me, name);
  if (section === "tenant" && me.admin) return tenantView(view, me);
  if (section === "audit") return auditView(view, me);
  return actionsView(view, me);
}

async function show() {
  if (!session.token) return signInView();
  asked += 1;
  const ticket = asked;
  try {
    me ??= await api("GET", "/me");
  } catch (error) {
    if (error.status === 401) return undefined; // onSignedOut has shown the form
    replace(main, h("p", { class: "problem", role: "alert" }, error.message));
    return undefined;
  }
  nav.hidden = false;
  who.hidden = false;
  replace(document.getElementById("who-name"), `${me.name} · ${me.tenant}`);
  for (const link of nav.querySelectorAll("[data-admin]")) link.hidden = !me.admin;
  const section = address()[0] || "actions";
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  // The view loads off-page and replaces the current one only if no newer address was asked for
  // meanwhile (a quick click or Enter while a list still loads).
  const view = h("div", { class: "view" });
  try {
    await route(view);
  } catch (error) {
    if (error.status === 401) return undefined;
    replace(view, h("p", { class: "problem", role: "alert" }, error.message));
  }
  if (ticket !== asked) return undefined;
  replace(main, view);
  // Keyboard and screen-reader users land on the new view's heading.
  main.querySelector("h1")?.focus({ preventScroll: true });
  return undefined;
}

window.addEventListener("hashchange", show);
show();
