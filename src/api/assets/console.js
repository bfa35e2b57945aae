// The référents' console: documents, review queue, curated answers,
// handoff tickets, statistics and the latest evaluation. The access token
// lives in sessionStorage only (gone when the tab closes) and travels as
// `Authorization: Bearer`.

import { el, svg, api, formatDate, session, safeUrl } from './common.js';

const KEY = 'guichet.token';
const $ = (id) => document.getElementById(id);
const loginSection = $('login');
const loginForm = $('login-form');
const loginError = $('login-error');
const nav = $('nav');
const viewBox = $('view');
const notice = $('notice');
const who = $('who');
const logoutButton = $('logout');

const BASE_TITLE = document.title;
let token = session.get(KEY);
let current = null;
let noticeTimer = 0;

const VIEWS = {
  documents: { title: 'Documents', build: documentsView },
  revue: { title: 'Revue des réponses', build: reviewView },
  validees: { title: 'Réponses validées', build: curatedView },
  demandes: { title: "Demandes d'agent", build: handoffsView },
  statistiques: { title: 'Statistiques', build: statsView },
  evaluation: { title: 'Évaluation', build: evalView },
  comptes: { title: 'Comptes', build: accountsView, admin: true },
};
let role = null;

const REASONS = [
  ['invented_facts', 'Faits inventés'],
  ['incomplete', 'Incomplète'],
  ['wrong_or_missing_sources', 'Sources fausses ou absentes'],
  ['obsolete_source', 'Source obsolète'],
  ['question_misunderstood', 'Question mal comprise'],
  ['should_have_refused', "Aurait dû s'abstenir"],
  ['should_have_answered', 'Aurait dû répondre'],
];

const WHY = {
  thumbs_down: ['Avis négatif', 'err'],
  abstention: ['Abstention', 'warn'],
  handoff: ["Demande d'agent", 'info'],
  no_valid_citation: ['Citation non valide', 'warn'],
};

const STATUS = {
  answered: 'Répondue',
  curated: 'Réponse validée',
  not_found: 'Non trouvée',
  out_of_scope: 'Hors champ',
  handoff_suggested: 'Orientée vers un agent',
  refused: 'Refusée',
};

// ---------------------------------------------------------------- basics

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

/** API call with the token; a 401 sends back to the login form. */
async function call(path, opts = {}) {
  try {
    return await api(path, { ...opts, token });
  } catch (e) {
    if (e.status === 401 && token) {
      logout('Votre session a expiré ou le jeton a été révoqué : reconnectez-vous.');
    }
    throw e;
  }
}

function notify(text) {
  notice.textContent = text;
  window.clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => { notice.textContent = ''; }, 8000);
}

function errorBox() {
  return el('p', { class: 'error', role: 'alert' });
}

/** A labelled field: `{label, help}` + the control. */
function field(label, control, help) {
  const id = control.id || (control.id = nextId('f'));
  let helpNode = null;
  if (help) {
    helpNode = el('p', { class: 'help', id: `${id}-help`, text: help });
    control.setAttribute('aria-describedby', helpNode.id);
  }
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), control, helpNode);
}

function checkbox(label, checked) {
  const box = el('input', { type: 'checkbox', checked: !!checked, id: nextId('c') });
  return { box, node: el('div', { class: 'field' }, el('label', { class: 'inline', for: box.id }, box, label)) };
}

function reasonSelect(id) {
  return el('select', { id, required: true },
    el('option', { value: '', text: '— Choisir un motif —' }),
    REASONS.map(([v, t]) => el('option', { value: v, text: t })));
}

function lines(text) {
  return text.split('\n').map((s) => s.trim()).filter(Boolean);
}

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function daysAgo(n) {
  const d = new Date(Date.now() - n * 86400000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function fileName(path) {
  return String(path || '').split(/[\\/]/).pop();
}

function sourceLink(s) {
  const url = safeUrl(s.url) || `/api/sources/${encodeURIComponent(s.document_id)}${s.page ? `#page=${s.page}` : ''}`;
  const meta = [s.section, s.page ? `p. ${s.page}` : ''].filter(Boolean).join(' · ');
  return el('li', {},
    s.n ? `[${s.n}] ` : '',
    el('a', { href: url, target: '_blank', rel: 'noopener' }, s.title || fileName(s.source) || 'Document',
      el('span', { class: 'sr-only', text: ' (nouvel onglet)' })),
    meta ? el('span', { class: 'muted', text: ` — ${meta}` }) : null,
    s.cited ? el('span', { class: 'badge ok tiny', text: 'citée' }) : null);
}

function textBlock(text, cls = 'quote') {
  return el('div', { class: cls, text: text || '' });
}

// ------------------------------------------------------------ login

loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  loginError.textContent = '';
  const value = $('token').value.trim();
  if (!value) {
    loginError.textContent = "Saisissez votre jeton d'accès.";
    $('token').focus();
    return;
  }
  try {
    const me = await api('/api/me', { token: value });
    token = value;
    session.set(KEY, token);
    $('token').value = '';
    $('token').removeAttribute('aria-invalid');
    enter(me, true);
  } catch (err) {
    loginError.textContent = err.status === 401
      ? "Jeton refusé : vérifiez qu'il est complet et toujours valide."
      : err.message;
    $('token').setAttribute('aria-invalid', 'true');
    $('token').focus();
    $('token').select();
  }
});

logoutButton.addEventListener('click', () => logout('Vous êtes déconnecté.'));

function logout(message) {
  token = null;
  role = null;
  session.remove(KEY);
  nav.hidden = true;
  viewBox.hidden = true;
  viewBox.replaceChildren();
  who.hidden = true;
  logoutButton.hidden = true;
  loginSection.hidden = false;
  current = null;
  if (message) notify(message);
  $('token').focus();
}

function enter(me, focus) {
  loginSection.hidden = true;
  nav.hidden = false;
  viewBox.hidden = false;
  who.hidden = false;
  who.textContent = `${me.name} (${me.role === 'admin' ? 'administrateur' : 'référent'})`;
  logoutButton.hidden = false;
  role = me.role;
  for (const b of nav.querySelectorAll('button[data-view]')) {
    b.parentElement.hidden = !!VIEWS[b.dataset.view]?.admin && role !== 'admin';
  }
  const fromHash = location.hash.slice(1);
  show(allowed(fromHash) ? fromHash : 'documents', focus);
}

nav.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-view]');
  if (b) show(b.dataset.view, true);
});

window.addEventListener('hashchange', () => {
  const v = location.hash.slice(1);
  if (token && allowed(v) && v !== current) show(v, true);
});

/** Whether the signed-in user may open view `name`. */
function allowed(name) {
  return !!VIEWS[name] && (!VIEWS[name].admin || role === 'admin');
}

