// Creating and editing an action: every field of the definition, parameters and headers as rows,
// the replies (replies.js) and the signing secrets (signing.js). Header values are write-only: a
// stored one shows as "set", with Replace and Remove. Operators who may only read get the same
// form as a read-only view: every field disabled, no buttons.

import { api, schema, segment } from "./api.js";
import { canManage, flash } from "./actions.js";
import { checkbox, field, h, replace, uid } from "./dom.js";
import { clearErrors, errorSummary, showErrors } from "./errors.js";
import { repliesFieldset } from "./replies.js";
import { signingFieldset } from "./signing.js";

const BLANK = {
  name: "", description: "", url: "https://", method: "POST", timeout: 10, enabled: true,
  calls_per_minute: null, parameters: [], examples: [], headers: [], replies: {},
  service_messages: false, retry_post: false, signing_secrets: [],
};
/** Where a parameter's value may come from (the API's `source`): "slot" is slot:<name>. */
const SOURCES = [
  ["", "Ask the user", "The assistant asks the user, unless the request already gave it."],
  ["sender_id", "Sender id",
    "The conversation's sender. On Telegram and Slack the platform vouches for it; on the web "
    + "chat and REST the client picks it: it names a conversation, not a person, so never use "
    + "it alone to authorize anything."],
  ["channel", "Channel", "The channel's name: rest, socketio, telegram, slack."],
  ["slot", "A slot", "A slot the bot's designer declared; asked after all when it is empty."],
];

const lines = (text) => text.split("\n").map((line) => line.trim()).filter(Boolean);

