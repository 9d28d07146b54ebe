// The API's errors shown where they belong. Each control carries the API's path of the value it
// edits in data-field ("url", "parameters[2].type", "headers.X-Api-Key"); an error goes next to
// the control with that path, or to the nearest enclosing one ("parameters[2]", "parameters").

import { h, replace, uid } from "./dom.js";

/** The paths an error at `path` may be shown at, most precise first. */
function candidates(path) {
  const found = [];
  let rest = path ?? "";
  while (rest) {
    found.push(rest);
    const cut = Math.max(rest.lastIndexOf("."), rest.lastIndexOf("["));
    rest = cut > 0 ? rest.slice(0, cut) : "";
  }
  return found;
}

function target(form, path) {
  for (const candidate of candidates(path)) {
    const element = form.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
    if (element) return element;
  }
  return null;
}

/** What a person calls the place of an error: "Parameter 3, Name", else the API's path. */
function title(element, path) {
  const label = element?.labels?.[0]?.textContent.trim()
    ?? element?.querySelector(":scope > legend")?.textContent.trim();
  const group = element?.parentElement?.closest("[role=group][aria-label]")?.getAttribute("aria-label");
  if (!label) return path || "request";
  return group ? `${group}, ${label}` : label;
}

/** `control` valid again: no aria-invalid, no error among what describes it. */
function unmark(control) {
  control.removeAttribute("aria-invalid");
  const ids = (control.getAttribute("aria-describedby") ?? "")
    .split(" ").filter((id) => id && !id.startsWith("err-"));
  if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
  else control.removeAttribute("aria-describedby");
}

/** `control` invalid, described by a new message saying `text` (placed in its field). */
function mark(control, text) {
  const message = h("p", { class: "field-error", id: uid("err") }, text);
  control.setAttribute("aria-invalid", "true");
  const described = control.getAttribute("aria-describedby");
  control.setAttribute("aria-describedby", described ? `${described} ${message.id}` : message.id);
  const wrapper = control.closest(".field");
  if (wrapper) wrapper.append(message);
  else control.after(message);
  // A field folded away (a <details>) is opened, or its message could not be seen.
  const folded = control.closest("details");
  if (folded) folded.open = true;
  return message;
}

/** Remove the messages a previous answer left. */
export function clearErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const element of form.querySelectorAll("[aria-invalid]")) unmark(element);
  const summary = form.querySelector(".error-summary");
  if (summary) replace(summary).hidden = true;
}

/** Show `text` as the only error of `control`: a check made as the operator types. */
export function showFieldError(control, text) {
  clearFieldError(control);
  mark(control, text);
}

/** Remove the errors shown at `control` (by a check or by the last save). */
export function clearFieldError(control) {
  const wrapper = control.closest(".field") ?? control.parentElement;
  for (const message of wrapper.querySelectorAll(":scope > .field-error")) message.remove();
  unmark(control);
}

/**
 * Show `error` (an ApiError) in `form`: each message by its field, all of them in a summary
 * under `lead`, which says what happened (by default, that the form's change was not saved).
 */
export function showErrors(form, error, { lead = "Nothing was saved. Please fix:" } = {}) {
  clearErrors(form);
  let first = null;
  const listed = [];
  for (const problem of error.errors) {
    const element = target(form, problem.field);
    if (element && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(element.tagName)) {
      mark(element, problem.message);
      first ??= element;
    } else if (element) {
      const message = h("p", { class: "field-error", id: uid("err") }, problem.message);
      const legend = element.querySelector(":scope > legend");
      if (legend) legend.after(message);
      else element.prepend(message);
      first ??= element.querySelector("input, select, textarea, button");
    }
    listed.push(h("li", {}, `${title(element, problem.field)}: `, problem.message));
  }
  const summary = form.querySelector(".error-summary");
  if (summary) {
    replace(summary, h("p", {}, lead), h("ul", {}, listed));
    summary.hidden = false;
  }
  (first ?? summary)?.focus?.();
}

/** The summary box a form shows its errors in (first child of the form). */
export function errorSummary() {
  return h("div", { class: "error-summary", role: "alert", tabindex: "-1", hidden: true });
}
