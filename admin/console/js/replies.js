// The operator's replies in the editor: a template for success and one per failure category,
// the switch that lets a 4xx answer's own message be said, and a live preview of the success
// reply and of the failure reply being edited, rendered by the API (POST /replies/preview)
// against the last Test this tab made of the action. Every rendered text is shown as text.

import { api } from "./api.js";
import { checkbox, field, h, replace, uid, when } from "./dom.js";
import { clearFieldError, showFieldError } from "./errors.js";
import { recalledTest } from "./lasttest.js";

/** The replies shown first, in this order; the API's others, rarer, are folded away. */
const FIRST = ["success", "not_found", "rejected", "timeout", "unavailable"];

/**
 * The replies an action may have, from the API's own schema of `replies` (success and each
 * failure category, with when it is said): the first five shown, the others folded under
 * "More failure replies". A category the API adds appears here with no change.
 */
function repliesOf(described) {
  const rank = (key) => (FIRST.includes(key) ? FIRST.indexOf(key) : FIRST.length);
  return Object.entries(described.properties)
    .map(([key, { description }]) => ({
      key,
      name: key[0].toUpperCase() + key.slice(1).replaceAll("_", " "),
      saidWhen: description,
      folded: !FIRST.includes(key),
    }))
    .sort((a, b) => rank(a.key) - rank(b.key));
}

/** How long typing pauses before the preview is asked for. */
const DEBOUNCE_MS = 300;

const NO_TEST = "Run a Test to preview against a real answer.";

/** What a template can use, shown once above the replies. */
function templateHelp() {
  const example = (code, meaning) => [h("dt", {}, h("code", {}, code)), h("dd", {}, meaning)];
  return h("div", { class: "hint template-help" },
    h("p", {}, "Plain text with values in it. Leave a reply empty for the bot's default sentence."),
    h("dl", {},
      example("{{ order_id }}", "a parameter's value, by its name"),
      example("{{ result.status }}", "a field of the service's answer (result.lines[0].name goes deeper)"),
      example("{% for line in result.lines %}- {{ line.name }}\n{% endfor %}", "a list, one item per line"),
      example("{{ result.eta | default('soon') }}", "a default for a field the answer lacks"),
      example("{{ status }}, {{ message }}", "in a failure: the HTTP status and the service's own message")));
}

/** The Test a preview renders against, in words: "status 404, 2 min ago". */
function against(test) {
  const outcome = test.status === null ? `the call failed: ${test.category}` : `status ${test.status}`;
  return `Preview against the last Test (${outcome}, ${when(test.at)})`;
}

/**
 * One reply's preview: asked for as the template changes (after a pause in typing), shown in
 * `output`; a template the API refuses gets its message at the textarea.
 */
function previewer(reply, textarea, output, lastTest) {
  let timer = null;
  let asked = 0;
  const show = (...children) => replace(output, ...children);
  const run = async () => {
    clearTimeout(timer);
    asked += 1;
    const ticket = asked;
    const template = textarea.value;
    if (!template.trim()) {
      clearFieldError(textarea);
      show(h("p", { class: "muted" }, "Empty: the bot says its default sentence."));
      return;
    }
    const test = lastTest();
    let answer;
    try {
      answer = await api("POST", "/replies/preview", {
        template, result: test?.result ?? null, status: test?.status ?? null, values: test?.values ?? {},
      });
    } catch (error) {
      if (ticket !== asked) return;
      if (error.status === 422) {
        showFieldError(textarea, error.errors.map((problem) => problem.message).join(" "));
        show(h("p", { class: "bad" }, "No preview: the template has a problem (see above)."));
      } else {
        show(h("p", { class: "bad" }, `No preview: ${error.message}`));
      }
      return;
    }
    if (ticket !== asked) return; // a newer preview is on its way
    clearFieldError(textarea);
    if (!test) {
      show(h("p", { class: "muted" }, NO_TEST));
      return;
    }
    const failureAgainstSuccess = reply.key !== "success" && test.ok;
    show(
      h("p", { class: "preview-head" }, against(test)),
      answer.text
        ? h("p", { class: "preview-text" }, answer.text)
        : h("p", { class: "muted" }, "It says nothing here: the bot would say its default sentence."),
      answer.cut
        ? h("p", { class: "cut" }, "Cut at 1,000 characters: the bot adds “(The answer was cut short.)”")
        : null,
      answer.missing.length
        ? h("p", { class: "missing" }, "Not in this answer (shown empty): ", answer.missing.join(", "))
        : null,
      failureAgainstSuccess
        ? h("p", { class: "muted" }, "That Test succeeded: a failure's answer may hold other fields.")
        : null);
  };
  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  return { run };
}

