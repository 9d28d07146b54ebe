// The audit log, newest first, a page at a time, filtered by action, operator and dates. The
// server keeps header names only.

import { api } from "./api.js";
import { field, h, replace, time, uid } from "./dom.js";
import { clearErrors, errorSummary, showErrors } from "./errors.js";

const PAGE = 50;
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

/** Who made an entry, as operators name each other: "carol", not "operator:7:carol". */
function who(actor) {
  const operator = /^operator:(\d+):([\s\S]*)$/.exec(actor);
  if (operator) return h("span", { title: `operator ${operator[1]}` }, operator[2]);
  if (actor === "cli") return h("span", { title: "cli" }, "command line");
  return actor;
}

function entryRow(entry) {
  return h("tr", {},
    h("td", { "data-label": "When" }, time(entry.at)),
    h("td", { "data-label": "Who" }, who(entry.actor)),
    h("td", { "data-label": "What" }, h("code", {}, entry.action)),
    h("td", { "data-label": "Target" }, entry.target),
    h("td", { "data-label": "Change" }, change(entry)));
}

/** The start of the local day `day` (YYYY-MM-DD) plus `days`, as the API's moment (UTC). */
function moment(day, days = 0) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(year, month - 1, date + days).toISOString();
}

/** Names the operator may pick from (any name may be typed): [id, names] of a <datalist>. */
async function suggestions(path, read) {
  const list = h("datalist", { id: uid("choices") });
  try {
    const answer = await api("GET", path);
    for (const name of read(answer)) list.append(h("option", { value: name }));
  } catch {
    // Only suggestions: a reader may not list operators, and typing a name still filters.
  }
  return list;
}

/** #/audit */
export async function auditView(view, me) {
  const [actions, operators] = await Promise.all([
    suggestions("/webhooks", (answer) => answer.items.map((item) => item.name)),
    me.admin
      ? suggestions("/operators", (answer) => [...answer.items.map((item) => item.name), "cli"])
      : h("datalist", { id: uid("choices") }),
  ]);
  const action = h("input", {
    name: "webhook", "data-field": "webhook", list: actions.id, autocomplete: "off",
    spellcheck: "false",
  });
  const operator = h("input", {
    name: "operator", "data-field": "operator", list: operators.id, autocomplete: "off",
    spellcheck: "false",
  });
  const from = h("input", { type: "date", name: "from", "data-field": "since" });
  const to = h("input", { type: "date", name: "to", "data-field": "until" });
  const form = h("form", { class: "card filters", role: "search", "aria-label": "Filter the audit log", novalidate: true },
    errorSummary(),
    h("div", { class: "cells" },
      field("Action", action, { hint: "Its name, as in Actions." }),
      field("Operator", operator, { hint: "Their name; cli for the command line." }),
      field("From", from, { hint: "The first day shown." }),
      field("To", to, { hint: "The last day shown." })),
    actions, operators,
    h("div", { class: "buttons" },
      h("button", { type: "submit", class: "primary" }, "Filter"),
      h("button", { type: "reset" }, "Clear filters")));

  const status = h("p", { class: "count", role: "status" });
  const table = h("div", { class: "entries" });
  const previous = h("button", { type: "button" }, "Previous page");
  const next = h("button", { type: "button" }, "Next page");
  const paging = h("nav", { class: "buttons paging", "aria-label": "Audit log pages" }, previous, next);

  /** The filters as the API takes them; the `before` of each page shown so far (newest first). */
  let filters = {};
  let pages = [null];
  let following = null;

  const load = async () => {
    const query = new URLSearchParams({ limit: String(PAGE), ...filters });
    const before = pages[pages.length - 1];
    if (before) query.set("before", String(before));
    const page = await api("GET", `/audit?${query}`);
    following = page.next_before;
    const filtered = Object.keys(filters).length > 0;
    const first = (pages.length - 1) * PAGE + 1;
    if (page.items.length === 0 && filtered) {
      replace(table);
      replace(status, "No entries match these filters.");
    } else if (page.items.length === 0) {
      replace(table, h("p", { class: "empty" }, "Nothing has changed yet."));
      replace(status);
    } else {
      replace(table, h("table", { class: "list audit" },
        h("caption", { class: "visually-hidden" }, "Audit log"),
        h("thead", {}, h("tr", {},
          ["When", "Who", "What", "Target", "Change"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, page.items.map(entryRow))));
      replace(status, `Page ${pages.length}: entries ${first} to ${first + page.items.length - 1}`,
        filtered ? " matching the filters." : ".");
    }
    previous.hidden = pages.length === 1;
    next.hidden = !following;
    paging.hidden = previous.hidden && next.hidden;
  };

  const wanted = () => {
    const chosen = {};
    if (action.value.trim()) chosen.webhook = action.value.trim();
    if (operator.value.trim()) chosen.operator = operator.value.trim();
    if (from.value) chosen.since = moment(from.value);
    if (to.value) chosen.until = moment(to.value, 1); // the whole last day
    return chosen;
  };

  const lead = "The log was not filtered. Please fix:";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (from.value && to.value && to.value < from.value) {
      replace(table);
      replace(status);
      paging.hidden = true;
      showErrors(form, { errors: [{ field: "until", message: "must not be before the first day" }] }, { lead });
      return;
    }
    const before = [filters, pages];
    filters = wanted();
    pages = [null];
    try {
      await load();
    } catch (error) {
      // The entries shown were for other filters than the form now says: none are shown.
      [filters, pages] = before;
      replace(table);
      replace(status);
      paging.hidden = true;
      showErrors(form, error, { lead });
    }
  });
  form.addEventListener("reset", async () => {
    clearErrors(form);
    filters = {};
    pages = [null];
    try {
      await load();
    } catch (error) {
      replace(status, h("span", { class: "bad" }, error.message));
    }
  });
  /** Show another page (`turn` changes `pages`); on failure, stay on this one and say why. */
  const go = async (turn, button, other) => {
    const before = [...pages];
    turn();
    try {
      await load();
    } catch (error) {
      pages = before;
      replace(status, h("span", { class: "bad" }, error.message));
      return;
    }
    (button.hidden ? other : button).focus();
  };
  next.addEventListener("click", () => go(() => pages.push(following), next, previous));
  previous.addEventListener("click", () => go(() => pages.pop(), previous, next));

  await load();
  replace(view, h("h1", { tabindex: "-1" }, "Audit log"),
    h("p", { class: "hint" }, `Every change in ${me.tenant}, newest first. Header values are never recorded.`),
    form, status, table, paging);
}