/** Shows a view: a section with its heading, built by its function. */
function show(name, focus) {
  current = name;
  for (const b of nav.querySelectorAll('button[data-view]')) {
    if (b.dataset.view === name) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  const v = VIEWS[name];
  document.title = `${v.title} – ${BASE_TITLE}`;
  const heading = el('h2', { tabindex: '-1', id: `view-${name}-title`, text: v.title });
  const section = el('section', { class: `view view-${name}`, 'aria-labelledby': heading.id, dataset: { view: name } }, heading);
  viewBox.replaceChildren(section);
  if (focus) heading.focus();
  Promise.resolve(v.build(section)).catch((e) => {
    const box = errorBox();
    box.textContent = e.message;
    section.append(box);
  });
}

async function start() {
  if (!token) {
    loginSection.hidden = false;
    return;
  }
  try {
    const me = await api('/api/me', { token });
    enter(me, false);
  } catch (e) {
    token = null;
    session.remove(KEY);
    loginSection.hidden = false;
    if (e.status !== 401) loginError.textContent = e.message;
  }
}
start();

// ------------------------------------------------------------ documents

const FORMATS = {
  pdf: 'PDF',
  servicepublic: 'Service-Public',
  html: 'HTML',
  markdown: 'Markdown',
  text: 'Texte',
  docx: 'Word',
  odt: 'OpenDocument',
};

const FILE_STATUS = {
  queued: 'En attente',
  added: 'Ajouté',
  updated: 'Mis à jour',
  unchanged: 'Inchangé',
  failed: 'Échec',
};

async function documentsView(root) {
  const filesInput = el('input', { type: 'file', id: 'doc-files', multiple: true, class: 'file' });
  const collection = el('input', { type: 'text', id: 'doc-collection', maxlength: '100' });
  const uploadError = errorBox();
  const jobs = el('div', { class: 'jobs' });
  const drop = el('div', { class: 'drop', id: 'drop-zone' },
    el('p', { class: 'drop-title', text: 'Glissez-déposez des fichiers ici' }),
    el('p', { class: 'help', text: 'PDF, Word, OpenDocument, HTML, texte, Markdown, fiches Service-Public (XML).' }),
    field('Ou choisissez des fichiers', filesInput));
  const form = el('form', { class: 'card upload' },
    el('h3', { text: 'Ajouter des documents' }),
    drop,
    field('Collection (facultatif)', collection, 'Regroupe les documents, par exemple « deliberations ».'),
    uploadError,
    el('button', { type: 'submit', class: 'btn', text: 'Envoyer les fichiers' }));

  for (const ev of ['dragenter', 'dragover']) {
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const ev of ['dragleave', 'drop']) {
    drop.addEventListener(ev, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer?.files?.length) upload([...e.dataTransfer.files]);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const files = [...filesInput.files];
    if (!files.length) {
      uploadError.textContent = 'Choisissez au moins un fichier.';
      filesInput.focus();
      return;
    }
    upload(files);
    filesInput.value = '';
  });

  async function upload(files) {
    uploadError.textContent = '';
    const data = new FormData();
    for (const f of files) data.append('file', f, f.name);
    if (collection.value.trim()) data.append('collection', collection.value.trim());
    try {
      const job = await call('/api/documents', { method: 'POST', body: data });
      follow(job, `Envoi de ${files.length} fichier${files.length > 1 ? 's' : ''}`);
    } catch (e) {
      uploadError.textContent = e.message;
    }
  }

  function follow(job, label) {
    const card = el('article', { class: 'job card', dataset: { job: job.id } });
    jobs.prepend(card);
    const render = (j) => {
      card.dataset.status = j.status;
      card.replaceChildren(
        el('h4', {}, label, ' — ', el('span', { class: `badge ${j.status === 'done' ? 'ok' : 'info'}`, text: j.status === 'done' ? 'Terminé' : 'En cours…' })),
        el('ul', { class: 'job-files' }, (j.files || []).map((f) => el('li', { dataset: { status: f.status } },
          el('strong', { text: f.name }), ' : ',
          el('span', { class: `file-status ${f.status}`, text: FILE_STATUS[f.status] || f.status }),
          f.chunks ? ` (${f.chunks} passage${f.chunks > 1 ? 's' : ''})` : '',
          f.error ? el('span', { class: 'file-error', text: ` — ${f.error}` }) : null))));
    };
    render(job);
    const poll = async () => {
      try {
        const j = await call(`/api/jobs/${encodeURIComponent(job.id)}`);
        render(j);
        if (j.status !== 'done') { window.setTimeout(poll, 1000); return; }
        const failed = j.files.filter((f) => f.status === 'failed').length;
        notify(`${label} terminé : ${j.files.length - failed} réussi${j.files.length - failed > 1 ? 's' : ''}, ${failed} en échec.`);
        if (root.isConnected) load();
      } catch (e) {
        card.append(el('p', { class: 'error', role: 'alert', text: e.message }));
      }
    };
    if (job.status !== 'done') window.setTimeout(poll, 1000);
    else poll();
  }

  // The list.
  const search = el('input', { type: 'search', id: 'doc-search' });
  const searchForm = el('form', { class: 'search', role: 'search' },
    field('Rechercher un document', search),
    el('button', { type: 'submit', class: 'btn secondary', text: 'Rechercher' }));
  const listBox = el('div', { class: 'doc-list' });
  const listError = errorBox();
  const summary = el('p', { class: 'muted', 'aria-live': 'polite' });
  let page = 1;
  searchForm.addEventListener('submit', (e) => { e.preventDefault(); page = 1; load(); });

  root.append(form, jobs,
    el('section', { class: 'card', 'aria-labelledby': 'doc-list-title' },
      el('h3', { id: 'doc-list-title', text: 'Documents de la base' }), searchForm, summary, listError, listBox));

  async function load() {
    listError.textContent = '';
    const q = search.value.trim();
    const per = 50;
    let r;
    try {
      r = await call(`/api/documents?${new URLSearchParams({ ...(q ? { q } : {}), page: String(page), per_page: String(per) })}`);
    } catch (e) {
      listError.textContent = e.message;
      return;
    }
    const pagesCount = Math.max(1, Math.ceil(r.total / per));
    summary.textContent = `${r.total} document${r.total > 1 ? 's' : ''}${q ? ` pour « ${q} »` : ''}${pagesCount > 1 ? `, page ${r.page} sur ${pagesCount}` : ''}.`;
    const rows = r.documents.map((d) => docRow(d));
    const table = el('table', { class: 'table' },
      el('caption', { class: 'sr-only', text: 'Documents de la base de connaissances' }),
      el('thead', {}, el('tr', {}, ['Titre', 'Format', 'Collection', 'Passages', 'Date', 'Ajouté le', 'Actions'].map((t) => el('th', { scope: 'col', text: t })))),
      el('tbody', {}, rows));
    const pager = pagesCount > 1 ? el('div', { class: 'actions pager' },
      el('button', { type: 'button', class: 'btn secondary small', disabled: page <= 1, onclick: () => { page -= 1; load(); } }, 'Page précédente'),
      el('button', { type: 'button', class: 'btn secondary small', disabled: page >= pagesCount, onclick: () => { page += 1; load(); } }, 'Page suivante')) : null;
    listBox.replaceChildren(r.documents.length ? el('div', { class: 'table-wrap' }, table) : el('p', { text: 'Aucun document.' }));
    if (pager) listBox.append(pager);
  }

  function docRow(d) {
    const href = safeUrl(d.url) || `/api/sources/${d.id}`;
    const replaceInput = el('input', { type: 'file', hidden: true, class: 'replace-file', 'aria-label': `Nouvelle version de ${d.title}` });
    const actions = el('td', { class: 'row-actions' });
    const title = d.title || fileName(d.source);
    const normal = () => actions.replaceChildren(
      el('button', { type: 'button', class: 'btn secondary small', onclick: () => replaceInput.click() }, 'Remplacer',
        el('span', { class: 'sr-only', text: ` ${title}` })),
      el('button', { type: 'button', class: 'btn secondary small danger-text', onclick: confirmDelete }, 'Supprimer',
        el('span', { class: 'sr-only', text: ` ${title}` })),
      replaceInput);
    function confirmDelete() {
      const yes = el('button', { type: 'button', class: 'btn danger small' }, 'Confirmer la suppression');
      const no = el('button', { type: 'button', class: 'btn secondary small' }, 'Annuler');
      actions.replaceChildren(el('span', { class: 'confirm', text: `Supprimer « ${title} » ?` }), yes, no);
      yes.focus();
      no.addEventListener('click', () => { normal(); actions.querySelector('button').focus(); });
      yes.addEventListener('click', async () => {
        try {
          await call(`/api/documents/${d.id}`, { method: 'DELETE' });
          notify(`Document « ${title} » supprimé.`);
          row.remove();
          load();
        } catch (e) {
          normal();
          actions.append(el('p', { class: 'error', role: 'alert', text: e.message }));
        }
      });
    }
    replaceInput.addEventListener('change', async () => {
      const f = replaceInput.files[0];
      if (!f) return;
      const data = new FormData();
      data.append('file', f, f.name);
      try {
        const job = await call(`/api/documents/${d.id}`, { method: 'PUT', body: data });
        follow(job, `Remplacement de « ${title} »`);
      } catch (e) {
        actions.append(el('p', { class: 'error', role: 'alert', text: e.message }));
      }
      replaceInput.value = '';
    });
    normal();
    const row = el('tr', { dataset: { id: String(d.id) } },
      el('td', {}, el('a', { href, target: '_blank', rel: 'noopener', text: title }),
        el('span', { class: 'muted block', text: fileName(d.source) })),
      el('td', { text: FORMATS[d.format] || d.format || '' }),
      el('td', { text: d.collection || '—' }),
      el('td', { text: String(d.chunk_count ?? '') }),
      el('td', { class: 'nowrap', text: d.date ? formatDate(d.date.slice(0, 10)) : '—' }),
      el('td', { class: 'nowrap', text: formatDate(String(d.ingested_at || '').slice(0, 10)) }),
      actions);
    return row;
  }

  await load();
}

