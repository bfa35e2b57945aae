// The citizen page (also the embedded widget's frame, /?embed=1): asks
// POST /api/chat, reads its Server-Sent Events (sources, token, reset,
// done, error), renders the answer with clickable [n] citations and its
// sources, feedback, the handoff form, and keeps the conversation across
// reloads (its id in sessionStorage).

import { el, icon, errorOf, api, ApiError, readConfig, safeUrl, session } from './common.js';

const cfg = readConfig();
const town = cfg.town || {};
const MAX_CHARS = cfg.max_message_chars || 1000;
const CAP = cfg.questions_per_conversation || 0;
const KEY = 'guichet.conversation';
const ABSTAIN = new Set(['not_found', 'out_of_scope']);
const CONTACT_STATUSES = new Set(['not_found', 'out_of_scope', 'handoff_suggested']);
const embed = new URLSearchParams(location.search).get('embed') === '1';

const $ = (id) => document.getElementById(id);
const conversation = $('conversation');
const list = $('messages');
const form = $('ask');
const input = $('question');
const sendButton = $('send');
const live = $('live');
const askError = $('ask-error');
const count = $('count');
const handoff = $('handoff');
const handoffForm = $('handoff-form');
const handoffDone = $('handoff-done');
const handoffError = $('handoff-error');
const openHandoff = $('open-handoff');

const state = {
  id: null,        // conversation id
  questions: 0,    // questions asked in it
  busy: false,
  controller: null,
  seq: 0,          // unique keys of messages (element ids)
};

// ---------------------------------------------------------------- setup

$('welcome').textContent = cfg.welcome || 'Bonjour ! Posez votre question.';
input.maxLength = MAX_CHARS;
$('contact-line').append(...contactLine());
if (embed) {
  document.documentElement.classList.add('embed');
  const close = $('close-embed');
  close.hidden = false;
  close.append(icon('close'));
  close.addEventListener('click', closeEmbed);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented) closeEmbed();
  });
  // The loader asks for the focus each time the panel opens.
  window.addEventListener('message', (e) => {
    if (e.source === window.parent && e.data && e.data.guichet === 'focus') input.focus();
  });
  input.focus();
}

function closeEmbed() {
  if (window.parent !== window) window.parent.postMessage({ guichet: 'close' }, '*');
}

$('skip').addEventListener('click', (e) => {
  e.preventDefault();
  input.focus();
});
$('new-conversation').prepend(icon('plus'));
$('new-conversation').addEventListener('click', newConversation);
form.addEventListener('submit', (e) => {
  e.preventDefault();
  ask(input.value);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit();
  }
});
input.addEventListener('input', updateCount);
openHandoff.addEventListener('click', showHandoff);
$('handoff-cancel').addEventListener('click', () => {
  handoff.hidden = true;
  input.focus();
});
handoffForm.addEventListener('submit', sendHandoff);
updateCount();
restore();

// ------------------------------------------------------------ helpers

function contactLine() {
  const parts = [];
  if (town.name) parts.push(el('strong', { text: town.name }));
  if (town.phone) parts.push(el('span', {}, ' · ', el('a', { href: `tel:${town.phone.replace(/[^\d+]/g, '')}`, text: town.phone })));
  if (town.email) parts.push(el('span', { class: 'opt' }, ' · ', el('a', { href: `mailto:${town.email}`, text: town.email })));
  if (town.hours) parts.push(el('span', { class: 'opt' }, ` · ${town.hours}`));
  return parts;
}

function updateCount() {
  const n = [...input.value].length;
  count.textContent = `${n} / ${MAX_CHARS} caractères`;
  count.classList.toggle('near', n > MAX_CHARS * 0.9);
}

function announce(text) {
  // Cleared first so that the same text is announced again.
  live.textContent = '';
  window.setTimeout(() => { live.textContent = text; }, 50);
}

function scrollToEnd(node) {
  (node || list.lastElementChild)?.scrollIntoView({ block: 'nearest' });
}

function remember(id) {
  if (!id) return;
  state.id = id;
  session.set(KEY, id);
  openHandoff.hidden = false;
}

