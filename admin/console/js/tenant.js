// For tenant admins: the skill switch, the budget of webhook calls, the operators with their permissions and tokens, and
// the token of the tenant's AI agents (MCP clients of the tools server).

import { api } from "./api.js";
import { confirmDialog } from "./dialog.js";
import { checkbox, field, h, replace } from "./dom.js";
import { clearErrors, errorSummary, showErrors } from "./errors.js";
import { shownOnce } from "./shownonce.js";

const PERMISSIONS = [
  ["webhooks:read", "Read"],
  ["webhooks:manage", "Manage"],
];

/** A new token, shown once, with a Copy button; ``whose`` says what it is for. */
function tokenPanel(whose, token) {
  return shownOnce({
    region: "New token", label: "Token", value: token,
    note: [h("strong", {}, `New ${whose}. `), "It is shown this once: copy it now and hand it over safely."],
  });
}

function skillSection(me) {
  const input = h("input", { type: "checkbox", role: "switch", checked: me.skill, id: "skill" });
  const said = h("p", { class: "status", role: "status" });
  input.addEventListener("change", async () => {
    input.disabled = true;
    try {
      const { enabled } = await api("PUT", "/skill", { enabled: input.checked });
      me.skill = enabled;
      replace(said, enabled
        ? "The skill is on: the assistant may call this tenant's enabled actions."
        : "The skill is off: the assistant calls none of this tenant's actions.");
    } catch (error) {
      input.checked = !input.checked;
      replace(said, h("span", { class: "bad" }, error.message));
    } finally {
      input.disabled = false;
    }
  });
  return h("section", { class: "card", "aria-labelledby": "skill-title" },
    h("h2", { id: "skill-title" }, "Webhook skill"),
    h("label", { class: "switch-line", for: "skill" },
      h("span", { class: "switch" }, input, h("span", { "aria-hidden": "true" })),
      " Webhook skill (experimental)"),
    said);
}

/** The tenant's budget of webhook calls per minute (all actions, all servers). */
function budgetSection(budget) {
  const input = h("input", {
    type: "number", min: 1, max: 1000000, step: 1, value: budget.calls_per_minute,
    "data-field": "calls_per_minute",
  });
  const said = h("p", { class: "status", role: "status" });
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "budget-title" },
    h("h2", { id: "budget-title" }, "Webhook calls per minute"), errorSummary(),
    field("Calls per minute", input, {
      hint: "For all actions together, on every server; calls over it are refused politely.",
    }),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Save budget")),
    said);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const saved = await api("PUT", "/budget", {
        calls_per_minute: input.value === "" ? null : Number(input.value),
      });
      input.value = saved.calls_per_minute;
      replace(said, `The budget is ${saved.calls_per_minute} calls per minute.`);
    } catch (error) {
      showErrors(form, error);
    }
  });
  return form;
}

function operatorRow(operator, me, said, tokens, rerender) {
  const boxes = PERMISSIONS.map(([permission, title]) => {
    const input = h("input", {
      type: "checkbox", checked: operator.permissions.includes(permission),
      "aria-label": `${title} (${permission}) for ${operator.name}`, "data-permission": permission,
    });
    return [permission, input];
  });
  for (const [, input] of boxes) {
    input.addEventListener("change", async () => {
      const permissions = boxes.filter(([, box]) => box.checked).map(([permission]) => permission);
      input.disabled = true;
      try {
        await api("PUT", `/operators/${operator.id}/permissions`, { permissions });
        replace(said, `${operator.name} now holds: ${permissions.join(", ") || "no permission"}.`);
      } catch (error) {
        input.checked = !input.checked;
        replace(said, h("span", { class: "bad" }, `${operator.name}: ${error.message}`));
      } finally {
        input.disabled = false;
      }
    });
  }
  const issue = async () => {
    try {
      const { token } = await api("POST", `/operators/${operator.id}/tokens`);
      replace(tokens, tokenPanel(`API token for ${operator.name}`, token));
      tokens.querySelector("input").focus();
    } catch (error) {
      replace(said, h("span", { class: "bad" }, error.message));
    }
  };
  const revoke = async () => {
    const self = operator.id === me.id ? " This signs you out too." : "";
    const sure = await confirmDialog(`Revoke ${operator.name}'s tokens?`,
      `Every API token of ${operator.name} stops working at once.${self}`, "Revoke");
    if (!sure) return;
    try {
      const { revoked } = await api("DELETE", `/operators/${operator.id}/tokens`);
      replace(said, `${revoked} token${revoked === 1 ? "" : "s"} of ${operator.name} revoked.`);
      await rerender();
    } catch (error) {
      replace(said, h("span", { class: "bad" }, error.message));
    }
  };
  return h("tr", { "data-operator": operator.name },
    h("th", { scope: "row", "data-label": "Name" }, operator.name),
    h("td", { "data-label": "Role" }, operator.admin ? "tenant admin" : "operator"),
    boxes.map(([permission, input]) => h("td", { "data-label": permission }, input)),
    h("td", { class: "row-buttons" },
      h("button", { type: "button", onclick: issue, "aria-label": `New token for ${operator.name}` }, "New token"),
      h("button", { type: "button", class: "danger", onclick: revoke,
        "aria-label": `Revoke the tokens of ${operator.name}` }, "Revoke tokens")));
}

