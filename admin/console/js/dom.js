// Building the page: elements and text nodes only. Nothing here parses HTML, so a stored text
// holding markup is shown as the characters it is.

const PROPERTIES = new Set([
  "value", "checked", "disabled", "hidden", "selected", "readOnly", "required", "open",
]);

/** An element `tag` with attributes/properties/listeners from `props`, then `children`. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPERTIES.has(key)) {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Append `children` (nodes, strings shown as text, nested lists; null skipped). */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** `name` with a line-break opportunity after each "_" (a <wbr>, never markup parsed). */
export function breakable(name) {
  return name.split("_").flatMap((part, index) => (index ? ["_", h("wbr"), part] : [part]));
}

/** Replace everything in `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

let counter = 0;
/** A fresh id for pairing labels, inputs and their messages. */
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled control: the label, the control, an optional hint, in one wrapper. */
export function field(label, control, { hint, wide } = {}) {
  control.id ||= uid();
  const hintNode = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: wide ? "field wide" : "field" },
    h("label", { for: control.id }, label), control, hintNode);
}

/** A checkbox with its label after it. */
export function checkbox(label, props = {}) {
  const input = h("input", { type: "checkbox", id: uid(), ...props });
  return h("label", { class: "check", for: input.id }, input, " ", label);
}

/** When `moment` was, for people: "2 min ago", else the local date and time. */
export function when(moment) {
  const date = new Date(moment);
  const seconds = (Date.now() - date.getTime()) / 1000;
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return date.toLocaleString();
}

/** A <time> element for `moment`, with the exact time on hover. */
export function time(moment) {
  return h("time", { datetime: moment, title: new Date(moment).toLocaleString() }, when(moment));
}

/** Bytes for people. */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  return `${(bytes / 1024).toFixed(1)} KB`;
}