function setBusy(busy) {
  state.busy = busy;
  sendButton.disabled = busy;
  sendButton.textContent = busy ? 'Envoi…' : 'Envoyer';
  conversation.setAttribute('aria-busy', busy ? 'true' : 'false');
}

function capReached() {
  return CAP > 0 && state.questions >= CAP;
}

function showCap() {
  askError.textContent = `Cette conversation a atteint ${CAP} questions : commencez une nouvelle conversation pour continuer.`;
}

// ------------------------------------------------------------ messages

function addUser(text) {
  const li = el('li', { class: 'msg user' },
    el('p', { class: 'who sr-only', text: 'Vous :' }),
    el('p', { text }));
  list.append(li);
  return li;
}

/** A bot message being written: its element and what it knows. */
function addBot() {
  const key = `m${++state.seq}`;
  const answer = el('div', { class: 'answer' });
  const extra = el('div', { class: 'extra' });
  const sources = el('div', { class: 'sources', hidden: true });
  const feedback = el('div', { class: 'fb-slot' });
  const node = el('li', { class: 'msg bot', dataset: { state: 'waiting', tokens: '0' } },
    el('p', { class: 'who sr-only', text: 'Assistant :' }), answer, extra, sources, feedback);
  list.append(node);
  return { key, node, answer, extra, sources, feedback, text: '', list: [], tokens: 0, done: false, frame: 0 };
}

/** Citation and link pattern of answer text. */
const INLINE = /\[(\d{1,3})\]|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)])/g;