function createForm(said, tokens, rerender) {
  const name = h("input", { "data-field": "name", autocomplete: "off" });
  const boxes = PERMISSIONS.map(([permission]) => checkbox(permission, { value: permission }));
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "new-operator" },
    h("h2", { id: "new-operator" }, "New operator"), errorSummary(),
    field("Operator name", name),
    h("fieldset", { "data-field": "permissions" }, h("legend", {}, "Permissions"), boxes),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Create operator")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const permissions = boxes.map((box) => box.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    try {
      const { operator, token } = await api("POST", "/operators", { name: name.value.trim(), permissions });
      await rerender();
      form.reset();
      replace(said, `${operator.name} was created.`);
      replace(tokens, tokenPanel(`API token for ${operator.name}`, token));
      tokens.querySelector("input").focus();
    } catch (error) {
      showErrors(form, error);
    }
  });
  return form;
}

function agentsSection(me) {
  const said = h("p", { class: "status", role: "status" });
  const tokens = h("div", { class: "tokens" });
  const fail = (error) => replace(said, h("span", { class: "bad" }, error.message));
  const issue = async () => {
    replace(said, "");
    let answer;
    try {
      answer = await api("POST", "/tools-token");
    } catch (error) {
      if (error.status !== 409) return fail(error);
      const sure = await confirmDialog("Replace the tools token?",
        "The tenant has one: every AI agent using it gets 401 until it is given the new one.",
        "Replace");
      if (!sure) return undefined;
      try {
        answer = await api("POST", "/tools-token", { replace: true });
      } catch (again) {
        return fail(again);
      }
    }
    replace(tokens, tokenPanel("tools token for AI agents (MCP)", answer.token));
    tokens.querySelector("input").focus();
    return undefined;
  };
  const revoke = async () => {
    const sure = await confirmDialog("Revoke the tools token?",
      "Every AI agent using it gets 401 at once, and its sessions end.", "Revoke");
    if (!sure) return;
    replace(tokens);
    try {
      const { revoked } = await api("DELETE", "/tools-token");
      replace(said, revoked ? "The tools token was revoked." : "There was no tools token.");
    } catch (error) {
      fail(error);
    }
  };
  return h("section", { class: "card", "aria-labelledby": "agents-title" },
    h("h2", { id: "agents-title" }, "AI agents (MCP)"),
    h("p", {}, "Agents use this tenant's enabled actions as tools through the tools server at ",
      h("code", {}, `/tenants/${me.tenant}/mcp`),
      ", with the tools token as ", h("code", {}, "Authorization: Bearer"), "."),
    h("div", { class: "buttons" },
      h("button", { type: "button", onclick: issue }, "New tools token"),
      h("button", { type: "button", class: "danger", onclick: revoke }, "Revoke tools token")),
    said, tokens);
}

/** #/tenant: the skill switch, the budget, the operators and the AI agents' token. */
export async function tenantView(view, me) {
  const said = h("p", { class: "status", role: "status" });
  const tokens = h("div", { class: "tokens" });
  const table = h("div");
  const rerender = async () => {
    const { items } = await api("GET", "/operators");
    replace(table, h("table", { class: "list" },
      h("caption", { class: "visually-hidden" }, "Operators"),
      h("thead", {}, h("tr", {},
        ["Name", "Role", ...PERMISSIONS.map(([p]) => p)].map((t) => h("th", { scope: "col" }, t)),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Tokens")))),
      h("tbody", {}, items.map((operator) => operatorRow(operator, me, said, tokens, rerender)))));
  };
  await rerender();
  const budget = await api("GET", "/budget");
  replace(view, h("h1", { tabindex: "-1" }, "Tenant ", h("code", {}, me.tenant)),
    skillSection(me),
    budgetSection(budget),
    h("section", { "aria-labelledby": "operators-title" },
      h("h2", { id: "operators-title" }, "Operators"), said, tokens, table, createForm(said, tokens, rerender)),
    agentsSection(me));
}
