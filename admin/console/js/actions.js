// The tenant's actions: the list with its switches, deleting, and the Test page.

import { api, segment } from "./api.js";
import { breakable, checkbox, field, h, replace, size, time } from "./dom.js";
import { confirmDialog } from "./dialog.js";
import { clearErrors, errorSummary, showErrors } from "./errors.js";
import { rememberTest } from "./lasttest.js";

const MANAGE = "webhooks:manage";

let pending = "";
/** Say `text` on the next showing of the list ("saved"). */
export function flash(text) {
  pending = text;
}

/** Whether `me` may change actions (the server checks again). */
export const canManage = (me) => me.permissions.includes(MANAGE);

function host(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The last Test: ok only for a 2xx answer; else its category, with the status if one came. */
function lastTest(action) {
  const test = action.last_test;
  if (!test) return h("span", { class: "muted" }, "never");
  // A Test made before the definition last changed may no longer say how it behaves.
  const stale = new Date(test.at) < new Date(action.updated_at)
    ? h("span", { class: "muted" }, " (before the last edit)") : null;
  if (test.status === null) {
    return h("span", { class: "bad" }, `failed: ${test.category} · `, time(test.at), stale);
  }
  const answer = test.ok ? `${test.status}` : `${test.status} ${test.category}`;
  return h("span", { class: test.ok ? "good" : "bad" },
    `${answer} · ${Math.round(test.elapsed_ms)} ms · `, time(test.at), stale);
}

/** Why the action's calls are paused, in words (a server process paused them: see the API). */
function pausedWhy(paused) {
  const after = `after ${paused.failures} failures in a row (${paused.reason.replaceAll("_", " ")})`;
  const until = new Date(paused.until);
  if (until > new Date()) {
    return `Calls paused until ${until.toLocaleTimeString()} ${after}; the next call after that `
      + "tests the service.";
  }
  return `Calls were paused ${after}; the next call tests the service.`;
}

function switchFor(action, status, rerender) {
  const input = h("input", {
    type: "checkbox", role: "switch", checked: action.enabled,
    "aria-label": `Enabled: ${action.name}`,
  });
  input.addEventListener("change", async () => {
    input.disabled = true;
    try {
      await api("PATCH", `/webhooks/${segment(action.name)}`, { enabled: input.checked });
      replace(status, `${action.name} is ${input.checked ? "on" : "off"}.`);
    } catch (error) {
      input.checked = !input.checked;
      replace(status, h("span", { class: "bad" }, `${action.name}: ${error.message}`));
    } finally {
      input.disabled = false;
    }
  });
  return h("label", { class: "switch" }, input, h("span", { "aria-hidden": "true" }));
}

function row(action, me, status, rerender) {
  const manage = canManage(me);
  const remove = async () => {
    const sure = await confirmDialog(`Delete ${action.name}?`,
      "The assistant stops offering it at once. This cannot be undone.", "Delete");
    if (!sure) return;
    try {
      await api("DELETE", `/webhooks/${segment(action.name)}`);
      flash(`${action.name} was deleted.`);
      await rerender();
    } catch (error) {
      replace(status, h("span", { class: "bad" }, error.message));
    }
  };
  const where = host(action.url);
  const paused = action.paused ? pausedWhy(action.paused) : null;
  // A long host or description is cut to fit the row (its whole text is its title); names wrap.
  // A pause is said beside the description, where the row has room for a sentence.
  return h("tr", { "data-action": action.name },
    h("th", { scope: "row", "data-label": "Name" },
      h("code", { class: "wrap", title: action.name }, breakable(action.name)),
      paused ? h("span", { class: "badge paused", title: paused }, "Paused") : null),
    h("td", { "data-label": "Description" },
      paused ? h("p", { class: "paused-why" }, paused) : null,
      h("span", { class: "cut-lines", title: action.description }, action.description)),
    h("td", { "data-label": "Method" }, action.method),
    h("td", { "data-label": "Host" }, h("span", { class: "cut-line", title: where }, where)),
    h("td", { "data-label": "Enabled" },
      manage ? switchFor(action, status, rerender) : action.enabled ? "on" : "off"),
    h("td", { "data-label": "Last test" }, lastTest(action)),
    manage
      ? h("td", { class: "row-buttons" },
        h("a", { class: "button", href: `#/actions/${segment(action.name)}/edit`,
          "aria-label": `Edit ${action.name}` }, "Edit"),
        h("a", { class: "button", href: `#/actions/${segment(action.name)}/test`,
          "aria-label": `Test ${action.name}` }, "Test"),
        h("button", { type: "button", class: "danger", onclick: remove,
          "aria-label": `Delete ${action.name}` }, "Delete"))
      : h("td", { class: "row-buttons" },
        h("a", { class: "button", href: `#/actions/${segment(action.name)}`,
          "aria-label": `View ${action.name}` }, "View")));
}

/** #/actions: every action of the tenant. */
export async function actionsView(view, me) {
  let answer;
  try {
    answer = await api("GET", "/webhooks");
  } catch (error) {
    if (error.code !== "skill_disabled") throw error;
    me.skill = false;
    replace(view, h("h1", { tabindex: "-1" }, "Actions"), h("p", { class: "notice" },
      "The webhook skill is switched off for this tenant: the assistant uses no action, and "
      + "actions cannot be changed. ",
      me.admin ? h("a", { href: "#/tenant" }, "Switch it on in Tenant.") : "A tenant admin can switch it on."));
    return;
  }
  const { items, limit } = answer;
  const manage = canManage(me);
  const status = h("p", { class: "status", role: "status" }, pending);
  pending = "";
  const full = items.length >= limit;
  const rerender = () => actionsView(view, me);
  replace(view,
    h("div", { class: "heading" },
      h("h1", { tabindex: "-1" }, "Actions"),
      h("p", { class: "count" }, `${items.length} of ${limit}`),
      manage && !full ? h("a", { class: "button primary", href: "#/actions/new" }, "New action") : null,
      manage && full ? h("p", { class: "muted" }, `The limit of ${limit} actions is reached.`) : null),
    status,
    items.length === 0
      ? h("p", { class: "empty" }, "No actions yet.")
      : h("table", { class: "list actions" },
        h("caption", { class: "visually-hidden" }, "Webhook actions"),
        h("thead", {}, h("tr", {},
          ["Name", "Description", "Method", "Host", "Enabled", "Last test"]
            .map((title) => h("th", { scope: "col" }, title)),
          h("th", { scope: "col", class: manage ? "row-buttons" : "row-button" },
            h("span", { class: "visually-hidden" }, "Actions")))),
        h("tbody", {}, items.map((action) => row(action, me, status, rerender)))));
}

function valueInput(parameter) {
  const props = { name: parameter.name, "data-field": `values.${parameter.name}`, autocomplete: "off" };
  if (parameter.type === "boolean") {
    return h("select", props, ["", "yes", "no"].map((v) => h("option", { value: v }, v || "(none)")));
  }
  if (parameter.type !== "string") props.inputmode = "decimal";
  return h("input", { type: "text", ...props });
}

/** What the bot would say to the Test's answer: the action's replies applied. */
function said(result) {
  const which = result.ok ? "success" : result.category;
  return h("section", { class: "said", "aria-label": "What the bot would say" },
    h("h3", {}, "What the bot would say ", h("span", { class: "muted" }, `(${which})`)),
    // Shown as text, like the body: a reply holds the service's words.
    result.reply
      ? h("p", { class: "reply-text" }, result.reply)
      : h("p", { class: "muted" }, "Nothing from this action: a designer's response, or the default sentence."),
    h("p", { class: "hint" }, "With the action's replies as saved; a designer's responses in the "
      + "bot's domain, which only Rasa knows, are not applied here."));
}

/** A sample value's hint: the parameter's description, and where a conversation takes it. */
function sampleHint(parameter) {
  const source = parameter.source ?? "";
  const from = source.startsWith("slot:")
    ? `the slot ${source.slice("slot:".length)}`
    : { sender_id: "the sender id", channel: "the channel's name" }[source];
  return from ? `${parameter.description} (in a conversation: ${from})` : parameter.description;
}

/** What came of a Test: ok only for a 2xx answer, as a conversation's call counts it. */
function outcome(result) {
  if (result.status === null || result.status === undefined) {
    return h("div", { class: "result bad" },
      h("h2", {}, `The call failed: ${result.category}`), h("p", {}, result.message), said(result));
  }
  return h("div", { class: result.ok ? "result good" : "result bad" },
    h("h2", {}, result.ok
      ? `Status ${result.status}: OK`
      : `Status ${result.status}: failed (${result.category})`),
    result.ok ? null : h("p", {},
      `The endpoint answered ${result.status}. A conversation counts only a 2xx answer as a `
      + `success, so its call would fail here (${result.category}).`),
    h("dl", { class: "facts" },
      h("dt", {}, "Latency"), h("dd", {}, `${Math.round(result.elapsed_ms)} ms`),
      h("dt", {}, "Size"), h("dd", {}, size(result.size ?? 0)),
      h("dt", {}, "Content type"), h("dd", {}, result.content_type || "none")),
    h("div", { class: "said-and-body" },
      said(result),
      h("div", {},
        h("h3", {}, "Body (first 500 characters)"),
        // Shown as text: an answer holding markup is displayed, never run.
        h("pre", { class: "body" }, result.body ?? ""),
        result.truncated ? h("p", { class: "cut" }, "[cut: the body goes on]") : null)));
}

/** #/actions/NAME/test: send the Test request, with sample values if given. */
export async function testView(view, me, name) {
  const action = await api("GET", `/webhooks/${segment(name)}`);
  const inputs = action.parameters.map((parameter) => [parameter, valueInput(parameter)]);
  const result = h("section", { class: "test-result", "aria-live": "polite", "aria-label": "Test result" });
  const send = h("button", { type: "submit", class: "primary" }, "Send test");
  const form = h("form", { class: "card", novalidate: true },
    errorSummary(),
    h("p", {}, `${action.method} `, h("code", { class: "url" }, action.url)),
    h("p", { class: "hint" },
      "A test sends one request to this URL, with the stored headers, and shows the answer. It "
      + "changes nothing: not the action, not what the assistant does. The outcome is kept as "
      + "the action's last test and in the audit log."),
    inputs.length
      ? h("fieldset", {}, h("legend", {}, "Sample values (optional)"),
        h("p", { class: "hint" }, "Leave them all empty to send ",
          action.method === "POST" ? "an empty JSON body." : "no query parameters.",
          " Values are checked like a user's answers."),
        inputs.map(([parameter, input]) => field(
          `${parameter.name} (${parameter.type}${parameter.required ? ", required" : ""})`,
          input, { hint: sampleHint(parameter) })))
      : null,
    h("div", { class: "buttons" }, send,
      h("a", { class: "button", href: `#/actions/${segment(name)}/edit`,
        "aria-label": `Edit ${name}` }, "Edit"),
      h("a", { class: "button", href: "#/actions" }, "Back to actions")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = {};
    for (const [parameter, input] of inputs) {
      if (input.value.trim() !== "") values[parameter.name] = input.value;
    }
    send.disabled = true;
    replace(result, h("p", { class: "muted" }, "Sending…"));
    try {
      const answer = await api("POST", `/webhooks/${segment(name)}/test`,
        Object.keys(values).length ? { values } : undefined);
      // The editor's reply previews render against this answer.
      rememberTest(me.tenant, name, answer, values);
      replace(result, outcome(answer));
    } catch (error) {
      replace(result);
      showErrors(form, error, { lead: "The test request was not sent. Please fix:" });
    } finally {
      send.disabled = false;
    }
  });
  replace(view, h("h1", { tabindex: "-1" }, "Test ", h("code", {}, name)), form, result);
}