function inline(parent, text, m) {
  let last = 0;
  for (const x of text.matchAll(INLINE)) {
    if (x.index > last) parent.append(text.slice(last, x.index));
    if (x[1]) {
      const n = Number(x[1]);
      const s = m.list.find((s) => s.n === n);
      if (s) {
        parent.append(el('a', {
          class: 'cite',
          href: `#${m.key}-src-${n}`,
          'aria-label': `Source ${n} : ${s.title || 'document'}`,
          dataset: { n: String(n) },
          onclick: (e) => { e.preventDefault(); goToSource(m, n); },
        }, `[${n}]`));
      } else {
        parent.append(x[0]);
      }
    } else {
      const url = safeUrl(x[2]);
      parent.append(url ? el('a', { href: url, target: '_blank', rel: 'noopener', text: x[2] }) : x[2]);
    }
    last = x.index + x[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** Renders answer text: paragraphs, "- " bullet lists, citations. Each
 * paragraph finds its own direction (dir="auto"): a note in Arabic reads
 * right to left above the French sources it introduces. */
function renderText(m) {
  const box = m.answer;
  box.replaceChildren();
  let ul = null;
  let p = null;
  for (const raw of m.text.split('\n')) {
    const line = raw.trimEnd();
    if (!line.trim()) { ul = null; p = null; continue; }
    const bullet = /^\s*(?:[-•*]|\d+[.)])\s+(.*)$/.exec(line);
    if (bullet) {
      if (!ul) { ul = el('ul'); box.append(ul); }
      const li = el('li');
      li.dir = 'auto';
      inline(li, bullet[1], m);
      ul.append(li);
      p = null;
    } else {
      ul = null;
      if (p) p.append(el('br'));
      else { p = el('p'); p.dir = 'auto'; box.append(p); }
      inline(p, line, m);
    }
  }
}

function scheduleRender(m) {
  if (m.frame) return;
  m.frame = requestAnimationFrame(() => {
    m.frame = 0;
    renderText(m);
  });
}

function pages(s) {
  if (!s.page) return '';
  return s.page_end && s.page_end !== s.page ? `p. ${s.page}-${s.page_end}` : `p. ${s.page}`;
}

/** Where a source opens: its public page, the stored file, or nothing
 * (a curated answer's free-text reference). */
function sourceHref(s) {
  const url = safeUrl(s.url) || safeUrl(s.source);
  if (url) return url;
  if (!(Number(s.document_id) > 0)) return null;
  return `/api/sources/${encodeURIComponent(s.document_id)}${s.page ? `#page=${s.page}` : ''}`;
}

function sourceItem(s, m) {
  const href = sourceHref(s);
  let where = 'Document de la mairie';
  if (href && /^https?:/.test(href)) {
    try { where = new URL(href).hostname.replace(/^www\./, ''); } catch { /* kept */ }
  } else if (!href) {
    where = 'Référence indiquée par la mairie';
  }
  const meta = [s.section, pages(s), where].filter(Boolean).join(' · ');
  const title = s.title || 'Document';
  return el('li', { class: 'src', id: `${m.key}-src-${s.n}`, tabindex: '-1', dataset: { cited: String(!!s.cited) } },
    el('span', { class: 'src-n', text: `[${s.n}]` }),
    href
      ? el('a', { class: 'source-link', href, target: '_blank', rel: 'noopener' },
        title, el('span', { class: 'sr-only', text: ' (ouvre un nouvel onglet)' }), icon('open'))
      : el('span', { class: 'source-title', text: title }),
    el('span', { class: 'src-meta', text: meta }),
    s.extract ? el('p', { class: 'src-extract', text: `« ${s.extract} »` }) : null);
}

/** Shows the sources: while streaming all as "consultés", at the end the
 * cited ones first and the others folded. */
function renderSources(m, final, abstained) {
  const box = m.sources;
  box.replaceChildren();
  const all = m.list;
  if (!all.length || abstained) { box.hidden = true; return; }
  box.hidden = false;
  const cited = final ? all.filter((s) => s.cited) : [];
  const others = final ? all.filter((s) => !s.cited) : all;
  if (cited.length) {
    box.append(el('h3', { text: cited.length > 1 ? 'Sources' : 'Source' }),
      el('ul', { class: 'src-list' }, cited.map((s) => sourceItem(s, m))));
  }
  if (others.length) {
    if (final) {
      box.append(el('details', { class: 'others' },
        el('summary', { text: `Autres documents consultés (${others.length})` }),
        el('ul', { class: 'src-list' }, others.map((s) => sourceItem(s, m)))));
    } else {
      box.append(el('h3', { text: 'Documents consultés' }),
        el('ul', { class: 'src-list' }, others.map((s) => sourceItem(s, m))));
    }
  }
}

function goToSource(m, n) {
  const target = document.getElementById(`${m.key}-src-${n}`);
  if (!target) return;
  const details = target.closest('details');
  if (details) details.open = true;
  target.classList.remove('flash');
  void target.offsetWidth; // restarts the highlight animation
  target.classList.add('flash');
  target.focus({ preventScroll: true });
  const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  target.scrollIntoView({ block: 'nearest', behavior: still ? 'auto' : 'smooth' });
}

function contactBox() {
  const items = [];
  if (town.phone) items.push(el('li', {}, 'Téléphone : ', el('a', { href: `tel:${town.phone.replace(/[^\d+]/g, '')}`, text: town.phone })));
  if (town.email) items.push(el('li', {}, 'Courriel : ', el('a', { href: `mailto:${town.email}`, text: town.email })));
  if (town.address) items.push(el('li', { text: `Adresse : ${town.address}` }));
  if (town.hours) items.push(el('li', { text: `Horaires : ${town.hours}` }));
  const site = safeUrl(town.website);
  if (site) items.push(el('li', {}, 'Site : ', el('a', { href: site, target: '_blank', rel: 'noopener', text: site })));
  return el('div', { class: 'contact' },
    el('h3', { text: `Contacter ${town.name || 'la mairie'}` }),
    el('ul', {}, items),
    el('button', { type: 'button', class: 'btn small', onclick: showHandoff }, 'Parler à un agent'));
}

function feedbackBox(answerId, key) {
  const up = el('button', { type: 'button', class: 'thumb up', 'aria-label': 'Réponse utile', 'aria-pressed': 'false' }, icon('thumb'));
  const down = el('button', { type: 'button', class: 'thumb down', 'aria-label': 'Réponse pas utile', 'aria-pressed': 'false' }, icon('thumb'));
  const thanks = el('p', { class: 'fb-thanks', role: 'status' });
  const comment = el('textarea', { id: `${key}-fb`, rows: '2', maxlength: '2000' });
  const fbForm = el('form', { class: 'fb-form', hidden: true },
    el('label', { for: `${key}-fb`, text: "Qu'est-ce qui n'allait pas ? (facultatif)" }),
    comment,
    el('button', { type: 'submit', class: 'btn small' }, 'Envoyer mon avis'));
  let sent = false;

  async function send(rating, text) {
    if (sent) return;
    try {
      await api('/api/feedback', { method: 'POST', json: { answer_id: answerId, rating, ...(text ? { comment: text } : {}) } });
      sent = true;
      fbForm.hidden = true;
      thanks.textContent = 'Merci pour votre avis !';
      thanks.className = 'fb-thanks';
    } catch (e) {
      thanks.textContent = e.message;
      thanks.className = 'fb-thanks error';
    }
  }
  up.addEventListener('click', () => {
    if (sent) return;
    up.setAttribute('aria-pressed', 'true');
    down.setAttribute('aria-pressed', 'false');
    fbForm.hidden = true;
    send('up');
  });
  down.addEventListener('click', () => {
    if (sent) return;
    down.setAttribute('aria-pressed', 'true');
    up.setAttribute('aria-pressed', 'false');
    fbForm.hidden = false;
    comment.focus();
  });
  fbForm.addEventListener('submit', (e) => {
    e.preventDefault();
    send('down', comment.value.trim());
  });
  return el('div', { class: 'fb', role: 'group', 'aria-label': 'Votre avis sur cette réponse' },
    el('span', { text: 'Cette réponse vous a-t-elle aidé ?' }), up, down, fbForm, thanks);
}

/** Final rendering of a bot message from an answer object. */
function finish(m, a) {
  m.done = true;
  if (m.frame) { cancelAnimationFrame(m.frame); m.frame = 0; }
  m.text = a.answer || '';
  m.list = Array.isArray(a.sources) ? a.sources : [];
  const status = a.status || 'answered';
  const abstained = a.abstained ?? ABSTAIN.has(status);
  m.node.dataset.state = 'done';
  m.node.dataset.status = status;
  renderText(m);
  m.extra.replaceChildren();
  if (status === 'curated' || a.curated) {
    m.node.prepend(el('p', { class: 'badge ok curated', text: 'Réponse validée par la mairie' }));
  }
  if (CONTACT_STATUSES.has(status)) m.extra.append(contactBox());
  renderSources(m, true, abstained);
  if (a.answer_id) m.feedback.replaceChildren(feedbackBox(a.answer_id, m.key));
  state.questions += 1;
  if (capReached()) showCap();
}

function fail(m, message) {
  m.done = true;
  m.node.dataset.state = 'error';
  m.node.classList.add('error');
  m.text = message;
  m.list = [];
  renderText(m);
  renderSources(m, true, true);
}

// ------------------------------------------------------------- asking

/** Reads an SSE body, calling `on(event, data)` for each block. */
async function readEvents(body, on) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') name = val;
        else if (field === 'data') data.push(val);
      }
      if (!data.length) continue;
      let parsed;
      try { parsed = JSON.parse(data.join('\n')); } catch { continue; }
      if (on(name, parsed) === false) return;
    }
  }
}

