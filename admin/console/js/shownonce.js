// A value the API shows once (an API token, a signing secret): a read-only field with a Copy
// button and a note on what it is. The page keeps it nowhere else, so another view or a reload
// forgets it.

import { field, h, replace, uid } from "./dom.js";

/** A region named `region`: `note` (text or nodes), then `value` in a field labelled `label`. */
export function shownOnce({ region, label, value, note }) {
  const input = h("input", {
    readOnly: true, value, id: uid("once"), spellcheck: "false", autocomplete: "off",
    // Enter in a field of a form submits it: here that would save the form and leave the
    // page, taking the value shown once with it.
    onkeydown: (event) => { if (event.key === "Enter") event.preventDefault(); },
  });
  const said = h("span", { role: "status" });
  const copy = h("button", { type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      document.execCommand("copy");
    }
    replace(said, "Copied.");
  });
  return h("div", { class: "card token", role: "region", "aria-label": region },
    h("p", {}, note),
    h("div", { class: "cells" }, field(label, input, { wide: true }), h("div", { class: "row-end" }, copy, said)));
}
