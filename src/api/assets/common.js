// Shared helpers of the Guichet pages. Everything that comes from
// documents, answers or users is put in the page as text (textContent,
// createElement), never parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Appends children (nodes, strings as text, arrays; null skipped). */
export function append(parent, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

/**
 * Creates an element. `props`: `class`, `text` (textContent), `dataset`,
 * `on<event>` (listener functions), `hidden`/`disabled`/... (booleans),
 * any other key as an attribute (values are never HTML).
 */
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  setProps(e, props);
  return append(e, children);
}

/** Creates an SVG element (charts, icons). */
export function svg(tag, props, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  setProps(e, props);
  return append(e, children);
}

function setProps(e, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.setAttribute('class', v);
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked') e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
}

// Material Design icon paths (Apache 2.0).
const ICONS = {
  thumb: 'M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z',
  close: 'M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z',
  send: 'M2.01 21 23 12 2.01 3 2 10l15 2-15 2z',
  plus: 'M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6v2z',
  open: 'M19 19H5V5h7V3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14c1.1 0 2-.9 2-2v-7h-2v7zM14 3v2h3.59l-9.83 9.83 1.41 1.41L19 6.41V10h2V3h-7z',
};

/** A decorative icon (hidden from assistive technologies). */
export function icon(name, cls) {
  return svg('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false', class: cls },
    svg('path', { d: ICONS[name] }));
}

/** The page's configuration (a JSON data block filled by the server). */
export function readConfig() {
  try {
    return JSON.parse(document.getElementById('guichet-config').textContent);
  } catch {
    return { town: {} };
  }
}

/** `u` if it is an http(s) link, else null (no `javascript:` from data). */
export function safeUrl(u) {
  return typeof u === 'string' && /^https?:\/\/[^\s]+$/i.test(u) ? u : null;
}

/** An API error, with the server's French message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const FALLBACK = {
  401: 'Accès refusé : jeton absent ou invalide.',
  403: "Votre rôle ne permet pas cette action.",
  404: 'Élément introuvable.',
  413: 'Envoi trop volumineux.',
  429: 'Trop de demandes : merci de patienter un peu avant de réessayer.',
  503: 'Le service est momentanément indisponible : merci de réessayer dans quelques instants.',
  504: 'La réponse a pris trop de temps : merci de réessayer.',
};

/** The error of a failed response (`{error: {code, message}}` bodies). */
export async function errorOf(r) {
  let code = 'http';
  let message = '';
  try {
    const j = await r.json();
    code = j?.error?.code || code;
    message = j?.error?.message || '';
  } catch { /* not JSON */ }
  return new ApiError(r.status, code, message || FALLBACK[r.status] || `Erreur du serveur (HTTP ${r.status}).`);
}

/**
 * Calls the API: `json` is sent as a JSON body, `body` as is (FormData);
 * `token` as a Bearer token. Resolves to the parsed body (null for 204),
 * rejects with an ApiError carrying the French message.
 */
export async function api(path, { method = 'GET', json, body, token, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  if (token) headers.authorization = `Bearer ${token}`;
  let r;
  try {
    r = await fetch(path, { method, headers, body, signal, credentials: 'same-origin' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Le service est injoignable : vérifiez votre connexion et réessayez.');
  }
  if (!r.ok) throw await errorOf(r);
  if (r.status === 204) return null;
  const type = r.headers.get('content-type') || '';
  return type.includes('json') ? r.json() : r.text();
}

/** A date and time in French (`1 déc. 2026, 09:31`). */
export function formatDate(s) {
  if (!s) return '';
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00` : s);
  if (Number.isNaN(d.getTime())) return s;
  const opts = /^\d{4}-\d{2}-\d{2}$/.test(s) ? { dateStyle: 'medium' } : { dateStyle: 'medium', timeStyle: 'short' };
  return d.toLocaleString('fr-FR', opts);
}

/** sessionStorage, tolerant of browsers that refuse it (frames). */
export const session = {
  get(k) { try { return sessionStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { sessionStorage.setItem(k, v); } catch { /* ignored */ } },
  remove(k) { try { sessionStorage.removeItem(k); } catch { /* ignored */ } },
};
