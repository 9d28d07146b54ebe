// An action's signing secrets in the editor: whether its calls are signed, each secret's id and
// when it was made, making one (its value shown once) and retiring one. Both act at once through
// their own routes, not with the form's Save. Operators who may only read see the ids, which are
// not secret, and nothing to press.

import { api, segment } from "./api.js";
import { confirmDialog } from "./dialog.js";
import { h, replace, time, uid } from "./dom.js";
import { shownOnce } from "./shownonce.js";

/** Secrets an action may have at once (the API's MAX_SIGNING_SECRETS; a test holds them together). */
const MOST = 2;

const ABOUT = "Receivers check each call's webhook-signature header with the secret (Standard "
  + "Webhooks). To change it: make a new secret, give it to the receivers, then retire the old "
  + "one; until then both sign every call.";

/** In words: whether the calls are signed, with how many secrets. */
function signedWith(count) {
  if (count === 0) return "Calls are not signed.";
  if (count === 1) return "Calls are signed with this secret.";
  return "Calls are signed with both secrets until one is retired.";
}

/** The Signing fieldset of `action` (a new one has none yet: it must be saved first). */
export function signingFieldset(action, { readOnly }) {
  const legend = h("legend", {}, "Signing");
  if (!action.name) {
    return h("fieldset", { class: "signing" }, legend,
      h("p", { class: "hint" }, "Once the action is created, its calls can be signed here."));
  }
  let secrets = action.signing_secrets;
  const path = `/webhooks/${segment(action.name)}/signing-secrets`;
  const state = h("p", { class: "signed" });
  const list = h("ul", { class: "secrets", "aria-label": "Signing secrets" });
  const said = h("p", { class: "status", role: "status" });
  const shown = h("div");
  const reason = h("p", { class: "hint", id: uid("hint") });
  const make = h("button", { type: "button" }, "New signing secret");
  /** The secret whose value is on show, if any. */
  let showing = null;

  const reread = async () => {
    secrets = (await api("GET", `/webhooks/${segment(action.name)}`)).signing_secrets;
  };
  const fail = (error) => replace(said, h("span", { class: "bad" }, error.message));

  const retire = async (secret) => {
    const text = secrets.length > 1
      ? "Calls stop being signed with it at once: a receiver that checks only this secret "
        + "rejects them from now on."
      : "Calls stop being signed at once: a receiver that checks signatures rejects them "
        + "from now on.";
    if (!await confirmDialog(`Retire ${secret.id}?`, text, "Retire")) return;
    try {
      await api("DELETE", `${path}/${segment(secret.id)}`);
      replace(said, `${secret.id} was retired.`);
      if (showing === secret.id) {
        replace(shown);
        showing = null;
      }
      await reread();
    } catch (error) {
      fail(error);
    }
    draw();
    // Its Retire button went with it: the focus goes on where a next step begins.
    make.focus();
  };

  const secretItem = (secret) => h("li", { class: "secret" },
    h("code", {}, secret.id), h("span", { class: "muted" }, " made ", time(secret.created_at)),
    readOnly ? null : h("button", {
      type: "button", class: "danger", "aria-label": `Retire ${secret.id}`,
      onclick: () => retire(secret),
    }, "Retire"));

  function draw() {
    replace(state, signedWith(secrets.length));
    replace(list, secrets.map(secretItem));
    list.hidden = secrets.length === 0;
    const full = secrets.length >= MOST;
    make.disabled = full;
    replace(reason, full ? `An action has at most ${MOST} signing secrets: retire one first.` : "");
    reason.hidden = !full;
    if (full) make.setAttribute("aria-describedby", reason.id);
    else make.removeAttribute("aria-describedby");
  }

  make.addEventListener("click", async () => {
    make.disabled = true;
    replace(said);
    try {
      const made = await api("POST", path);
      showing = made.id;
      replace(shown, shownOnce({
        region: "New signing secret", label: `Signing secret ${made.id}`, value: made.secret,
        note: made.message,
      }));
      shown.querySelector("input").focus();
      await reread();
    } catch (error) {
      fail(error);
    }
    draw();
  });

  draw();
  return h("fieldset", { class: "signing" }, legend,
    h("p", { class: "hint" }, ABOUT, readOnly ? "" : " These buttons act at once, not with Save."),
    state, list, shown,
    readOnly ? null : h("div", { class: "buttons" }, make),
    readOnly ? null : reason,
    said);
}
