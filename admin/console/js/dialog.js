// Asking before something that cannot be undone: a modal <dialog> in the middle of the window.
// The page behind it is inert, Tab stays inside it, Escape and Cancel say no, and the focus
// starts on the safe choice, so a stray Enter never deletes anything.

import { h, uid } from "./dom.js";

/** Ask `title` (with `text` under it); resolves true when the person presses `confirm`. */
export function confirmDialog(title, text, confirm) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const textId = uid("dialog-text");
    const cancel = h("button", { value: "cancel", autofocus: true }, "Cancel");
    const dialog = h("dialog", {
      class: "card confirm", "aria-labelledby": titleId, "aria-describedby": textId,
    },
    h("h2", { id: titleId }, title), h("p", { id: textId }, text),
    h("form", { method: "dialog", class: "buttons" },
      cancel, h("button", { value: "confirm", class: "danger" }, confirm)));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
