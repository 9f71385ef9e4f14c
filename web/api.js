// The fetch wrapper every page uses: JSON in and out, the session's CSRF token on every changing request,
// and {"error": "..."} answers turned into an ApiError whose message is the server's sentence (shown to the
// person unless the caller asks to handle it quietly).
import {toast} from './ui.js';

let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, message, body = null, headers = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }

  // Seconds from Retry-After (429), or null.
  get retryAfter() {
    const value = this.headers && this.headers.get('Retry-After');
    const n = value === null || value === undefined ? NaN : parseInt(value, 10);
    return Number.isFinite(n) ? n : null;
  }
}

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// request(method, path, {json, body, contentType, text, quiet})
//   json: an object sent as JSON; body + contentType: anything else (a File for the rules import);
//   text: answer read as text instead of JSON; quiet: do not show errors (the caller does).
export async function request(method, path, options = {}) {
  const headers = {Accept: options.text ? 'text/plain, text/csv, */*' : 'application/json'};
  let body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    body = options.body;
    if (options.contentType) headers['Content-Type'] = options.contentType;
  }
  if (CHANGING.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response;
  try {
    response = await fetch(path, {method, headers, body, credentials: 'same-origin', cache: 'no-store'});
  } catch (e) {
    const err = new ApiError(0, 'The server cannot be reached. Check the network and try again.');
    if (!options.quiet) toast(err.message, 'error');
    throw err;
  }

  if (response.ok) {
    if (options.text) return response.text();
    if (response.status === 204) return {};
    const type = response.headers.get('Content-Type') || '';
    if (type.includes('json')) return response.json();
    return response.text();
  }

  let data = null;
  let text = '';
  try {
    text = await response.text();
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  const sentence = (data && typeof data.error === 'string' && data.error) ||
    `The server answered ${response.status} ${response.statusText || ''}`.trim() + '.';
  const err = new ApiError(response.status, sentence, data, response.headers);
  if (response.status === 401 && path !== '/api/login' && path !== '/api/session') onUnauthorized(err);
  if (!options.quiet) toast(sentence, 'error');
  throw err;
}

export const api = {
  get: (path, options) => request('GET', path, options),
  post: (path, json, options = {}) => request('POST', path, {...options, json}),
  put: (path, json, options = {}) => request('PUT', path, {...options, json}),
  patch: (path, json, options = {}) => request('PATCH', path, {...options, json}),
  del: (path, options) => request('DELETE', path, options),
};

// /healthz answers 503 with a body when something is down: both are a state to show, not an error.
export async function health() {
  try {
    const response = await fetch('/healthz', {cache: 'no-store'});
    const data = await response.json().catch(() => null);
    return {reachable: true, http: response.status, data};
  } catch (e) {
    return {reachable: false, http: 0, data: null};
  }
}
