// End-to-end browser tests of the Guichet web front end: the citizen page,
// the embeddable widget and the référent console, driven with Playwright
// (playwright-core) in Debian's chromium against a running server.
//
//   cd tests/web && npm ci
//   GUICHET_URL=http://127.0.0.1:8093 GUICHET_TOKEN=gui_... node tests/web/e2e.mjs
//
// Environment:
//   GUICHET_URL              base URL of the running server (required)
//   GUICHET_TOKEN            a référent token (required)
//   GUICHET_ADMIN_TOKEN      an admin token: the accounts view is checked with it
//                            (skipped without it)
//   GUICHET_UPLOAD_PDF       PDF uploaded from the console
//                            (default: ingest/demo/documents/montpellier/2014-05-22-0000072128.pdf)
//   GUICHET_UPLOAD_QUESTION  a question answerable from that PDF only
//   GUICHET_UPLOAD_EXPECT    words expected in the cited source's title (the PDF's subject,
//                            read from its first page) or file name
//   GUICHET_ARTIFACTS        folder for screenshots (default: target/web-artifacts)
//   GUICHET_EMBED_PORT       port of the host page allowed to embed the widget (the server
//                            runs with GUICHET_WIDGET_EMBED_ORIGINS='["http://127.0.0.1:PORT"]');
//                            without it the allowed-origin half of the widget check is skipped
//   GUICHET_CHROMIUM         browser executable (default: /usr/bin/chromium)
//
// Exits non-zero on any failed check, page error, unexpected console error
// (HTTP 401/404 noise excepted), CSP violation, or JavaScript dialog.

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);