/**
 * The Replies fieldset for `action` (its stored replies and switch); `read()` gives what a
 * save sends. `tenant` and the action's name find its last Test; a new action has none.
 * `described` is the API's schema of `replies`.
 */
export function repliesFieldset(action, { tenant, readOnly, described }) {
  const lastTest = () => (action.name ? recalledTest(tenant, action.name) : null);
  const textareas = new Map();
  const failurePreviews = [];
  const fields = repliesOf(described).map((reply) => {
    const label = `${reply.name} reply`;
    const textarea = h("textarea", {
      rows: reply.key === "success" ? 4 : 2, class: "template", spellcheck: "false",
      "data-field": `replies.${reply.key}`,
    }, action.replies?.[reply.key] ?? "");
    textareas.set(reply.key, textarea);
    const wrapper = h("div", { class: "reply" },
      field(label, textarea, { hint: `Said when ${reply.saidWhen}.`, wide: true }));
    if (readOnly) return { reply, wrapper };
    const output = h("section", {
      class: "preview", "aria-live": "polite", "aria-label": `Preview of the ${reply.name.toLowerCase()} reply`,
    });
    const preview = previewer(reply, textarea, output, lastTest);
    wrapper.append(output);
    if (reply.key === "success") {
      preview.run();
    } else {
      // One failure reply is previewed at a time: the one being edited.
      output.hidden = true;
      failurePreviews.push(output);
      textarea.addEventListener("focus", () => {
        if (!output.hidden) return;
        for (const other of failurePreviews) other.hidden = other !== output;
        preview.run();
      });
    }
    return { reply, wrapper };
  });
  const shown = fields.filter(({ reply }) => !reply.folded).map(({ wrapper }) => wrapper);
  const folded = fields.filter(({ reply }) => reply.folded);
  const more = h("details", { class: "more-replies", open: folded.some(({ reply }) => action.replies?.[reply.key]) },
    h("summary", {}, "More failure replies"),
    h("div", { class: "reply-grid" }, folded.map(({ wrapper }) => wrapper)));
  const serviceHint = uid("hint");
  const serviceMessages = checkbox("On a 4xx answer, say the service's own message", {
    checked: Boolean(action.service_messages), "data-field": "service_messages",
    "aria-describedby": serviceHint,
  });
  const element = h("fieldset", { class: "replies", "data-field": "replies" },
    h("legend", {}, "Replies"),
    h("p", { class: "hint" }, "What the bot says from the service's answer, in your words."),
    templateHelp(),
    shown[0],
    h("div", { class: "reply-grid" }, shown.slice(1)),
    more,
    h("div", { class: "field" }, serviceMessages,
      h("p", { class: "hint", id: serviceHint },
        "Its message, error or detail text, instead of the default sentence (a reply above "
        + "wins). Only for a service whose errors are written for your users.")));
  return {
    element,
    /** {replies, service_messages} as the API takes them; empty replies are left out. */
    read() {
      const replies = {};
      for (const [key, textarea] of textareas) {
        if (textarea.value.trim()) replies[key] = textarea.value;
      }
      return { replies, service_messages: serviceMessages.querySelector("input").checked };
    },
  };
}
