// The admin API over fetch. The token lives in sessionStorage only: it goes in the
// Authorization header, never in a URL, a cookie or localStorage.

/** Everything the console keeps in the tab starts with this (the token, the last Tests). */
export const KEPT = "webhooks.console.";
const KEY = `${KEPT}token`;

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  keep(token) {
    sessionStorage.setItem(KEY, token);
  },
  /** Forget the token and whatever else this tab kept (the last Tests' answers). */
  forget() {
    for (const key of Object.keys(sessionStorage)) {
      if (key.startsWith(KEPT)) sessionStorage.removeItem(key);
    }
  },
};

/** An API answer other than 2xx: `errors` lists {code, message, field} (the API's shape). */
export class ApiError extends Error {
  constructor(status, body) {
    const first = body?.error ?? { code: "unexpected", message: `The server answered ${status}.` };
    super(first.message);
    this.status = status;
    this.code = first.code;
    this.errors = body?.errors?.length ? body.errors : [first];
  }
}

const listeners = new Set();
/** Call `listener` when the server no longer accepts the token (revoked while signed in). */
export function onSignedOut(listener) {
  listeners.add(listener);
}

/** `method path` with an optional JSON `body`; the parsed answer, or ApiError. */
export async function api(method, path, body, { token = session.token } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, {
      error: { code: "network", message: "The admin server cannot be reached; try again." },
    });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && token === session.token) {
      for (const listener of listeners) listener(error);
    }
    throw error;
  }
  return data;
}

let described = null;

/**
 * The API's own description of the schema `name` (its OpenAPI document, fetched once per tab):
 * what the console offers, such as a parameter's types, comes from the API, not a copy.
 */
export async function schema(name) {
  described ??= api("GET", "/openapi.json").catch((error) => {
    described = null; // asked again next time
    throw error;
  });
  return (await described).components.schemas[name];
}

/** `text` for use in a path segment. */
export const segment = encodeURIComponent;
