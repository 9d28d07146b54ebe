// The audit log, newest first, a page at a time. The server keeps header names only.

import { api } from "./api.js";
import { h, replace, time } from "./dom.js";

const shown = (value) => (value === undefined ? "(none)" : JSON.stringify(value));

/** What changed: the fields that differ, before → after; a creation or deletion in full. */
function change(entry) {
  const { before, after } = entry;
  if (!before && !after) return null;
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  const rows = keys
    .filter((key) => !before || !after || shown(before[key]) !== shown(after[key]))
    .map((key) => {
      if (!before) return [key, shown(after[key])];
      if (!after) return [key, shown(before[key])];
      return [key, `${shown(before[key])} → ${shown(after[key])}`];
    });
  const title = !before ? "set" : !after ? "was" : "changed";
  return h("dl", { class: "change", "data-kind": title },
    rows.map(([key, text]) => [h("dt", {}, key), h("dd", {}, text)]));
}

function entryRow(entry) {
  return h("tr", {},
    h("td", { "data-label": "When" }, time(entry.at)),
    h("td", { "data-label": "Who" }, entry.actor),
    h("td", { "data-label": "What" }, h("code", {}, entry.action)),
    h("td", { "data-label": "Target" }, entry.target),
    h("td", { "data-label": "Change" }, change(entry)));
}

/** #/audit */
export async function auditView(view, me) {
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Older entries");
  let before = null;
  const load = async () => {
    const page = await api("GET", `/audit?limit=50${before ? `&before=${before}` : ""}`);
    body.append(...page.items.map(entryRow));
    before = page.next_before;
    more.hidden = !before;
  };
  more.addEventListener("click", load);
  await load();
  replace(view, h("h1", { tabindex: "-1" }, "Audit log"),
    h("p", { class: "hint" }, `Every change in ${me.tenant}, newest first. Header values are never recorded.`),
    body.children.length
      ? h("table", { class: "list audit" },
        h("caption", { class: "visually-hidden" }, "Audit log"),
        h("thead", {}, h("tr", {},
          ["When", "Who", "What", "Target", "Change"].map((t) => h("th", { scope: "col" }, t)))),
        body)
      : h("p", { class: "empty" }, "Nothing has changed yet."),
    more);
}