// ------------------------------------------------------------ review

async function reviewView(root) {
  const box = el('div', { class: 'cards' });
  const count = el('p', { class: 'muted' });
  root.append(el('p', { text: 'Réponses à vérifier : avis négatifs, abstentions, demandes d\'agent. Chaque verdict devient un cas d\'évaluation ; une correction peut être servie comme réponse validée.' }), count, box);
  const items = await call('/api/review');
  const updateCount = () => {
    const n = box.children.length;
    count.textContent = n ? `${n} réponse${n > 1 ? 's' : ''} à revoir.` : 'Rien à revoir pour le moment.';
  };
  box.append(...items.map((it) => reviewItem(it, updateCount)));
  updateCount();
}

function reviewItem(it, updateCount) {
  const id = nextId('r');
  const [whyText, whyClass] = WHY[it.why] || [it.why, 'info'];
  const error = errorBox();
  const formSlot = el('div', { class: 'verdict-form' });
  const card = el('article', { class: 'card review-item', dataset: { answerId: it.answer_id, why: it.why }, 'aria-labelledby': `${id}-q` },
    el('h3', { id: `${id}-q`, tabindex: '-1', text: it.question }),
    el('p', { class: 'meta' },
      el('span', { class: `badge ${whyClass}`, text: whyText }), ' ',
      el('span', { text: STATUS[it.status] || it.status }), ' · ',
      el('span', { text: formatDate(it.created_at) }),
      it.handoff ? el('span', { text: ` · demande ${it.handoff}` }) : null),
    el('h4', { text: 'Réponse donnée' }),
    textBlock(it.answer),
    it.comments && it.comments.replace(/[\s|]/g, '') ? el('p', { class: 'comments' }, el('strong', { text: 'Commentaire du citoyen : ' }), it.comments) : null,
    it.sources?.length ? el('details', { class: 'review-sources' },
      el('summary', { text: `Sources (${it.sources.length})` }),
      el('ul', {}, it.sources.map(sourceLink))) : el('p', { class: 'muted', text: 'Aucune source.' }),
    el('div', { class: 'actions verdicts', role: 'group', 'aria-label': 'Verdict' },
      el('button', { type: 'button', class: 'btn secondary small', onclick: () => submit({ verdict: 'correct', expected_sources: [], curate: false }) }, 'Correcte'),
      el('button', { type: 'button', class: 'btn secondary small', onclick: incorrectForm, 'aria-expanded': 'false' }, 'Incorrecte'),
      el('button', { type: 'button', class: 'btn small', onclick: correctForm, 'aria-expanded': 'false' }, 'Corriger')),
    formSlot, error);

  const buttons = () => card.querySelectorAll('.verdicts button');
  function expanded(which) {
    buttons().forEach((b, i) => { if (i > 0) b.setAttribute('aria-expanded', String(i === which)); });
  }

  function incorrectForm() {
    const reason = reasonSelect(`${id}-reason`);
    const f = el('form', { class: 'subform' },
      field('Motif', reason),
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'btn small', text: 'Enregistrer le verdict' }),
        el('button', { type: 'button', class: 'btn secondary small', text: 'Annuler', onclick: () => { formSlot.replaceChildren(); expanded(-1); } })));
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!reason.value) { error.textContent = 'Choisissez un motif.'; reason.focus(); return; }
      submit({ verdict: 'incorrect', reason: reason.value, expected_sources: [], curate: false });
    });
    formSlot.replaceChildren(f);
    expanded(1);
    reason.focus();
  }

  function correctForm() {
    const reason = reasonSelect(`${id}-creason`);
    reason.value = it.status === 'not_found' || it.status === 'out_of_scope' ? 'should_have_answered' : 'incomplete';
    const answer = el('textarea', { id: `${id}-answer`, rows: '6', required: true });
    answer.value = it.answer || '';
    const expected = el('input', { type: 'text', id: `${id}-expected` });
    expected.value = [...new Set((it.sources || []).filter((s) => s.cited).map((s) => fileName(s.source)))].join(', ');
    const curate = checkbox('Servir comme réponse validée', true);
    const f = el('form', { class: 'subform' },
      field('Réponse corrigée', answer),
      field('Motif de la correction', reason),
      field('Sources attendues (facultatif)', expected, 'Noms des fichiers qui contiennent la réponse, séparés par des virgules.'),
      curate.node,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'btn small', text: 'Enregistrer la correction' }),
        el('button', { type: 'button', class: 'btn secondary small', text: 'Annuler', onclick: () => { formSlot.replaceChildren(); expanded(-1); } })));
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!answer.value.trim()) { error.textContent = 'Écrivez la réponse corrigée.'; answer.focus(); return; }
      submit({
        verdict: 'corrected',
        reason: reason.value,
        corrected_answer: answer.value.trim(),
        expected_sources: expected.value.split(',').map((s) => s.trim()).filter(Boolean),
        curate: curate.box.checked,
      });
    });
    formSlot.replaceChildren(f);
    expanded(2);
    answer.focus();
  }

  async function submit(body) {
    error.textContent = '';
    try {
      const r = await call(`/api/review/${encodeURIComponent(it.answer_id)}`, { method: 'POST', json: body });
      const next = card.nextElementSibling || card.previousElementSibling;
      card.remove();
      updateCount();
      notify(`Verdict enregistré pour « ${it.question} »${r?.curated_id ? ' ; la réponse corrigée est désormais servie comme réponse validée' : ''}.`);
      const target = next?.querySelector('h3') || document.querySelector('#view h2');
      target?.focus();
    } catch (e) {
      error.textContent = e.message;
    }
  }
  return card;
}