const BASE = (process.env.GUICHET_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.GUICHET_TOKEN || '';
const ADMIN_TOKEN = process.env.GUICHET_ADMIN_TOKEN || '';
const PDF = path.resolve(root, process.env.GUICHET_UPLOAD_PDF || 'ingest/demo/documents/montpellier/2014-05-22-0000072128.pdf');
const UPLOAD_QUESTION = process.env.GUICHET_UPLOAD_QUESTION || 'Combien de Cartes Été Jeunes gratuites sont attribuées aux associations en 2014 ?';
const UPLOAD_EXPECT = process.env.GUICHET_UPLOAD_EXPECT || 'Carte Été Jeunes';
const ARTIFACTS = path.resolve(process.cwd(), process.env.GUICHET_ARTIFACTS || path.join(root, 'target', 'web-artifacts'));
const EMBED_PORT = Number(process.env.GUICHET_EMBED_PORT || 0);
const CHROMIUM = process.env.GUICHET_CHROMIUM || '/usr/bin/chromium';

if (!BASE || !TOKEN) {
  console.error('e2e: GUICHET_URL and GUICHET_TOKEN are required');
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

const CNI = "Quels documents pour refaire une carte d'identité ?";
const PERU = 'Quelle est la capitale du Pérou ?';
const LISTES = "Comment s'inscrire sur les listes électorales ?";
const XSS = '<img src=x onerror=alert(1)>';
const XSS_WORDS = 'fête des lumignons de Zorglubville';
const XSS_QUESTION = `Quand a lieu la ${XSS_WORDS} ${XSS} ?`;
const CORRECTED = "Pour refaire votre carte d'identité, prenez rendez-vous en mairie avec une photo d'identité de moins de 6 mois, un justificatif de domicile de moins d'un an et votre ancienne carte (réponse corrigée par la mairie, test e2e).";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// ------------------------------------------------------------------ harness

const results = [];
let problems = [];
const started = Date.now();

class CheckError extends Error {}

function check(cond, message) {
  if (!cond) throw new CheckError(message);
}

async function scenario(name, fn) {
  const t0 = Date.now();
  problems = [];
  let error = null;
  try {
    const note = await fn();
    if (problems.length) error = `browser problems:\n    ${problems.join('\n    ')}`;
    results.push({ name, ok: !error, note, error });
  } catch (e) {
    error = e instanceof CheckError ? e.message : (e.stack || String(e));
    if (problems.length) error += `\n    browser problems:\n    ${problems.join('\n    ')}`;
    results.push({ name, ok: false, error });
  }
  const r = results[results.length - 1];
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${name} (${secs} s)${r.note ? ` — ${r.note}` : ''}${r.error ? `\n    ${r.error}` : ''}`);
  return r.ok;
}

const EXPECTED_NOISE = /Failed to load resource: the server responded with a status of (401|404)\b/;

/** Records page errors, console errors, CSP violations and dialogs. */
function watch(page, label, extraAllowed = []) {
  page.on('pageerror', (e) => problems.push(`[${label}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (EXPECTED_NOISE.test(text) || extraAllowed.some((re) => re.test(text))) return;
    problems.push(`[${label}] console error: ${text}`);
  });
  page.on('dialog', async (d) => {
    problems.push(`[${label}] unexpected ${d.type()} dialog: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.setDefaultTimeout(30000);
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core; fails on serious or critical violations. */
async function axe(page, label) {
  // Evaluated through the DevTools protocol: the page's CSP (script-src
  // 'self') does not apply to it, so no inline <script> is injected.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    await page.evaluate(axeSource);
  }
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} :: ${n.failureSummary?.split('\n').slice(1, 3).join(' ')}`),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = violations.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`     axe ${label}: minor: ${minor.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
  check(!bad.length, `axe ${label}: ${bad.length} serious/critical violation(s):\n${bad.map((v) => `      ${v.id} (${v.impact}) ${v.help}\n        ${v.nodes.join('\n        ')}`).join('\n')}`);
  return violations.length;
}

// ------------------------------------------------------------------ citizen helpers

const bots = (page) => page.locator('#messages > li.msg.bot:not(.welcome)');

/** Asks a question through the page's form and waits for the answer. */
async function ask(page, question, { submit } = {}) {
  const before = await bots(page).count();
  if (submit) {
    await submit();
  } else {
    await page.getByLabel('Votre question').fill(question);
    await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
  }
  const msg = bots(page).nth(before);
  await msg.waitFor();
  await page.waitForFunction((i) => {
    const m = document.querySelectorAll('#messages > li.msg.bot:not(.welcome)')[i];
    return m && (m.dataset.state === 'done' || m.dataset.state === 'error');
  }, before, { timeout: 60000 });
  const state = await msg.getAttribute('data-state');
  check(state === 'done', `"${question}": the answer failed: ${await msg.innerText()}`);
  return msg;
}

async function newConversation(page) {
  await page.getByRole('button', { name: 'Nouvelle conversation' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#messages > li').length === 1);
}

async function citizenPage(context, label) {
  const page = watch(await context.newPage(), label);
  await page.goto(`${BASE}/`);
  await page.getByLabel('Votre question').waitFor();
  return page;
}

// ------------------------------------------------------------------ run

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--lang=fr-FR'],
});

const citizenCtx = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
const consoleCtx = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
let citizen = null;
let consolePage = null;
let config = {};
const shared = {};

try {
  await scenario('11 first load of / (bytes transferred)', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const page = watch(await ctx.newPage(), 'first-load');
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const reqs = new Map();
    let encoded = 0;
    let finished = 0;
    cdp.on('Network.responseReceived', (e) => {
      const enc = (e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || '');
      reqs.set(e.requestId, { url: e.response.url, gzip: /gzip|br|deflate/.test(enc) });
    });
    cdp.on('Network.loadingFinished', (e) => { encoded += e.encodedDataLength; finished += 1; });
    const decoded = [];
    page.on('response', async (r) => {
      try { decoded.push([r.url(), (await r.body()).length]); } catch { /* redirects */ }
    });
    await page.goto(`${BASE}/`, { waitUntil: 'networkidle' });
    await page.getByLabel('Votre question').waitFor();
    const total = decoded.reduce((a, [, n]) => a + n, 0);
    const gz = [...reqs.values()].filter((r) => r.gzip).length;
    await ctx.close();
    console.log(`     first load: ${encoded} bytes over ${finished} requests (${total} bytes uncompressed; ${gz} of ${reqs.size} responses gzip-compressed)`);
    for (const [u, n] of decoded) console.log(`       ${String(n).padStart(6)}  ${u.replace(BASE, '')}`);
    check(total < 60 * 1024, `first load is ${total} bytes uncompressed, over the 60 KB budget`);
    return `${encoded} bytes over ${finished} requests`;
  });

  await scenario('1 citizen: streamed answer with a clickable source', async () => {
    citizen = await citizenPage(citizenCtx, 'citizen');
    config = await citizen.evaluate(() => JSON.parse(document.getElementById('guichet-config').textContent));
    check(config.town && config.town.phone, 'the page has no configuration block with the town contact');
    // Records the states the next answer goes through.
    await citizen.evaluate(() => {
      window.__trace = [];
      const live = document.getElementById('live');
      new MutationObserver((records) => {
        // Records come in batches; an attribute's value at each record is
        // the old value of the next record on the same element.
        const next = new Map();
        const out = [];
        for (let i = records.length - 1; i >= 0; i -= 1) {
          const r = records[i];
          if (r.type === 'attributes') {
            const seen = next.get(r.target) || {};
            const value = r.attributeName in seen ? seen[r.attributeName] : r.target.getAttribute(r.attributeName);
            seen[r.attributeName] = r.oldValue;
            next.set(r.target, seen);
            if (r.attributeName === 'data-state') out.push(`state:${value}`);
            else if (r.attributeName === 'data-tokens' && value !== '0') out.push('token');
          } else if (r.target.classList?.contains('sources') && r.addedNodes.length) {
            out.push('sources');
          } else if (r.target === live && r.addedNodes.length) {
            out.push(`live:${r.addedNodes[0].textContent.slice(0, 30)}`);
          }
        }
        window.__trace.push(...out.reverse());
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-state', 'data-tokens'] });
    });
    const msg = await ask(citizen, CNI);
    check((await msg.getAttribute('data-status')) === 'answered', `status ${await msg.getAttribute('data-status')}, expected answered (the scenarios need a fresh knowledge base: a previous run leaves a curated answer)`);
    await citizen.waitForFunction(() => document.getElementById('live').textContent.startsWith("Réponse de l'assistant"));
    const trace = await citizen.evaluate(() => window.__trace);
    const iDone = trace.indexOf('state:done');
    check(trace.indexOf('state:streaming') >= 0 && trace.indexOf('state:streaming') < iDone, `the answer was not streamed: ${trace.join(' ')}`);
    check(trace.indexOf('token') >= 0 && trace.indexOf('token') < iDone, `no token arrived before done: ${trace.join(' ')}`);
    check(trace.indexOf('sources') >= 0 && trace.indexOf('sources') < iDone, `sources were not shown before the end: ${trace.join(' ')}`);
    check(Number(await msg.getAttribute('data-tokens')) > 0, 'no token counted');
    check(/carte d.identit/i.test(await msg.locator('.answer').innerText()), 'the answer does not speak of the identity card');
    const live = await citizen.locator('#live').innerText();
    check(live.length > 40, 'the live region was not filled with the answer');
    const cite = msg.locator('.answer a.cite').first();
    check(await cite.count() === 1, 'no [n] citation link in the answer');
    const target = (await cite.getAttribute('href')).slice(1);
    await cite.click();
    await citizen.waitForFunction((id) => document.activeElement?.id === id, target);
    const src = citizen.locator(`[id="${target}"]`);
    check(await src.evaluate((e) => e.classList.contains('flash')), 'the cited source is not highlighted');
    const link = src.locator('a.source-link');
    const href = await link.getAttribute('href');
    check(/^https:\/\/www\.service-public\.fr\//.test(href) || href.startsWith('/api/sources/'), `the source link points to ${href}`);
    check((await link.getAttribute('target')) === '_blank' && /noopener/.test(await link.getAttribute('rel')), 'external source links must open a new tab with rel=noopener');
    const allHrefs = await msg.locator('a.source-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    check(allHrefs.some((h) => h.includes('service-public.fr/particuliers/vosdroits/F21089')), `F21089 is not among the sources: ${allHrefs.join(', ')}`);
    shared.cniAnswer = await msg.innerText();
    await shot(citizen, 'citizen-answer-desktop');
    await citizen.setViewportSize(PHONE);
    await msg.scrollIntoViewIfNeeded();
    await shot(citizen, 'citizen-answer-phone');
    await citizen.setViewportSize(DESKTOP);
    return `${trace.filter((t) => t === 'token').length} token event(s) before done; source ${href}`;
  });

  await scenario('4 citizen: thumbs down with a comment', async () => {
    const msg = bots(citizen).last();
    const down = msg.getByRole('button', { name: 'Réponse pas utile' });
    await down.click();
    check((await down.getAttribute('aria-pressed')) === 'true', 'the thumbs-down button is not pressed');
    await msg.getByLabel(/Qu'est-ce qui n'allait pas/).fill("Il manque la liste complète des pièces à fournir.");
    const sent = citizen.waitForResponse((r) => r.url().endsWith('/api/feedback') && r.request().method() === 'POST');
    await msg.getByRole('button', { name: 'Envoyer mon avis' }).click();
    const r = await sent;
    check(r.status() === 204, `POST /api/feedback answered ${r.status()}`);
    await msg.getByText('Merci pour votre avis').waitFor();
  });

  await scenario('2 citizen: abstention with the town contact', async () => {
    await newConversation(citizen);
    const msg = await ask(citizen, PERU);
    const status = await msg.getAttribute('data-status');
    check(status === 'not_found' || status === 'out_of_scope', `status ${status}, expected an abstention`);
    const contact = msg.locator('.contact');
    await contact.waitFor();
    check((await contact.innerText()).includes(config.town.phone), `the contact box does not show the phone ${config.town.phone}`);
    check(await contact.getByRole('button', { name: 'Parler à un agent' }).isVisible(), 'no "Parler à un agent" button on the abstention');
    return `status ${status}`;
  });

  await scenario('2b citizen: refusals and stream errors are shown in French', async () => {
    const ctx = await browser.newContext({ viewport: PHONE, locale: 'fr-FR' });
    const page = watch(await ctx.newPage(), 'errors', [/status of (429|503)\b/]);
    const cap = `Cette conversation a atteint ${config.questions_per_conversation || 20} questions : commencez une nouvelle conversation pour continuer.`;
    const replies = [
      { status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'overloaded', message: 'Le service est très sollicité : merci de réessayer dans une minute.' } }) },
      { status: 200, contentType: 'text/event-stream', body: `event: sources\ndata: {"conversation_id":"e2e-errors","sources":[]}\n\nevent: error\ndata: {"error":{"code":"timeout","message":"La réponse a pris trop de temps : merci de réessayer."}}\n\n` },
      { status: 429, contentType: 'application/json', body: JSON.stringify({ error: { code: 'quota', message: cap } }) },
    ];
    await page.route('**/api/chat', (route) => route.fulfill(replies.shift()));
    await page.goto(`${BASE}/`);
    for (const expected of ['très sollicité', 'pris trop de temps', cap]) {
      await page.getByLabel('Votre question').fill('Bonjour');
      await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
      await page.locator('#messages > li.msg.bot.error', { hasText: expected }).waitFor();
    }
    // The cap is then enforced in the page too.
    await page.getByLabel('Votre question').fill('Encore une question');
    await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
    await page.locator('#ask-error', { hasText: 'commencez une nouvelle conversation' }).waitFor();
    check(await page.locator('#messages > li.msg.user').count() === 3, 'a question was sent past the cap');
    await ctx.close();
    return '503, SSE error and 429 cap shown';
  });

  await scenario('3 citizen: handoff request gets a reference', async () => {
    const msg = bots(citizen).last();
    await msg.getByRole('button', { name: 'Parler à un agent' }).click();
    await citizen.getByLabel('Nom', { exact: true }).fill('Camille Martin');
    await citizen.getByLabel('E-mail ou téléphone').fill('camille.martin@example.org');
    await citizen.getByLabel('Message', { exact: true }).fill("J'aimerais une réponse d'un agent, s'il vous plaît.");
    const sent = citizen.waitForResponse((r) => r.url().endsWith('/api/handoff'));
    await citizen.getByRole('button', { name: 'Envoyer la demande' }).click();
    const r = await sent;
    check(r.status() === 201, `POST /api/handoff answered ${r.status()}`);
    const { reference } = await r.json();
    const done = citizen.locator('#handoff-done');
    await done.waitFor();
    const text = await done.innerText();
    check(reference && text.includes(reference), `the reference ${reference} is not shown: ${text}`);
    shared.reference = reference;
    await shot(citizen, 'citizen-handoff-desktop');
    return `reference ${reference}`;
  });

  await scenario('9a axe-core on the citizen page (with a conversation)', async () => {
    const n = await axe(citizen, 'citizen page');
    // And the page restores the conversation after a reload.
    await citizen.reload();
    await bots(citizen).first().waitFor();
    await citizen.waitForFunction(() => document.querySelector('#messages > li.msg.bot[data-state="done"]'));
    check((await citizen.locator('#messages > li.msg.user').first().innerText()).includes('Pérou'), 'the conversation was not restored after a reload');
    await axe(citizen, 'citizen page (restored)');
    return `${n} minor finding(s); conversation restored after reload`;
  });

  await scenario('8 keyboard only: ask, rate, reach a source', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
    const page = watch(await ctx.newPage(), 'keyboard');
    await page.goto(`${BASE}/`);
    await page.getByLabel('Votre question').waitFor();
    const active = () => page.evaluate(() => {
      const a = document.activeElement;
      return { id: a?.id || '', tag: a?.tagName || '', label: a?.getAttribute('aria-label') || '', cls: a?.className || '', href: a?.getAttribute('href') || '', outline: a ? getComputedStyle(a).outlineStyle : '' };
    });
    let tabs = 0;
    while ((await active()).id !== 'question' && tabs < 12) { await page.keyboard.press('Tab'); tabs += 1; }
    check((await active()).id === 'question', `the question field was not reached with Tab (${tabs} presses)`);
    const msg = await ask(page, LISTES, {
      submit: async () => {
        await page.keyboard.type(LISTES);
        await page.keyboard.press('Enter');
      },
    });
    check((await active()).id === 'question', 'the focus left the question field after sending');
    let back = 0;
    while ((await active()).label !== 'Réponse utile' && back < 25) { await page.keyboard.press('Shift+Tab'); back += 1; }
    const up = await active();
    check(up.label === 'Réponse utile', 'the "Réponse utile" button was not reached with the keyboard');
    check(up.outline !== 'none', 'the focused thumbs button has no visible focus outline');
    const sent = page.waitForResponse((r) => r.url().endsWith('/api/feedback'));
    await page.keyboard.press('Enter');
    check((await sent).status() === 204, 'the thumbs up was not recorded');
    check((await msg.getByRole('button', { name: 'Réponse utile' }).getAttribute('aria-pressed')) === 'true', 'aria-pressed not set on the thumbs up');
    await msg.getByText('Merci pour votre avis').waitFor();
    back = 0;
    while (!/\bcite\b/.test((await active()).cls) && back < 60) { await page.keyboard.press('Shift+Tab'); back += 1; }
    check(/\bcite\b/.test((await active()).cls), 'no [n] citation reached with Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.classList.contains('src'));
    await page.keyboard.press('Tab');
    const link = await active();
    check(/source-link/.test(link.cls), `Tab after the citation did not reach the source link (${link.tag}.${link.cls})`);
    check(/^https:\/\//.test(link.href) || link.href.startsWith('/api/sources/'), `source link href ${link.href}`);
    check(link.outline !== 'none', 'the focused source link has no visible focus outline');
    await ctx.close();
    return `${tabs} Tab to the field; source ${link.href}`;
  });

  await scenario('5 référent: login, review the thumbs-down, corrected answer is served', async () => {
    consolePage = watch(await consoleCtx.newPage(), 'console');
    await consolePage.goto(`${BASE}/console`);
    const tokenField = consolePage.getByLabel("Jeton d'accès");
    await tokenField.fill('gui_not-a-valid-token');
    await consolePage.getByRole('button', { name: 'Se connecter' }).click();
    const err = consolePage.locator('#login-error');
    await consolePage.waitForFunction(() => document.getElementById('login-error').textContent.includes('Jeton refusé'));
    check((await err.getAttribute('role')) === 'alert' && await err.isVisible(), 'the refusal is not a visible alert');
    await shot(consolePage, 'console-login-refused');
    await tokenField.fill(TOKEN);
    await consolePage.getByRole('button', { name: 'Se connecter' }).click();
    await consolePage.getByRole('button', { name: 'Se déconnecter' }).waitFor();
    check(await consolePage.evaluate(() => localStorage.length === 0 && !location.href.includes('gui_')), 'the token must live in sessionStorage only');
    check(await consolePage.evaluate((t) => sessionStorage.getItem('guichet.token') === t, TOKEN), 'the token is not in sessionStorage');
    check(!(await consolePage.getByRole('navigation').getByRole('button', { name: 'Comptes' }).isVisible()), 'a référent sees the accounts tab');
    await consolePage.getByRole('navigation').getByRole('button', { name: 'Revue' }).click();
    const item = consolePage.locator('.review-item[data-why="thumbs_down"]', { hasText: CNI });
    await item.first().waitFor();
    check(await item.count() >= 1, 'the thumbs-down answer is not in the review queue');
    const card = item.first();
    check((await card.innerText()).includes('Il manque la liste complète'), "the citizen's comment is not shown");
    await shot(consolePage, 'console-review-desktop');
    await consolePage.setViewportSize(PHONE);
    await shot(consolePage, 'console-review-phone');
    await consolePage.setViewportSize(DESKTOP);
    await axe(consolePage, 'console revue');
    await card.getByRole('button', { name: 'Corriger' }).click();
    await card.getByLabel('Réponse corrigée').fill(CORRECTED);
    const curate = card.getByLabel('Servir comme réponse validée');
    check(await curate.isChecked(), '"Servir comme réponse validée" is not checked by default');
    await axe(consolePage, 'console revue (correction form)');
    const sent = consolePage.waitForResponse((r) => r.url().includes('/api/review/') && r.request().method() === 'POST');
    await card.getByRole('button', { name: 'Enregistrer la correction' }).click();
    const r = await sent;
    check(r.status() === 201, `POST /api/review answered ${r.status()}: ${await r.text()}`);
    check((await r.json()).curated_id, 'no curated answer was created');
    await card.waitFor({ state: 'detached' });
    // The citizen now gets the validated answer.
    await newConversation(citizen);
    const msg = await ask(citizen, CNI);
    check((await msg.getAttribute('data-status')) === 'curated', `status ${await msg.getAttribute('data-status')}, expected curated`);
    check(await msg.getByText('Réponse validée par la mairie').isVisible(), 'no "Réponse validée par la mairie" badge');
    check((await msg.locator('.answer').innerText()).includes('réponse corrigée par la mairie, test e2e'), 'the corrected text is not served');
    await shot(citizen, 'citizen-curated-desktop');
  });

  await scenario('6 référent: upload a PDF, the citizen gets an answer citing it', async () => {
    check(consolePage, 'no console page (scenario 5 failed)');
    await consolePage.getByRole('navigation').getByRole('button', { name: 'Documents' }).click();
    await consolePage.getByLabel('Ou choisissez des fichiers').setInputFiles(PDF);
    await consolePage.getByRole('button', { name: 'Envoyer les fichiers' }).click();
    const job = consolePage.locator('.job').first();
    await job.waitFor();
    await consolePage.locator('.job[data-status="done"]').first().waitFor({ timeout: 180000 });
    const status = await job.locator('li').first().getAttribute('data-status');
    check(['added', 'updated', 'unchanged'].includes(status), `the upload ended ${status}: ${await job.innerText()}`);
    await axe(consolePage, 'console documents');
    await shot(consolePage, 'console-documents-desktop');
    await newConversation(citizen);
    const msg = await ask(citizen, UPLOAD_QUESTION);
    const cited = await msg.locator('.src[data-cited="true"]').evaluateAll((lis) => lis.map((li) => ({
      text: li.innerText, href: li.querySelector('a.source-link')?.getAttribute('href') || '',
    })));
    const hit = cited.find((c) => c.text.toLowerCase().includes(UPLOAD_EXPECT.toLowerCase()));
    check(hit, `no cited source mentions "${UPLOAD_EXPECT}": ${cited.map((c) => c.text.split('\n')[1] || c.text).join(' | ') || 'none cited'}`);
    check(hit.href.startsWith('/api/sources/'), `the uploaded document's link is ${hit.href}`);
    const file = await citizen.request.get(`${BASE}${hit.href.split('#')[0]}`);
    check(file.status() === 200 && (file.headers()['content-type'] || '').includes('pdf'), `GET ${hit.href} answered ${file.status()} ${file.headers()['content-type']}`);
    return `${job ? status : ''}; cited ${hit.href}`;
  });

  await scenario('7 XSS probe: document and question with an <img onerror>', async () => {
    check(consolePage, 'no console page (scenario 5 failed)');
    const doc = `Fête des lumignons\n\nLa ${XSS_WORDS} ${XSS} a lieu chaque année le premier samedi d'octobre, place du Marché. Le défilé des lumignons commence à 20 heures devant la mairie.\n`;
    const jobs = await consolePage.locator('.job').count();
    await consolePage.getByLabel('Ou choisissez des fichiers').setInputFiles({ name: 'fete-lumignons.txt', mimeType: 'text/plain', buffer: Buffer.from(doc) });
    await consolePage.getByRole('button', { name: 'Envoyer les fichiers' }).click();
    await consolePage.waitForFunction((n) => document.querySelectorAll('.job').length > n, jobs);
    await consolePage.waitForFunction(() => document.querySelector('.job')?.dataset.status === 'done', null, { timeout: 120000 });
    const st = await consolePage.locator('.job').first().locator('li').first().getAttribute('data-status');
    check(st === 'added' || st === 'unchanged' || st === 'updated', `the probe document ended ${st}`);
    await newConversation(citizen);
    const msg = await ask(citizen, XSS_QUESTION);
    await citizen.waitForTimeout(300);
    const imgs = await citizen.evaluate(() => document.querySelectorAll('img[src="x"], img[onerror], [onerror]').length);
    check(imgs === 0, `${imgs} injected element(s) in the DOM`);
    const user = await citizen.locator('#messages > li.msg.user').last().innerText();
    check(user.includes(XSS), `the question is not shown literally: ${user}`);
    const status = await msg.getAttribute('data-status');
    const botText = await msg.innerText();
    if (status === 'answered') check(botText.includes(XSS), 'the answer or its sources do not show the literal markup');
    await shot(citizen, 'citizen-xss-desktop');
    // The console's lists show it as text too.
    await consolePage.getByLabel('Rechercher un document').fill('lumignons');
    await consolePage.getByRole('button', { name: 'Rechercher' }).click();
    await consolePage.locator('.doc-list tbody tr').first().waitFor();
    check(await consolePage.evaluate(() => document.querySelectorAll('img[src="x"], [onerror]').length) === 0, 'injected element in the console');
    // Replace the probe with a new version, then delete it (two-step confirmation).
    const row = consolePage.locator('.doc-list tbody tr', { hasText: 'fete-lumignons' }).first();
    const before = await consolePage.locator('.job').count();
    await row.locator('input.replace-file').setInputFiles({ name: 'fete-lumignons.txt', mimeType: 'text/plain', buffer: Buffer.from(`${doc}\nNouvelle version : le défilé part à 21 heures.\n`) });
    await consolePage.waitForFunction((n) => document.querySelectorAll('.job').length > n && document.querySelector('.job').dataset.status === 'done', before, { timeout: 120000 });
    const replaced = await consolePage.locator('.job').first().locator('li').first().getAttribute('data-status');
    check(replaced === 'updated', `replacing the document ended ${replaced}`);
    await consolePage.locator('.doc-list tbody tr', { hasText: 'fete-lumignons' }).first().getByRole('button', { name: /^Supprimer/ }).click();
    const gone = consolePage.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/documents/'));
    await consolePage.getByRole('button', { name: 'Confirmer la suppression' }).click();
    check((await gone).status() === 204, 'DELETE /api/documents failed');
    await consolePage.waitForFunction(() => ![...document.querySelectorAll('.doc-list tbody tr')].some((tr) => tr.textContent.includes('fete-lumignons')));
    return `status ${status}; literal markup shown as text; document replaced then deleted`;
  });

  await scenario('9b/10 console pages: axe-core and screenshots', async () => {
    check(consolePage, 'no console page (scenario 5 failed)');
    const nav = consolePage.getByRole('navigation');
    // Réponses validées: the corrected answer is listed.
    await nav.getByRole('button', { name: 'Réponses validées' }).click();
    await consolePage.locator('.curated-item', { hasText: 'test e2e' }).first().waitFor();
    await axe(consolePage, 'console réponses validées');
    await consolePage.getByRole('button', { name: 'Nouvelle réponse validée' }).click();
    await consolePage.getByLabel('Question', { exact: true }).waitFor();
    await axe(consolePage, 'console réponses validées (form)');
    await consolePage.getByRole('button', { name: 'Annuler' }).click();
    // Demandes: the citizen's ticket, resolved here.
    await nav.getByRole('button', { name: 'Demandes' }).click();
    const ticket = consolePage.locator('.handoff-item', { hasText: shared.reference || 'H-' }).first();
    await ticket.waitFor();
    check((await ticket.innerText()).includes('camille.martin@example.org'), "the ticket does not show the citizen's contact");
    await axe(consolePage, 'console demandes');
    await ticket.getByLabel('Réponse apportée au citoyen').fill('La capitale du Pérou est Lima.');
    const resolved = consolePage.waitForResponse((r) => r.url().includes('/resolve'));
    await ticket.getByRole('button', { name: 'Marquer comme résolue' }).click();
    check((await resolved).status() === 200, 'resolving the ticket failed');
    await consolePage.locator('.handoff-item[data-status="resolved"]', { hasText: shared.reference || 'H-' }).first().waitFor();
    // Statistiques.
    await nav.getByRole('button', { name: 'Statistiques' }).click();
    await consolePage.locator('.kpis').waitFor();
    const questions = await consolePage.locator('.kpi', { hasText: 'Questions' }).first().innerText();
    check(/\d/.test(questions) && !/^Questions\s*0$/.test(questions.trim()), `no questions counted: ${questions}`);
    check(await consolePage.locator('svg.bars rect.bar').count() > 0, 'no bar chart');
    await axe(consolePage, 'console statistiques');
    await shot(consolePage, 'console-stats-desktop');
    await consolePage.setViewportSize(PHONE);
    await shot(consolePage, 'console-stats-phone');
    await consolePage.setViewportSize(DESKTOP);
    // Évaluation: figures or the "no evaluation yet" message.
    await nav.getByRole('button', { name: 'Évaluation' }).click();
    await consolePage.locator('.view-evaluation .card').first().waitFor();
    await axe(consolePage, 'console évaluation');
    const hasReport = await consolePage.getByRole('button', { name: 'Télécharger le rapport' }).count();
    let evalNote = 'no evaluation run';
    if (hasReport) {
      const dl = consolePage.waitForEvent('download');
      await consolePage.getByRole('button', { name: 'Télécharger le rapport' }).click();
      const d = await dl;
      check(d.suggestedFilename().endsWith('.html'), `downloaded ${d.suggestedFilename()}`);
      evalNote = `report downloaded as ${d.suggestedFilename()}`;
    }
    await nav.getByRole('button', { name: 'Documents' }).click();
    await consolePage.locator('.doc-list table').waitFor();
    await axe(consolePage, 'console documents (list)');
    // Logout forgets the token.
    await consolePage.getByRole('button', { name: 'Se déconnecter' }).click();
    check(await consolePage.evaluate(() => sessionStorage.getItem('guichet.token') === null), 'the token is still stored after logout');
    await axe(consolePage, 'console login');
    return evalNote;
  });

  await scenario('13 console accounts (admin): create with a token shown once, edit, revoke', async () => {
    if (!ADMIN_TOKEN) return 'GUICHET_ADMIN_TOKEN unset: skipped';
    const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
    const page = watch(await ctx.newPage(), 'console-admin');
    await page.goto(`${BASE}/console#comptes`);
    await page.getByLabel("Jeton d'accès").fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    const view = page.locator('.view-comptes');
    await view.locator('table.accounts').waitFor();
    await page.getByRole('button', { name: 'Nouveau compte' }).click();
    await page.getByLabel('Nom', { exact: true }).fill('agent-e2e');
    await page.getByLabel('E-mail (facultatif)').fill('etat-civil@ville-test.fr');
    await page.getByLabel('Thèmes (facultatif)').fill('état civil\npasseport');
    await page.getByLabel("Date d'expiration (facultatif)").fill('2099-06-30');
    await axe(page, 'console comptes (form)');
    await page.getByRole('button', { name: 'Créer le compte' }).click();
    const shown = page.getByLabel("Jeton d'accès (affiché une seule fois)");
    await shown.waitFor();
    const newToken = await shown.inputValue();
    check(/^gui_[0-9a-f]{64}$/.test(newToken), `the new token looks like ${newToken.slice(0, 8)}…`);
    const me = await page.evaluate(async (t) => (await fetch('/api/me', { headers: { Authorization: `Bearer ${t}` } })).status, newToken);
    check(me === 200, `the new token is refused (${me})`);
    const row = view.locator('tr[data-name="agent-e2e"]');
    await row.waitFor();
    const text = await row.innerText();
    check(text.includes('etat-civil@ville-test.fr') && text.includes('passeport') && text.includes('2099'), `the row shows: ${text}`);
    await axe(page, 'console comptes (list and token)');
    await shot(page, 'console-accounts-desktop');
    // Edit: admin role; the row says so.
    await row.getByRole('button', { name: /Modifier/ }).click();
    await page.getByLabel('Rôle').selectOption('admin');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await view.locator('tr[data-name="agent-e2e"]', { hasText: 'Administrateur' }).waitFor();
    // Revoke, confirmed: the token stops working and the row goes.
    await view.locator('tr[data-name="agent-e2e"]').getByRole('button', { name: /Révoquer/ }).click();
    await page.getByRole('button', { name: 'Confirmer la révocation' }).click();
    await view.locator('tr[data-name="agent-e2e"]').waitFor({ state: 'detached' });
    const after = await page.evaluate(async (t) => (await fetch('/api/me', { headers: { Authorization: `Bearer ${t}` } })).status, newToken);
    check(after === 401, `the revoked token still answers ${after}`);
    await ctx.close();
    return 'created, shown once, edited, revoked';
  });

  await scenario('12 widget: allowed host embeds it, other hosts cannot', async () => {
    const hostPage = (port) => `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Ville de test (${port})</title></head>` +
      `<body><main><h1>Site de la ville</h1><p>Bienvenue sur le site de la commune.</p></main>` +
      `<script src="${BASE}/widget.js" defer></script></body></html>`;
    const serve = (port, csp) => new Promise((resolve, reject) => {
      const s = http.createServer((req, res) => {
        const headers = { 'content-type': 'text/html; charset=utf-8' };
        if (csp) headers['content-security-policy'] = csp;
        res.writeHead(req.url === '/' ? 200 : 404, headers);
        res.end(req.url === '/' ? hostPage(s.address().port) : '');
      });
      s.on('error', reject);
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
    const notes = [];
    // The CSP the widget documents for the town's site.
    const townCsp = `default-src 'none'; script-src ${BASE}; frame-src ${BASE}; style-src ${BASE}; img-src 'self'`;
    if (EMBED_PORT) {
      const server = await serve(EMBED_PORT, townCsp);
      try {
        const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
        const page = watch(await ctx.newPage(), 'widget-host');
        await page.goto(`http://127.0.0.1:${EMBED_PORT}/`);
        const button = page.getByRole('button', { name: "Ouvrir l'assistant de la mairie" });
        await button.waitFor();
        check((await button.getAttribute('aria-expanded')) === 'false', 'aria-expanded should be false when closed');
        await button.click();
        const frameEl = page.locator('iframe[title="Assistant de la mairie"]');
        await frameEl.waitFor();
        check((await page.locator('.guichet-w-button').getAttribute('aria-expanded')) === 'true', 'aria-expanded should be true when open');
        const frame = page.frameLocator('iframe[title="Assistant de la mairie"]');
        await frame.getByLabel('Votre question').fill(LISTES);
        await frame.getByLabel('Votre question').press('Enter');
        await frame.locator('#messages > li.msg.bot[data-state="done"]').first().waitFor({ timeout: 60000 });
        check(await frame.getByRole('button', { name: "Fermer l'assistant" }).isVisible(), 'no close button in the embedded frame');
        await shot(page, 'widget-open-desktop');
        await frame.getByLabel('Votre question').press('Escape');
        await frameEl.waitFor({ state: 'hidden' });
        check(await page.evaluate(() => document.activeElement?.classList.contains('guichet-w-button')), 'focus did not return to the widget button after Escape');
        await page.keyboard.press('Enter');
        await frameEl.waitFor({ state: 'visible' });
        await frame.getByRole('button', { name: "Fermer l'assistant" }).click();
        await frameEl.waitFor({ state: 'hidden' });
        check(await page.evaluate(() => document.activeElement?.classList.contains('guichet-w-button')), 'focus did not return to the widget button after the close button');
        await page.setViewportSize(PHONE);
        await page.keyboard.press('Enter');
        await frameEl.waitFor({ state: 'visible' });
        await shot(page, 'widget-open-phone');
        await ctx.close();
        notes.push(`shown on 127.0.0.1:${EMBED_PORT}`);
      } finally {
        server.close();
      }
    } else {
      notes.push('GUICHET_EMBED_PORT unset: allowed-origin check skipped');
    }
    const other = await serve(0);
    try {
      const port = other.address().port;
      const ctx = await browser.newContext({ viewport: DESKTOP });
      const page = watch(await ctx.newPage(), 'widget-other-host', [/Refused to (frame|display)/i, /frame-ancestors/]);
      const warnings = [];
      page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForLoadState('load');
      await page.waitForTimeout(800);
      check(await page.locator('.guichet-w-button, iframe').count() === 0, `the widget appeared on a host that is not allowed (127.0.0.1:${port})`);
      check(warnings.some((w) => w.includes("n'est pas autorisé")), 'no console warning from the refused widget');
      // Forcing the frame: frame-ancestors refuses it.
      await page.evaluate((src) => {
        const f = document.createElement('iframe');
        f.src = src;
        f.title = 'forcé';
        document.body.append(f);
      }, `${BASE}/?embed=1`);
      await page.waitForTimeout(1500);
      let loaded = false;
      for (const f of page.frames()) {
        if (f === page.mainFrame()) continue;
        loaded = loaded || await f.evaluate(() => !!document.getElementById('question')).catch(() => false);
      }
      check(!loaded, 'the citizen page loaded in a frame of a host that is not allowed');
      await ctx.close();
      notes.push(`refused on 127.0.0.1:${port} (no button, frame blocked)`);
    } finally {
      other.close();
    }
    return notes.join('; ');
  });
} finally {
  await browser.close().catch(() => {});
}

const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length}/${results.length} scenarios passed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${ARTIFACTS}`);
if (failed.length) {
  console.log(`failed: ${failed.map((r) => r.name).join('; ')}`);
  process.exit(1);
}