async function ask(raw) {
  const text = raw.trim();
  askError.textContent = '';
  if (state.busy) return;
  if (!text) { input.focus(); return; }
  if ([...text].length > MAX_CHARS) {
    askError.textContent = `Le message est trop long (${[...text].length} caractères, ${MAX_CHARS} au plus) : merci de le raccourcir.`;
    return;
  }
  if (capReached()) { showCap(); return; }
  const asked = addUser(text);
  input.value = '';
  updateCount();
  const m = addBot();
  asked.scrollIntoView({ block: 'start' });
  setBusy(true);
  announce("Question envoyée. L'assistant recherche la réponse…");
  const controller = new AbortController();
  state.controller = controller;
  const body = { message: text, stream: true };
  if (state.id) body.conversation_id = state.id;
  try {
    const r = await fetch('/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!r.ok) throw await errorOf(r);
    if (!(r.headers.get('content-type') || '').includes('event-stream')) {
      const a = await r.json();
      remember(a.conversation_id);
      finish(m, a);
    } else {
      await readEvents(r.body, (event, data) => {
        switch (event) {
          case 'sources':
            remember(data.conversation_id);
            m.list = Array.isArray(data.sources) ? data.sources : [];
            renderSources(m, false, false);
            m.node.dataset.state = 'streaming';
            break;
          case 'token':
            m.node.dataset.state = 'streaming';
            m.text += data.text || '';
            m.tokens += 1;
            m.node.dataset.tokens = String(m.tokens);
            scheduleRender(m);
            break;
          case 'reset':
            m.text = '';
            scheduleRender(m);
            break;
          case 'done':
            remember(data.conversation_id);
            finish(m, data);
            return false;
          case 'error':
            throw new ApiError(0, data?.error?.code || 'error', data?.error?.message || 'La réponse a échoué : merci de réessayer.');
          default:
        }
        return true;
      });
    }
    if (!m.done) throw new ApiError(0, 'interrupted', 'La réponse a été interrompue : merci de réessayer.');
    announce(`Réponse de l'assistant : ${m.answer.textContent}`);
  } catch (e) {
    if (e.name === 'AbortError') return;
    fail(m, e.message || 'La réponse a échoué : merci de réessayer.');
    if (e.status === 429 && /conversation/i.test(e.message)) state.questions = Math.max(state.questions, CAP);
    announce(e.message);
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
}

function newConversation() {
  state.controller?.abort();
  state.controller = null;
  setBusy(false);
  state.id = null;
  state.questions = 0;
  session.remove(KEY);
  list.replaceChildren(list.firstElementChild);
  handoff.hidden = true;
  handoffForm.hidden = false;
  handoffForm.reset();
  handoffDone.hidden = true;
  handoffError.textContent = '';
  openHandoff.hidden = true;
  askError.textContent = '';
  input.value = '';
  updateCount();
  announce('Nouvelle conversation commencée.');
  input.focus();
}

/** Shows the conversation of a previous visit (same tab). */
async function restore() {
  const id = session.get(KEY);
  if (!id) return;
  try {
    const c = await api(`/api/conversations/${encodeURIComponent(id)}`);
    if (session.get(KEY) !== id || state.id) return;
    for (const msg of c.messages || []) {
      addUser(msg.question || '');
      const m = addBot();
      finish(m, { ...msg, curated: msg.status === 'curated' });
    }
    remember(id);
    scrollToEnd();
  } catch (e) {
    if (e.status === 404) session.remove(KEY);
  }
}

// ------------------------------------------------------------ handoff

function showHandoff() {
  if (!state.id) {
    askError.textContent = "Posez d'abord votre question : l'agent recevra la conversation.";
    input.focus();
    return;
  }
  handoff.hidden = false;
  handoffForm.hidden = false;
  handoffDone.hidden = true;
  handoff.scrollIntoView({ block: 'nearest' });
  $('handoff-name').focus();
}

async function sendHandoff(e) {
  e.preventDefault();
  handoffError.textContent = '';
  const name = $('handoff-name').value.trim();
  const reach = $('handoff-contact').value.trim();
  const message = $('handoff-message').value.trim();
  if (!name || !reach) {
    handoffError.textContent = 'Indiquez votre nom et un e-mail ou un téléphone.';
    return;
  }
  const contact = reach.includes('@') ? { name, email: reach } : { name, phone: reach };
  const button = $('handoff-send');
  button.disabled = true;
  try {
    const r = await api('/api/handoff', { method: 'POST', json: { conversation_id: state.id, contact, message } });
    handoffForm.hidden = true;
    handoffForm.reset();
    handoffDone.replaceChildren(
      el('p', { class: 'ref' }, 'Votre demande est enregistrée sous la référence ', el('strong', { text: r.reference }), '.'),
      el('p', { text: r.message || '' }));
    handoffDone.hidden = false;
    handoffDone.focus();
    announce(`Demande transmise, référence ${r.reference}.`);
  } catch (err) {
    handoffError.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}