// ------------------------------------------------------------ curated

async function curatedView(root) {
  const list = el('div', { class: 'cards' });
  const formSlot = el('div');
  const addButton = el('button', { type: 'button', class: 'btn', 'aria-expanded': 'false' }, 'Nouvelle réponse validée');
  addButton.addEventListener('click', () => {
    addButton.setAttribute('aria-expanded', 'true');
    formSlot.replaceChildren(curatedForm(null, async () => { formSlot.replaceChildren(); addButton.setAttribute('aria-expanded', 'false'); await load(); addButton.focus(); },
      () => { formSlot.replaceChildren(); addButton.setAttribute('aria-expanded', 'false'); addButton.focus(); }));
    formSlot.querySelector('input')?.focus();
  });
  root.append(el('p', { text: 'Ces réponses sont servies telles quelles aux questions proches de leur question ou de ses variantes, jusqu\'à leur date d\'expiration.' }),
    addButton, formSlot, list);

  async function load() {
    const items = await call('/api/curated');
    list.replaceChildren(...(items.length ? items.map((c) => curatedCard(c)) : [el('p', { text: 'Aucune réponse validée.' })]));
  }

  function curatedCard(c) {
    const id = nextId('cur');
    const expired = c.expired ?? (c.expires_at ? c.expires_at < today() : false);
    const actions = el('div', { class: 'actions' });
    const card = el('article', { class: 'card curated-item', dataset: { id: String(c.id) }, 'aria-labelledby': `${id}-q` },
      el('h3', { id: `${id}-q`, text: c.question }),
      el('p', { class: 'meta' },
        expired ? el('span', { class: 'badge err', text: 'Expirée' }) : el('span', { class: 'badge ok', text: c.expires_at ? `Valable jusqu'au ${formatDate(c.expires_at)}` : 'Sans expiration' }),
        ` Validée par ${c.validated_by || '—'}${c.validated_at ? ` le ${formatDate(c.validated_at)}` : ''}`),
      c.variants?.length ? el('div', {}, el('h4', { text: 'Variantes' }), el('ul', {}, c.variants.map((v) => el('li', { text: v })))) : null,
      el('h4', { text: 'Réponse' }),
      textBlock(c.answer),
      c.sources?.length ? el('div', {}, el('h4', { text: 'Sources' }), el('ul', {}, c.sources.map((s) => el('li', {}, safeUrl(s) ? el('a', { href: s, target: '_blank', rel: 'noopener', text: s }) : s)))) : null,
      actions);
    const normal = () => actions.replaceChildren(
      el('button', { type: 'button', class: 'btn secondary small', onclick: edit }, 'Modifier', el('span', { class: 'sr-only', text: ` « ${c.question} »` })),
      el('button', { type: 'button', class: 'btn secondary small danger-text', onclick: confirmDelete }, 'Supprimer', el('span', { class: 'sr-only', text: ` « ${c.question} »` })));
    function edit() {
      const f = curatedForm(c, async () => { await load(); }, () => { f.replaceWith(card); card.querySelector('button')?.focus(); });
      card.replaceWith(f);
      f.querySelector('input')?.focus();
    }
    function confirmDelete() {
      const yes = el('button', { type: 'button', class: 'btn danger small', text: 'Confirmer la suppression' });
      const no = el('button', { type: 'button', class: 'btn secondary small', text: 'Annuler', onclick: () => { normal(); actions.querySelector('button').focus(); } });
      actions.replaceChildren(el('span', { class: 'confirm', text: 'Supprimer cette réponse validée ?' }), yes, no);
      yes.focus();
      yes.addEventListener('click', async () => {
        try {
          await call(`/api/curated/${c.id}`, { method: 'DELETE' });
          notify('Réponse validée supprimée.');
          await load();
          addButton.focus();
        } catch (e) {
          normal();
          actions.append(el('p', { class: 'error', role: 'alert', text: e.message }));
        }
      });
    }
    normal();
    return card;
  }

  function curatedForm(c, saved, cancel) {
    const id = nextId('cf');
    const question = el('input', { type: 'text', id: `${id}-question`, required: true, value: c?.question || '' });
    const variants = el('textarea', { id: `${id}-variants`, rows: '3' });
    variants.value = (c?.variants || []).join('\n');
    const answer = el('textarea', { id: `${id}-answer`, rows: '6', required: true });
    answer.value = c?.answer || '';
    const sources = el('textarea', { id: `${id}-sources`, rows: '2' });
    sources.value = (c?.sources || []).join('\n');
    const expires = el('input', { type: 'date', id: `${id}-expires`, value: c?.expires_at || '' });
    const error = errorBox();
    const f = el('form', { class: 'card subform curated-form', 'aria-labelledby': `${id}-title` },
      el('h3', { id: `${id}-title`, text: c ? 'Modifier la réponse validée' : 'Nouvelle réponse validée' }),
      field('Question', question),
      field('Variantes de la question', variants, 'Une formulation par ligne.'),
      field('Réponse', answer),
      field('Sources', sources, 'Une source par ligne (titre ou lien).'),
      field("Date d'expiration (facultatif)", expires, 'Après cette date, la réponse n\'est plus servie.'),
      error,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'btn', text: 'Enregistrer' }),
        el('button', { type: 'button', class: 'btn secondary', text: 'Annuler', onclick: cancel })));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      const body = {
        id: c?.id || 0,
        question: question.value.trim(),
        variants: lines(variants.value),
        answer: answer.value.trim(),
        sources: lines(sources.value),
        validated_by: c?.validated_by || '',
        validated_at: c?.validated_at || '',
        expires_at: expires.value || null,
      };
      try {
        await call(c ? `/api/curated/${c.id}` : '/api/curated', { method: c ? 'PUT' : 'POST', json: body });
        notify(c ? 'Réponse validée modifiée.' : 'Réponse validée créée.');
        await saved();
      } catch (err) {
        error.textContent = err.message;
      }
    });
    return f;
  }

  await load();
}

