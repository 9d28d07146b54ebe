// Each action's last Test, as this tab saw it: the answer (parsed, header values masked), its
// status and the sample values sent. The reply previews render templates against it. Kept in
// sessionStorage beside the token, so a reload keeps it and signing out forgets it.

import { KEPT } from "./api.js";

const key = (tenant, name) => `${KEPT}test.${tenant}.${name}`;

/** Keep `answer` (the Test route's answer) of `name` with the `values` it was sent with. */
export function rememberTest(tenant, name, answer, values) {
  const kept = {
    at: new Date().toISOString(),
    ok: answer.ok,
    status: answer.status ?? null,
    category: answer.category ?? null,
    result: answer.result ?? null,
    values,
  };
  try {
    sessionStorage.setItem(key(tenant, name), JSON.stringify(kept));
  } catch {
    // Over the tab's quota: the previews then ask for a Test, as before any.
    sessionStorage.removeItem(key(tenant, name));
  }
}

/** The last Test of `name` this tab kept, or null. */
export function recalledTest(tenant, name) {
  try {
    return JSON.parse(sessionStorage.getItem(key(tenant, name)) ?? "null");
  } catch {
    return null;
  }
}
