// The console's API: reads (GET) and repairs (POST with the token printed at start, from the URL's fragment or typed
// in; kept for this tab only, in sessionStorage).

const TOKEN_KEY = 'reliable-messaging-console-token';

/** Takes the token from `#token=…` (then removes it from the address bar), or the one kept for this tab. */
export function takeToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function hasToken() {
  return Boolean(sessionStorage.getItem(TOKEN_KEY));
}

/** An API error: the server's `{ error }` and the status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

async function answer(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body;
}

export async function read(path) {
  return answer(await fetch(path, { headers: { accept: 'application/json' } }));
}

/** Runs a repair: POST /api/repairs/<name> with its body and the token. */
export async function repair(name, body) {
  return answer(
    await fetch(`/api/repairs/${name}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-console-token': sessionStorage.getItem(TOKEN_KEY) ?? '',
      },
      body: JSON.stringify(body),
    }),
  );
}