// ------------------------------------------------------------ handoffs

async function handoffsView(root) {
  const list = el('div', { class: 'cards' });
  const count = el('p', { class: 'muted' });
  root.append(el('p', { text: 'Les citoyens qui ont demandé à parler à un agent, avec leur conversation.' }), count, list);
  async function load() {
    const items = await call('/api/handoffs');
    items.sort((a, b) => (a.status === 'open' ? 0 : 1) - (b.status === 'open' ? 0 : 1));
    const open = items.filter((h) => h.status === 'open').length;
    count.textContent = `${open} demande${open > 1 ? 's' : ''} ouverte${open > 1 ? 's' : ''}, ${items.length - open} résolue${items.length - open > 1 ? 's' : ''}.`;
    list.replaceChildren(...(items.length ? items.map(handoffCard) : [el('p', { text: 'Aucune demande.' })]));
  }

  function handoffCard(h) {
    const id = nextId('h');
    const contact = h.contact && typeof h.contact === 'object' ? h.contact : {};
    const email = typeof contact.email === 'string' && /^[^\s@<>]+@[^\s@<>]+$/.test(contact.email) ? contact.email : null;
    const items = [];
    if (contact.name) items.push(el('li', { text: `Nom : ${contact.name}` }));
    if (contact.email) items.push(el('li', {}, 'E-mail : ', email ? el('a', { href: `mailto:${email}`, text: email }) : String(contact.email)));
    if (contact.phone) items.push(el('li', { text: `Téléphone : ${contact.phone}` }));
    const conv = Array.isArray(h.conversation) ? h.conversation : [];
    const card = el('article', { class: 'card handoff-item', dataset: { reference: h.reference, status: h.status }, 'aria-labelledby': `${id}-t` },
      el('h3', { id: `${id}-t` }, `Demande ${h.reference} `,
        el('span', { class: `badge ${h.status === 'open' ? 'warn' : 'ok'}`, text: h.status === 'open' ? 'Ouverte' : 'Résolue' })),
      el('p', { class: 'meta', text: `Reçue le ${formatDate(h.created_at)}` }),
      items.length ? el('ul', { class: 'contact-list' }, items) : el('p', { class: 'muted', text: 'Pas de coordonnées.' }),
      h.message ? el('div', {}, el('h4', { text: 'Message' }), textBlock(h.message)) : null,
      el('details', { class: 'conv' },
        el('summary', { text: `Conversation (${conv.length} question${conv.length > 1 ? 's' : ''})` }),
        el('ol', { class: 'conv-list' }, conv.map((m) => el('li', {},
          el('p', {}, el('strong', { text: 'Question : ' }), m.question || ''),
          el('p', {}, el('strong', { text: `Réponse (${STATUS[m.status] || m.status}) : ` }), m.answer || ''))))));
    if (h.status === 'open') {
      const answer = el('textarea', { id: `${id}-answer`, rows: '4', required: true });
      const curate = checkbox('En faire une réponse validée', false);
      const error = errorBox();
      const f = el('form', { class: 'subform' },
        field('Réponse apportée au citoyen', answer),
        curate.node, error,
        el('button', { type: 'submit', class: 'btn small', text: 'Marquer comme résolue' }));
      f.addEventListener('submit', async (e) => {
        e.preventDefault();
        error.textContent = '';
        if (!answer.value.trim()) { error.textContent = 'Écrivez la réponse apportée.'; answer.focus(); return; }
        try {
          await call(`/api/handoffs/${h.id}/resolve`, { method: 'POST', json: { answer: answer.value.trim(), curate: curate.box.checked } });
          notify(`Demande ${h.reference} résolue${curate.box.checked ? ' ; réponse validée créée' : ''}.`);
          await load();
          root.querySelector('h2')?.focus();
        } catch (err) {
          error.textContent = err.message;
        }
      });
      card.append(f);
    } else {
      card.append(el('h4', { text: 'Réponse apportée' }), textBlock(h.answer || ''),
        el('p', { class: 'muted', text: `Par ${h.resolved_by || '—'}` }));
    }
    return card;
  }
  await load();
}

// ------------------------------------------------------------ accounts

const ROLES = { referent: 'Référent', admin: 'Administrateur' };

