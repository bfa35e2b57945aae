/*
 * Guichet — the widget loader a town puts on its web site:
 *
 *   <script src="https://GUICHET/widget.js" defer></script>
 *
 * It adds a round button (bottom right) that opens the assistant in a
 * panel holding an <iframe src="https://GUICHET/?embed=1">. It runs only
 * on the Guichet server's own origin or on the sites listed in
 * `widget.embed_origins` (the server also lists them in the frame's
 * `frame-ancestors` policy, so no other site can frame it).
 *
 * No inline script or style is added to the host page. If the town's site
 * has a Content-Security-Policy, it needs (ORIGIN = the Guichet server):
 *
 *   script-src ORIGIN; frame-src ORIGIN; style-src ORIGIN
 *
 * (the styles come from ORIGIN/assets/widget-embed.css).
 */
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin;
  try {
    origin = new URL(script.src, location.href).origin;
  } catch (e) {
    return;
  }
  // Replaced by the server with the JSON array of allowed origins.
  var allowed = "__GUICHET_ORIGINS__";
  if (!Array.isArray(allowed)) allowed = [];
  if (location.origin !== origin && allowed.indexOf(location.origin) < 0) {
    console.warn('Guichet : ce site (' + location.origin + ") n'est pas autorisé à afficher l'assistant ; ajoutez-le à widget.embed_origins.");
    return;
  }
  // Replaced by the server with the town's colour (widget.color).
  var color = "__GUICHET_COLOR__";
  if (window.__guichetWidget) return;
  window.__guichetWidget = true;

  var SVG = 'http://www.w3.org/2000/svg';
  var PATHS = {
    chat: 'M20 2H4c-1.1 0-1.99.9-1.99 2L2 22l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2zM6 9h12v2H6V9zm8 5H6v-2h8v2zm4-6H6V6h12v2z',
    close: 'M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z'
  };

  function iconOf(name) {
    var s = document.createElementNS(SVG, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    var p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', PATHS[name]);
    s.appendChild(p);
    return s;
  }

  function start() {
    var link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = origin + '/assets/widget-embed.css';

    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'guichet-w-button';
    button.setAttribute('aria-label', "Ouvrir l'assistant de la mairie");
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-controls', 'guichet-w-panel');
    button.appendChild(iconOf('chat'));
    // Set through the CSSOM, which a host page's CSP allows.
    if (/^#[0-9a-fA-F]{6}$/.test(color)) button.style.setProperty('--guichet-color', color);

    var panel = document.createElement('div');
    panel.id = 'guichet-w-panel';
    panel.className = 'guichet-w-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', 'Assistant de la mairie');
    panel.hidden = true;

    var frame = null;
    var loaded = false;

    function open() {
      if (!frame) {
        frame = document.createElement('iframe');
        frame.src = origin + '/?embed=1';
        frame.title = 'Assistant de la mairie';
        frame.className = 'guichet-w-frame';
        frame.setAttribute('allow', 'clipboard-write');
        frame.addEventListener('load', function () { loaded = true; });
        panel.appendChild(frame);
      }
      panel.hidden = false;
      frame.focus();
      // The frame's page then puts the focus in its question field.
      if (loaded && frame.contentWindow) frame.contentWindow.postMessage({ guichet: 'focus' }, origin);
      button.setAttribute('aria-expanded', 'true');
      button.classList.add('guichet-w-open');
      button.replaceChild(iconOf('close'), button.firstChild);
      button.setAttribute('aria-label', "Fermer l'assistant de la mairie");
    }

    function close() {
      if (panel.hidden) return;
      panel.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      button.classList.remove('guichet-w-open');
      button.replaceChild(iconOf('chat'), button.firstChild);
      button.setAttribute('aria-label', "Ouvrir l'assistant de la mairie");
      button.focus();
    }

    button.addEventListener('click', function () {
      if (panel.hidden) open();
      else close();
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && !panel.hidden) close();
    });
    window.addEventListener('message', function (e) {
      if (e.origin === origin && e.data && e.data.guichet === 'close') close();
    });

    // The button appears once its stylesheet is there (no unstyled flash).
    var shown = false;
    function show() {
      if (shown) return;
      shown = true;
      document.body.appendChild(panel);
      document.body.appendChild(button);
    }
    link.addEventListener('load', show);
    link.addEventListener('error', function () {
      console.warn('Guichet : feuille de style du widget introuvable (' + link.href + ').');
      // Minimal placement through CSSOM (allowed by style-src policies).
      button.style.position = 'fixed';
      button.style.right = '1rem';
      button.style.bottom = '1rem';
      button.style.zIndex = '2147483000';
      panel.style.position = 'fixed';
      panel.style.right = '1rem';
      panel.style.bottom = '5rem';
      panel.style.zIndex = '2147483000';
      show();
    });
    document.head.appendChild(link);
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