/** What stored header values are bound to: the whole URL but its fragment. */
function destination(url) {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

/** One parameter's row (`types`: the API's parameter types); `read()` gives it as the API
 * takes it. */
function parameterRow(parameter, onRemove, types) {
  const name = h("input", { value: parameter.name ?? "", autocomplete: "off", spellcheck: "false" });
  const type = h("select", {}, types.map((t) => h("option", { value: t, selected: t === parameter.type }, t)));
  const description = h("input", { value: parameter.description ?? "" });
  const required = h("input", { type: "checkbox", checked: parameter.required ?? true });
  const values = h("textarea", { rows: 2 }, (parameter.values ?? []).join("\n"));
  const pattern = h("input", { value: parameter.pattern ?? "", spellcheck: "false" });
  const rules = h("div", { class: "rules" },
    field("Allowed values (one per line)", values),
    field("or a pattern (regular expression)", pattern));
  const showRules = () => { rules.hidden = type.value !== "string"; };
  type.addEventListener("change", showRules);
  showRules();
  const source = parameter.source ?? "";
  const kind = source.startsWith("slot:") ? "slot" : source;
  const from = h("select", {}, SOURCES.map(([value, label]) => h("option", { value, selected: value === kind }, label)));
  const slot = h("input", {
    value: kind === "slot" ? source.slice("slot:".length) : "", autocomplete: "off",
    spellcheck: "false", placeholder: "customer_id",
  });
  // The hint under the row, across it: the sender id's warning needs the room.
  const fromHint = h("p", { class: "hint", id: uid("hint") });
  from.setAttribute("aria-describedby", fromHint.id);
  const fromField = field("Value from", from);
  const slotField = field("Slot name", slot);
  let at = "";
  // An error about the source belongs where it is typed: at the slot's name when there is one.
  const showSource = () => {
    slotField.hidden = from.value !== "slot";
    fromHint.textContent = SOURCES.find(([value]) => value === from.value)[2];
    const [holder, other] = from.value === "slot" ? [slot, from] : [from, slot];
    holder.dataset.field = `${at}.source`;
    delete other.dataset.field;
  };
  from.addEventListener("change", () => {
    showSource();
    if (from.value === "slot") slot.focus();
  });
  const remove = h("button", { type: "button", class: "quiet" }, "Remove");
  const element = h("div", { class: "row parameter" },
    h("div", { class: "cells" },
      field("Name", name), field("Type", type), field("Description", description, { wide: true }),
      h("div", { class: "field cell" },
        h("label", { class: "check" }, required, " Required"))),
    h("div", { class: "cells source" }, fromField, slotField), fromHint,
    rules, h("div", { class: "row-end" }, remove));
  remove.addEventListener("click", () => onRemove(row));
  const row = {
    element,
    number(index) {
      at = `parameters[${index}]`;
      element.dataset.field = at;
      for (const [control, key] of [[name, "name"], [type, "type"], [description, "description"],
        [required, "required"], [values, "values"], [pattern, "pattern"]]) {
        control.dataset.field = `${at}.${key}`;
      }
      showSource();
      remove.setAttribute("aria-label", `Remove parameter ${index + 1}`);
      element.setAttribute("aria-label", `Parameter ${index + 1}`);
    },
    read() {
      const read = {
        name: name.value.trim(), type: type.value, description: description.value.trim(),
        required: required.checked,
      };
      if (type.value === "string" && lines(values.value).length) read.values = lines(values.value);
      if (type.value === "string" && pattern.value.trim()) read.pattern = pattern.value.trim();
      if (from.value === "slot") read.source = `slot:${slot.value.trim()}`;
      else if (from.value) read.source = from.value;
      return read;
    },
    focus: () => name.focus(),
  };
  element.setAttribute("role", "group");
  return row;
}

/** A stored header: its name, "set", Replace (a new value) and Remove (null). */
function storedHeader(name) {
  const value = h("input", { type: "password", autocomplete: "new-password", "data-field": `headers.${name}` });
  const valueField = field(`New value for ${name}`, value);
  valueField.hidden = true;
  const state = h("span", { class: "badge" }, "set");
  const replaceButton = h("button", { type: "button", class: "quiet" }, "Replace");
  const removeButton = h("button", { type: "button", class: "quiet" }, "Remove");
  replaceButton.setAttribute("aria-label", `Replace the value of ${name}`);
  removeButton.setAttribute("aria-label", `Remove header ${name}`);
  let removed = false;
  const element = h("div", { class: "row header" },
    h("div", { class: "cells" }, h("code", { class: "header-name" }, name), state,
      h("div", { class: "row-end" }, replaceButton, removeButton)),
    valueField);
  const replacing = () => !valueField.hidden;
  const openReplace = () => {
    valueField.hidden = false;
    removed = false;
    replace(state, "set");
    removeButton.textContent = "Remove";
    value.focus();
  };
  replaceButton.addEventListener("click", () => {
    if (replacing()) {
      valueField.hidden = true;
      value.value = "";
      replaceButton.textContent = "Replace";
    } else {
      openReplace();
      replaceButton.textContent = "Keep stored value";
    }
  });
  removeButton.addEventListener("click", () => {
    removed = !removed;
    valueField.hidden = true;
    value.value = "";
    replaceButton.textContent = "Replace";
    replace(state, removed ? "will be removed" : "set");
    removeButton.textContent = removed ? "Undo remove" : "Remove";
  });
  return {
    element,
    stored: true,
    name,
    /** Ask for the value again (the URL changed). */
    demand() {
      if (!removed && !replacing()) {
        valueField.hidden = false;
        replaceButton.textContent = "Keep stored value";
      }
    },
    /** [name, value | null] to send, or null to keep the stored value. */
    read() {
      if (removed) return [name, null];
      if (replacing() && value.value !== "") return [name, value.value];
      return null;
    },
  };
}

/** A header added in this form: name and value. */
function newHeader(onRemove) {
  const name = h("input", { autocomplete: "off", spellcheck: "false", placeholder: "X-Api-Key" });
  const value = h("input", { type: "password", autocomplete: "new-password" });
  const remove = h("button", { type: "button", class: "quiet" }, "Remove");
  const element = h("div", { class: "row header" },
    h("div", { class: "cells" }, field("Header name", name), field("Value", value, { wide: true }),
      h("div", { class: "row-end" }, remove)));
  const row = {
    element,
    stored: false,
    read() {
      value.dataset.field = `headers.${name.value.trim()}`;
      name.dataset.field = `headers.${name.value.trim()}.name`;
      return name.value.trim() ? [name.value.trim(), value.value] : null;
    },
    focus: () => name.focus(),
  };
  remove.addEventListener("click", () => onRemove(row));
  remove.setAttribute("aria-label", "Remove this new header");
  return row;
}

/** The form as a read-only view: every field disabled, every button gone, Cancel a way back. */
function lock(form) {
  for (const control of form.querySelectorAll("input, select, textarea")) control.disabled = true;
  for (const button of form.querySelectorAll("button")) button.remove();
  const back = form.querySelector(".buttons a");
  if (back) back.textContent = "Back to actions";
}

/** #/actions/new, #/actions/NAME/edit, and #/actions/NAME (read-only for readers). */
export async function editorView(view, me, editing) {
  const readOnly = !canManage(me);
  if (readOnly && !editing) {
    replace(view, h("h1", { tabindex: "-1" }, "Actions"),
      h("p", { class: "notice" }, "Your permissions let you view actions, not change them."));
    return;
  }
  const [action, described, definition] = await Promise.all([
    editing ? api("GET", `/webhooks/${segment(editing)}`) : BLANK, schema("Parameter"),
    schema("DefinitionInput"),
  ]);
  const types = described.properties.type.enum;
  const name = h("input", {
    value: action.name, "data-field": "name", readOnly: Boolean(editing), autocomplete: "off",
    spellcheck: "false",
  });
  const description = h("textarea", { rows: 3, "data-field": "description" }, action.description);
  const url = h("input", { type: "url", value: action.url, "data-field": "url", spellcheck: "false" });
  const method = h("select", { "data-field": "method" },
    ["POST", "GET"].map((m) => h("option", { value: m, selected: m === action.method }, m)));
  const timeout = h("input", {
    type: "number", min: 1, max: 30, step: "any", value: action.timeout, "data-field": "timeout",
  });
  // Sent on every save (a PUT): left out, an action's own budget would be dropped.
  const budget = h("input", {
    type: "number", min: 1, max: 1000000, step: 1, value: action.calls_per_minute ?? "",
    "data-field": "calls_per_minute",
  });
  const enabledBox = checkbox("Enabled: the assistant may call it", {
    checked: action.enabled, "data-field": "enabled",
  });
  const retryHint = uid("hint");
  const retryPost = checkbox("Retry POST calls", {
    checked: action.retry_post, "data-field": "retry_post", "aria-describedby": retryHint,
  });
  const examples = h("textarea", { rows: 4, "data-field": "examples" }, action.examples.join("\n"));

  const parameterRows = [];
  const parameterList = h("div", { class: "rows" });
  const renumber = () => parameterRows.forEach((row, index) => row.number(index));
  const removeParameter = (row) => {
    parameterRows.splice(parameterRows.indexOf(row), 1);
    row.element.remove();
    renumber();
    addParameter.focus();
  };
  const pushParameter = (parameter) => {
    const row = parameterRow(parameter, removeParameter, types);
    parameterRows.push(row);
    parameterList.append(row.element);
    renumber();
    return row;
  };
  action.parameters.forEach(pushParameter);
  const addParameter = h("button", { type: "button" }, "Add parameter");
  addParameter.addEventListener("click", () => pushParameter({ type: "string", required: true }).focus());

  const headerRows = [];
  const headerList = h("div", { class: "rows" });
  const removeHeader = (row) => {
    headerRows.splice(headerRows.indexOf(row), 1);
    row.element.remove();
    addHeader.focus();
  };
  for (const headerName of action.headers) {
    const row = storedHeader(headerName);
    headerRows.push(row);
    headerList.append(row.element);
  }
  const addHeader = h("button", { type: "button" }, "Add header");
  addHeader.addEventListener("click", () => {
    const row = newHeader(removeHeader);
    headerRows.push(row);
    headerList.append(row.element);
    row.focus();
  });
  const moved = h("p", { class: "notice", hidden: true, role: "status" },
    "The URL changed. Stored header values are only ever sent to the URL (host, path and query) "
    + "they were given for: give each value again, or remove the header.");
  url.addEventListener("input", () => {
    const away = Boolean(editing) && action.headers.length > 0 && destination(url.value) !== destination(action.url);
    moved.hidden = !away;
    if (away) headerRows.filter((row) => row.stored).forEach((row) => row.demand());
  });

  const replies = repliesFieldset(action, {
    tenant: me.tenant, readOnly, described: definition.properties.replies,
  });
  const signing = signingFieldset(action, { readOnly });

  const save = h("button", { type: "submit", class: "primary" }, editing ? "Save changes" : "Create action");
  const form = h("form", { class: "card editor", novalidate: true },
    errorSummary(),
    field("Name", name, {
      hint: editing ? "The name is fixed after creation." : "Lower case letters, digits and _; fixed after creation.",
    }),
    field("Description", description, { hint: "What it does, for the people and the assistant.", wide: true }),
    field("URL", url, { hint: "HTTPS only; private networks are always refused.", wide: true }),
    h("div", { class: "cells" },
      field("Method", method, { hint: "POST sends a JSON body, GET a query string." }),
      field("Timeout (seconds)", timeout, { hint: "1 to 30." }),
      field("Calls per minute", budget, {
        hint: "This action's own budget, within the tenant's; empty for none.",
      })),
    h("div", { class: "field" }, enabledBox),
    h("div", { class: "field" }, retryPost,
      h("p", { class: "hint", id: retryHint },
        "Only for a service that ignores repeats with the same Idempotency-Key: a POST that "
        + "failed on the way is then sent again, like a GET.")),
    field("Example requests (one per line)", examples, {
      hint: "How users would ask for it; the assistant routes such messages here.", wide: true,
    }),
    h("fieldset", { "data-field": "parameters" }, h("legend", {}, "Parameters"),
      h("p", { class: "hint" }, "What the assistant asks the user for (or takes from the conversation), and sends."),
      parameterList, addParameter),
    h("fieldset", { "data-field": "headers" }, h("legend", {}, "Headers"),
      h("p", { class: "hint" }, "Sent with every call. Values are stored encrypted and never shown again."),
      moved, headerList, addHeader),
    signing,
    replies.element,
    h("div", { class: "buttons" }, save, h("a", { class: "button", href: "#/actions" }, "Cancel")));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (readOnly) return;
    clearErrors(form);
    const headers = Object.fromEntries(headerRows.map((row) => row.read()).filter(Boolean));
    const body = {
      description: description.value.trim(),
      url: url.value.trim(),
      method: method.value,
      timeout: timeout.value === "" ? 10 : Number(timeout.value),
      enabled: enabledBox.querySelector("input").checked,
      retry_post: retryPost.querySelector("input").checked,
      calls_per_minute: budget.value === "" ? null : Number(budget.value),
      parameters: parameterRows.map((row) => row.read()),
      examples: lines(examples.value),
      headers,
      ...replies.read(),
    };
    save.disabled = true;
    try {
      const saved = editing
        ? await api("PUT", `/webhooks/${segment(editing)}`, body)
        : await api("POST", "/webhooks", { name: name.value.trim(), ...body });
      flash(`${saved.name} was saved.`);
      location.hash = "#/actions";
    } catch (error) {
      showErrors(form, error);
    } finally {
      save.disabled = false;
    }
  });
  if (readOnly) {
    lock(form);
    replace(view, h("h1", { tabindex: "-1" }, `View ${editing}`),
      h("p", { class: "notice" }, "Your permissions let you view this action, not change it."),
      form);
    return;
  }
  replace(view, h("h1", { tabindex: "-1" }, editing ? `Edit ${editing}` : "New action"), form);
}