async function accountsView(root) {
  const tableBox = el('div');
  const created = el('div', { 'aria-live': 'polite' });
  const formSlot = el('div');
  const addButton = el('button', { type: 'button', class: 'btn', 'aria-expanded': 'false' }, 'Nouveau compte');
  addButton.addEventListener('click', () => {
    addButton.setAttribute('aria-expanded', 'true');
    formSlot.replaceChildren(accountForm(null, closeForm));
    formSlot.querySelector('input')?.focus();
  });
  function closeForm() {
    formSlot.replaceChildren();
    addButton.setAttribute('aria-expanded', 'false');
    addButton.focus();
  }
  root.append(el('p', { text: "Les comptes des référents et des administrateurs. Un jeton n'est affiché qu'à sa création ; un compte qui expire cesse de fonctionner après sa date. L'e-mail et les thèmes disent quelles demandes d'agent et quelles réponses signalées sont envoyées à chacun (sans thème : toutes)." }),
    created, addButton, formSlot, tableBox);

  async function load() {
    const users = (await call('/api/users')).filter((u) => !u.revoked_at);
    const now = today();
    const rows = users.map((u) => {
      const expired = u.expires_at && u.expires_at < now;
      const actions = el('td', { class: 'actions' });
      const tr = el('tr', { dataset: { name: u.name } },
        el('th', { scope: 'row', text: u.name }),
        el('td', { text: ROLES[u.role] || u.role }),
        el('td', { text: u.email || '—' }),
        el('td', { text: u.topics?.length ? u.topics.join(', ') : 'Tous' }),
        el('td', {}, expired ? el('span', { class: 'badge err', text: `Expiré le ${formatDate(u.expires_at)}` })
          : (u.expires_at ? `Jusqu'au ${formatDate(u.expires_at)}` : 'Sans expiration')),
        el('td', { text: u.last_used_at ? formatDate(u.last_used_at) : 'Jamais' }),
        actions);
      const normal = () => actions.replaceChildren(
        el('button', { type: 'button', class: 'btn secondary small', onclick: edit }, 'Modifier', el('span', { class: 'sr-only', text: ` ${u.name}` })),
        el('button', { type: 'button', class: 'btn secondary small danger-text', onclick: confirmRevoke }, 'Révoquer', el('span', { class: 'sr-only', text: ` ${u.name}` })));
      function edit() {
        formSlot.replaceChildren(accountForm(u, () => { formSlot.replaceChildren(); tr.querySelector('button')?.focus(); }));
        formSlot.querySelector('select, input')?.focus();
      }
      function confirmRevoke() {
        const yes = el('button', { type: 'button', class: 'btn danger small', text: 'Confirmer la révocation' });
        const no = el('button', { type: 'button', class: 'btn secondary small', text: 'Annuler', onclick: () => { normal(); actions.querySelector('button').focus(); } });
        actions.replaceChildren(el('span', { class: 'confirm', text: `Révoquer le jeton de ${u.name} ?` }), yes, no);
        yes.focus();
        yes.addEventListener('click', async () => {
          try {
            await call(`/api/users/${encodeURIComponent(u.name)}`, { method: 'DELETE' });
            notify(`Compte ${u.name} révoqué.`);
            await load();
            addButton.focus();
          } catch (e) {
            normal();
            actions.append(el('p', { class: 'error', role: 'alert', text: e.message }));
          }
        });
      }
      normal();
      return tr;
    });
    const table = el('table', { class: 'table accounts' },
      el('caption', { class: 'sr-only', text: 'Comptes actifs' }),
      el('thead', {}, el('tr', {}, ['Nom', 'Rôle', 'E-mail', 'Thèmes', 'Validité', 'Dernière utilisation', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, rows));
    tableBox.replaceChildren(users.length ? el('div', { class: 'table-wrap' }, table) : el('p', { text: 'Aucun compte actif.' }));
  }

  function accountForm(u, close) {
    const id = nextId('acc');
    const name = el('input', { type: 'text', id: `${id}-name`, required: true, maxlength: '64', value: u?.name || '', autocomplete: 'off', spellcheck: 'false' });
    if (u) name.readOnly = true;
    const roleSelect = el('select', { id: `${id}-role` },
      Object.entries(ROLES).map(([v, label]) => el('option', { value: v, text: label, selected: (u?.role || 'referent') === v })));
    const email = el('input', { type: 'email', id: `${id}-email`, value: u?.email || '', autocomplete: 'off' });
    const topics = el('textarea', { id: `${id}-topics`, rows: '3' });
    topics.value = (u?.topics || []).join('\n');
    const expires = el('input', { type: 'date', id: `${id}-expires`, value: u?.expires_at || '' });
    const error = errorBox();
    const f = el('form', { class: 'card subform account-form', 'aria-labelledby': `${id}-title` },
      el('h3', { id: `${id}-title`, text: u ? `Modifier le compte ${u.name}` : 'Nouveau compte' }),
      field('Nom', name, u ? null : 'Écrit dans le journal des actions ; sans « # ».'),
      field('Rôle', roleSelect, 'Un administrateur gère aussi les comptes et les exports.'),
      field('E-mail (facultatif)', email, 'Reçoit les demandes d\'agent et les réponses signalées.'),
      field('Thèmes (facultatif)', topics, 'Un thème par ligne (ex. « état civil ») ; vide : toutes les demandes.'),
      field("Date d'expiration (facultatif)", expires, 'Le jeton cesse de fonctionner après ce jour.'),
      error,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'btn', text: u ? 'Enregistrer' : 'Créer le compte' }),
        el('button', { type: 'button', class: 'btn secondary', text: 'Annuler', onclick: close })));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      const body = {
        role: roleSelect.value,
        email: email.value.trim() || null,
        topics: lines(topics.value),
        expires_at: expires.value || null,
      };
      try {
        if (u) {
          await call(`/api/users/${encodeURIComponent(u.name)}`, { method: 'PATCH', json: body });
          notify(`Compte ${u.name} modifié.`);
          close();
        } else {
          const r = await call('/api/users', { method: 'POST', json: { name: name.value.trim(), ...body } });
          showToken(r.user.name, r.token);
          formSlot.replaceChildren();
          addButton.setAttribute('aria-expanded', 'false');
        }
        await load();
      } catch (err) {
        error.textContent = err.message;
      }
    });
    return f;
  }

  /** The new token, shown once, with a copy button. */
  function showToken(user, value) {
    const id = nextId('tok');
    const out = el('input', { type: 'text', id, readonly: true, value, class: 'token-value', spellcheck: 'false' });
    const copy = el('button', { type: 'button', class: 'btn secondary small', text: 'Copier le jeton' });
    copy.addEventListener('click', async () => {
      out.select();
      try { await navigator.clipboard.writeText(value); notify('Jeton copié.'); } catch { notify('Sélectionnez le jeton et copiez-le.'); }
    });
    const box = el('div', { class: 'card created-token', role: 'region', 'aria-labelledby': `${id}-t` },
      el('h3', { id: `${id}-t`, tabindex: '-1', text: `Compte ${user} créé` }),
      field('Jeton d\'accès (affiché une seule fois)', out, 'Remettez-le à son titulaire ; il ne pourra plus être affiché.'),
      el('div', { class: 'actions' }, copy,
        el('button', { type: 'button', class: 'btn secondary small', text: 'Masquer', onclick: () => { created.replaceChildren(); addButton.focus(); } })));
    created.replaceChildren(box);
    box.querySelector('h3').focus();
  }

  await load();
}

// ------------------------------------------------------------ statistics

const pct = new Intl.NumberFormat('fr-FR', { style: 'percent', maximumFractionDigits: 0 });
const num = new Intl.NumberFormat('fr-FR');

async function statsView(root) {
  const from = el('input', { type: 'date', id: 'stats-from', value: daysAgo(29) });
  const to = el('input', { type: 'date', id: 'stats-to', value: today() });
  const gran = el('select', { id: 'stats-granularity' },
    el('option', { value: 'day', text: 'Par jour' }), el('option', { value: 'week', text: 'Par semaine' }));
  const quick = [7, 30, 90].map((n) => el('button', { type: 'button', class: 'btn secondary small', 'aria-pressed': n === 30 ? 'true' : 'false', dataset: { days: String(n) } }, `${n} derniers jours`));
  const error = errorBox();
  const out = el('div', { class: 'stats-out' });
  const f = el('form', { class: 'card stats-form' },
    el('div', { class: 'actions', role: 'group', 'aria-label': 'Période rapide' }, quick),
    el('div', { class: 'row' }, field('Du', from), field('Au', to), field('Granularité', gran),
      el('div', { class: 'field end' }, el('button', { type: 'submit', class: 'btn', text: 'Afficher' }))),
    error);
  for (const b of quick) {
    b.addEventListener('click', () => {
      from.value = daysAgo(Number(b.dataset.days) - 1);
      to.value = today();
      gran.value = Number(b.dataset.days) > 30 ? 'week' : 'day';
      quick.forEach((q) => q.setAttribute('aria-pressed', String(q === b)));
      load();
    });
  }
  for (const i of [from, to]) i.addEventListener('change', () => quick.forEach((q) => q.setAttribute('aria-pressed', 'false')));
  f.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  root.append(f, out);

  async function load() {
    error.textContent = '';
    let s;
    try {
      s = await call(`/api/stats?${new URLSearchParams({ from: from.value, to: to.value, granularity: gran.value })}`);
    } catch (e) {
      error.textContent = e.message;
      return;
    }
    out.replaceChildren(...renderStats(s, out.clientWidth || root.clientWidth || 700));
  }
  await load();
}

function renderStats(s, width) {
  const t = s.total || {};
  const q = t.questions || 0;
  const share = (n) => (q ? ` (${pct.format(n / q)})` : '');
  const kpi = (label, value, sub) => el('div', { class: 'kpi' }, el('dt', { text: label }), el('dd', {}, el('span', { class: 'kpi-value', text: value }), sub ? el('span', { class: 'kpi-sub', text: sub }) : null));
  const kpis = el('dl', { class: 'kpis' },
    kpi('Questions', num.format(q)),
    kpi('Répondues', num.format(t.answered || 0), share(t.answered || 0)),
    kpi('Abstentions', num.format(t.abstained || 0), share(t.abstained || 0)),
    kpi('Réponses validées servies', num.format(t.curated || 0)),
    kpi('Transmises à un agent', num.format(t.handed_off || 0)),
    kpi('Avis', `${num.format(t.thumbs_up || 0)} + / ${num.format(t.thumbs_down || 0)} −`),
    kpi('Temps de réponse médian', t.median_ms != null ? `${(t.median_ms / 1000).toLocaleString('fr-FR', { maximumFractionDigits: 1 })} s` : '—'));
  const unit = s.granularity === 'week' ? 'semaine' : 'jour';
  const periods = allPeriods(s);
  const chartTitle = el('h3', { id: nextId('chart'), text: `Questions par ${unit}` });
  const chart = el('figure', { class: 'card chart' }, chartTitle,
    barChart(periods, width - 32, chartTitle.id, unit),
    el('details', {}, el('summary', { text: 'Voir les données sous forme de tableau' }),
      el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
        el('caption', { class: 'sr-only', text: `Chiffres par ${unit}` }),
        el('thead', {}, el('tr', {}, [unit === 'jour' ? 'Jour' : 'Semaine du', 'Questions', 'Répondues', 'Abstentions', 'Validées', 'Agent', 'Avis +', 'Avis −', 'Médiane'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, periods.map((p) => el('tr', {},
          el('th', { scope: 'row', text: formatDate(p.start) }),
          [p.questions, p.answered, p.abstained, p.curated, p.handed_off, p.thumbs_up, p.thumbs_down].map((v) => el('td', { text: num.format(v || 0) })),
          el('td', { text: p.median_ms != null ? `${Math.round(p.median_ms)} ms` : '—' }))))))));
  const topics = s.topics || [];
  const maxTopic = Math.max(1, ...topics.map((x) => x[1]));
  const themes = el('section', { class: 'card', 'aria-labelledby': 'themes-title' },
    el('h3', { id: 'themes-title', text: 'Thèmes des questions' }),
    topics.length ? el('ul', { class: 'hbars' }, topics.map(([name, n]) => {
      const bar = el('span', { class: 'hbar-fill' });
      bar.style.width = `${Math.max(2, (n / maxTopic) * 100)}%`;
      return el('li', {}, el('span', { class: 'hbar-label', text: name }),
        el('span', { class: 'hbar', 'aria-hidden': 'true' }, bar),
        el('span', { class: 'hbar-n', text: `${num.format(n)} question${n > 1 ? 's' : ''}` }));
    })) : el('p', { text: 'Aucune question sur la période.' }));
  const top = s.top_unanswered || [];
  const unanswered = el('section', { class: 'card', 'aria-labelledby': 'unanswered-title' },
    el('h3', { id: 'unanswered-title', text: 'Questions sans réponse les plus fréquentes' }),
    top.length ? el('ol', { class: 'top-list' }, top.map(([question, n]) => el('li', {}, question, el('span', { class: 'muted', text: ` — ${n} fois` }))))
      : el('p', { text: 'Aucune sur la période (les questions trop rares ne sont pas listées, pour préserver la vie privée).' }));
  return [kpis, chart, el('div', { class: 'grid2' }, themes, unanswered)];
}

/** Every period of the range (the API lists only those with questions). */
function allPeriods(s) {
  const week = s.granularity === 'week';
  const known = new Map((s.periods || []).map((p) => [p.start, p]));
  const dayMs = 86400000;
  let d = Date.parse(`${s.from}T00:00:00Z`);
  const end = Date.parse(`${s.to}T00:00:00Z`);
  if (Number.isNaN(d) || Number.isNaN(end) || end < d) return s.periods || [];
  if (week) d -= ((new Date(d).getUTCDay() + 6) % 7) * dayMs;
  const out = [];
  for (; d <= end && out.length < 1000; d += (week ? 7 : 1) * dayMs) {
    const start = new Date(d).toISOString().slice(0, 10);
    out.push(known.get(start) || {
      start, questions: 0, answered: 0, abstained: 0, curated: 0, handed_off: 0, thumbs_up: 0, thumbs_down: 0, median_ms: null,
    });
  }
  return out;
}

/** A bar chart of questions per period (SVG); the table is its text alternative. */
function barChart(periods, width, labelledBy, unit) {
  const W = Math.max(280, Math.min(width, 1100));
  const H = 220;
  const pad = { l: 36, r: 8, t: 12, b: 34 };
  const max = Math.max(1, ...periods.map((p) => p.questions || 0));
  const step = max <= 5 ? 1 : Math.ceil(max / 4);
  const top = Math.ceil(max / step) * step;
  const innerW = W - pad.l - pad.r;
  const innerH = H - pad.t - pad.b;
  const n = Math.max(1, periods.length);
  const bw = innerW / n;
  const total = periods.reduce((a, p) => a + (p.questions || 0), 0);
  const peak = periods.reduce((a, p) => ((p.questions || 0) > (a?.questions || 0) ? p : a), null);
  const desc = peak ? `${total} questions au total ; maximum ${peak.questions} le ${formatDate(peak.start)}.` : 'Aucune question.';
  const descId = nextId('desc');
  const g = svg('svg', { class: 'bars', viewBox: `0 0 ${W} ${H}`, width: String(W), height: String(H), role: 'img', 'aria-labelledby': labelledBy, 'aria-describedby': descId },
    svg('desc', { id: descId, text: desc }));
  for (let v = 0; v <= top; v += step) {
    const y = pad.t + innerH - (v / top) * innerH;
    g.append(svg('line', { x1: String(pad.l), x2: String(W - pad.r), y1: String(y), y2: String(y), class: 'grid' }),
      svg('text', { x: String(pad.l - 6), y: String(y + 4), 'text-anchor': 'end', class: 'axis', text: String(v) }));
  }
  const every = Math.ceil(n / Math.max(1, Math.floor(innerW / 48)));
  periods.forEach((p, i) => {
    const h = ((p.questions || 0) / top) * innerH;
    const x = pad.l + i * bw;
    g.append(svg('rect', { x: String(x + bw * 0.15), y: String(pad.t + innerH - h), width: String(Math.max(1, bw * 0.7)), height: String(h), class: 'bar' },
      svg('title', { text: `${formatDate(p.start)} : ${p.questions} question${p.questions > 1 ? 's' : ''}` })));
    if (i % every === 0) {
      const d = p.start.slice(8, 10) + '/' + p.start.slice(5, 7);
      g.append(svg('text', { x: String(x + bw / 2), y: String(H - pad.b + 16), 'text-anchor': 'middle', class: 'axis', text: d }));
    }
  });
  g.append(svg('text', { x: String(W - pad.r), y: String(H - 4), 'text-anchor': 'end', class: 'axis', text: unit === 'jour' ? 'jour' : 'semaine (lundi)' }));
  return el('div', { class: 'chart-box' }, g, el('p', { class: 'help', text: desc }));
}

// ------------------------------------------------------------ evaluation

const EVAL_ROWS = [
  ['cases', 'Cas évalués', 'n'],
  ['score', 'Score global', '%'],
  ['hit_at_1', 'Bon document en 1re position', '%'],
  ['hit_at_5', 'Bon document parmi les 5 premiers', '%'],
  ['citation_precision', 'Précision des citations', '%'],
  ['citation_recall', 'Rappel des citations', '%'],
  ['must_contain', 'Éléments attendus présents', '%'],
  ['groundedness', 'Réponses appuyées sur les sources', '%'],
  ['abstention_accuracy', 'Abstentions justes', '%'],
  ['wrongly_refused', 'Refus à tort', '%'],
  ['violations', 'Violations (données, consignes)', 'n'],
  ['first_token_p50_ms', 'Premier mot (médiane)', 'ms'],
  ['total_p95_ms', 'Réponse complète (95e centile)', 'ms'],
  ['errors', 'Erreurs', 'n'],
];

const KINDS = {
  fact: 'Fait précis',
  procedure: 'Démarche',
  followup: 'Question de suivi',
  local: 'Document de la commune',
  out_of_scope: 'Hors champ',
  injection: 'Tentative de détournement',
};

function evalValue(v, kind) {
  if (v == null) return '—';
  if (kind === '%') return pct.format(v);
  if (kind === 'ms') return `${(v / 1000).toLocaleString('fr-FR', { maximumFractionDigits: 2 })} s`;
  return num.format(v);
}

async function evalView(root) {
  let r;
  try {
    r = await call('/api/eval/latest');
  } catch (e) {
    if (e.status === 404) {
      root.append(el('p', { class: 'card', text: e.message }));
      return;
    }
    throw e;
  }
  const s = r.summary || {};
  const o = s.overall || {};
  root.append(el('section', { class: 'card', 'aria-labelledby': 'eval-run' },
    el('h3', { id: 'eval-run', text: `Dernière évaluation : ${r.run}` }),
    el('p', { class: 'muted', text: [s.date ? formatDate(s.date) : '', s.answerer || '', Array.isArray(s.sets) ? s.sets.map(fileName).join(', ') : ''].filter(Boolean).join(' · ') }),
    el('div', { class: 'table-wrap' }, el('table', { class: 'table narrow' },
      el('caption', { text: 'Indicateurs principaux' }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Indicateur' }), el('th', { scope: 'col', text: 'Valeur' }))),
      el('tbody', {}, EVAL_ROWS.filter(([k]) => k in o).map(([k, label, kind]) => el('tr', {}, el('th', { scope: 'row', text: label }), el('td', { text: evalValue(o[k], kind) })))))),
    Array.isArray(s.improved) || Array.isArray(s.worsened)
      ? el('p', { text: `Depuis l'évaluation précédente : ${(s.improved || []).length} cas améliorés, ${(s.worsened || []).length} dégradés.` }) : null,
    s.by_kind ? el('details', {}, el('summary', { text: 'Résultats par type de question' }),
      el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
        el('caption', { class: 'sr-only', text: 'Résultats par type de question' }),
        el('thead', {}, el('tr', {}, ['Type', 'Cas', 'Score', 'Bon document (5)', 'Abstentions justes'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, Object.entries(s.by_kind).map(([k, v]) => el('tr', {},
          el('th', { scope: 'row', text: KINDS[k] || k }), el('td', { text: evalValue(v.cases, 'n') }), el('td', { text: evalValue(v.score, '%') }),
          el('td', { text: evalValue(v.hit_at_5, '%') }), el('td', { text: evalValue(v.abstention_accuracy, '%') }))))))) : null,
    r.report_html ? el('button', { type: 'button', class: 'btn spaced', onclick: () => download(r.report_html, `rapport-evaluation-${r.run}.html`) }, 'Télécharger le rapport')
      : el('p', { class: 'muted', text: 'Pas de rapport HTML pour cette évaluation.' })));
}

function download(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/html;charset=utf-8' }));
  const a = el('a', { href: url, download: name.replace(/[^\w.-]+/g, '_') });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}
