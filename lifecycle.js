// The page lifecycle of a verified Product Fruits user, once per document.
// Every snippet pushes its page's data onto window.__productfruitsGo (an
// anonymous page pushes 0), then loads this runtime, which acts on the
// latest push made before it ran and on every push after:
//   a user, first in the document: init the product and append its
//     loader, as the npm package (product-fruits 1.1.0, index.js) does on
//     every init;
//   the same username: the fresher user object to identifyUser once the
//     product is ready (an older or identical one changes nothing);
//   another username: destroy, then init with a fresh loader element (the
//     npm package's only re-init path);
//   0 (e.g. after logout under Turbo or htmx): destroy.
// It knows the product only by its documented contract: the
// productfruits_ready event, the productFruitsReady callback and the
// productFruitsIsReady flag, the load and error events of the loader it
// appended, identifyUser and services.destroy. With a TTL it renews the
// HMAC from the identity endpoint before it expires. Each action, once
// done, is announced as a "productfruits:identity" window event.
// runtime.go serves it at <identity endpoint>/lifecycle.<version>.js, or
// inline where the endpoint has no URL, with LOADER_URL replaced by the
// loader's URL as a JSON string and comment lines and indentation dropped:
// the code must hold neither "</" nor "//" nor non-ASCII.
(function (w, d, LOADER) {
  var q = w.__productfruitsGo || [];
  if (q.installed) return;
  // The loader this runtime appends runs under the page's nonce, which
  // this script's own element carries.
  var me = d.currentScript, nonce = (me && me.nonce) || '';
  var MAXDELAY = 2147483647;
  // READY bounds the wait for an init to get ready: the loader and the
  // product's check of the HMAC take seconds on a slow link, but past ten
  // a rejected HMAC or a blocked loader is far likelier, and a logout or a
  // switch should not wait longer.
  var READY = 10000;

  // What this document should run: conf, the latest page data; cur, the
  // latest user object, from a page or the endpoint (null: nobody); lang,
  // the language its username came with (the page's, or the endpoint's
  // Content-Language), kept while the username stays: identifyUser takes
  // none.
  var conf = null, cur = null, lang = null;
  // The product as this document drives it.
  var pf = {
    // the username of the last init not destroyed since
    running: null,
    // the user object the product has for it
    given: null,
    // that init's entry in the queue
    cmd: null,
    // 'wait' until the product is ready, then 'ready', or 'stalled' once
    // READY passed or the loader failed
    phase: '',
    // productFruitsIsReady was true before the init
    flagWas: false,
    // the READY timer
    bound: 0,
    // the last loader element appended
    el: null,
    // what became of it: 0 loading, 1 ran, 2 failed; -1 none appended yet
    // (the page's own loader may read the queue); -2 none could be made
    // (nothing reads the queue)
    ran: -1,
    // our Trusted Types policy, once made
    policy: null
  };
  // Renewal of the HMAC, with a TTL.
  var renewal = {
    // the one renewal timer
    timer: 0,
    // when cur arrived
    last: 0,
    // failures in a row, and whether they were warned of
    fails: 0,
    warned: false,
    // takes so far: an answer to a fetch begun before the latest is dropped
    gen: 0
  };
  // Warnings given once per document.
  var warned = { fault: false, out: false, ready: false };
  var chan = null, home = runtimeHome();

  // guard wraps every way in (a push, a fetch's answer, an event): what
  // throws is reported once, and the next push finds the runtime working.
  function guard(fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (e) { fault(e); }
    };
  }
  function warn(m) { console.warn('productfruits: ' + m); }
  function fault(e) {
    if (warned.fault) return;
    warned.fault = true;
    warn('the lifecycle runtime failed (' + ((e && e.message) || e) + '); later pages still reach it');
  }

  function emit(action, u) {
    try { w.dispatchEvent(new CustomEvent('productfruits:identity', { detail: { action: action, user: u } })); } catch (e) {}
  }
  function expiration(u) { return (u && u.hmac && u.hmac.expiration) || ''; }
  // runtimeHome returns the identity endpoint's URL, which only pages of
  // older versions name (conf.identity), as this runtime's own URL implies
  // it: <endpoint>/lifecycle.<v>.js, or <page>?productfruits=lifecycle.<v>.js
  // beside <page>?productfruits=identity. Read from the attribute and
  // resolved against the page, never a <base href>.
  function runtimeHome() {
    try {
      var u = new URL(me.getAttribute('src'), location.href);
      if (/^[?]productfruits=lifecycle[.][0-9a-f]+[.]js$/.test(u.search)) { u.search = '?productfruits=identity'; return u.href; }
      if (u.search || !/[/]lifecycle[.][0-9a-f]+[.]js$/.test(u.pathname)) return '';
      u.pathname = u.pathname.replace(/[/][^/]*$/, '');
      return u.href;
    } catch (e) {
      return '';
    }
  }
  function endpoint() {
    return conf && conf.identity ? new URL(conf.identity, location.href).href : home;
  }

  // pageLoader reports a script with the loader's URL that this runtime
  // did not append: the page loads the product itself.
  function pageLoader() {
    var s = d.getElementsByTagName('script');
    for (var i = 0; i < s.length; i++) if (s[i] !== pf.el && (s[i].getAttribute('src') === LOADER || s[i].src === LOADER)) return true;
    return false;
  }
  // load appends a loader element for the init just queued, unless the
  // last one is still loading (it will read this init) or, for the first
  // init, the page holds its own. It never throws: an init no loader
  // reads stays queued, and a logout takes it back.
  function load() {
    if (pf.ran === 0 || (pf.ran === -1 && pageLoader())) return;
    var mine = guard(loaderElement)();
    pf.el = mine;
    pf.ran = mine ? 0 : -2;
    if (!mine) return;
    mine.addEventListener('load', guard(function () { if (pf.el === mine) pf.ran = 1; }));
    mine.addEventListener('error', guard(function () {
      if (pf.el !== mine) return;
      pf.ran = 2;
      stall('its loader ' + LOADER + ' failed to load');
    }));
    (d.head || d.documentElement).appendChild(mine);
  }
  // loaderElement returns the loader's script element, or null when the
  // page's Trusted Types let none be made (warned once). Under a policy
  // that requires them, the page carries the element as markup in a
  // template: a copy of it runs once inserted. Otherwise a plain src, and
  // if Trusted Types refuse that, a policy of ours that passes the
  // loader's URL only.
  function loaderElement() {
    var tpl = d.querySelector('template[data-productfruits="loader"]');
    var t = tpl && tpl.content ? tpl.content.querySelector('script') : null;
    if (t) return d.importNode(t, true);
    var s = d.createElement('script');
    s.async = true;
    if (nonce) s.setAttribute('nonce', nonce);
    s.setAttribute('data-productfruits', '');
    try {
      s.src = LOADER;
    } catch (e) {
      var tt = w.trustedTypes;
      if (!tt || !tt.createPolicy) throw e;
      try {
        pf.policy = pf.policy || tt.createPolicy('productfruits', { createScriptURL: function (u) {
          if (u === LOADER) return u;
          throw new TypeError('productfruits: unexpected script URL');
        } });
        s.src = pf.policy.createScriptURL(LOADER);
      } catch (e2) {
        if (!warned.ready) warn('the page\'s trusted-types allow no policy named productfruits (' + (e2.message || e2) + '): no loader appended; add productfruits there, or let the middleware see the policy header (it then emits the loader template)');
        warned.ready = true;
        return null;
      }
    }
    return s;
  }
  // htmx's head-support extension takes out of the head what the next
  // page's head lacks, and puts it back when a page holds it again. Our
  // elements with a src stay (a loader put back would run again); an
  // anonymous page's script that take() removed is not removed again
  // (removeChild would throw).
  d.addEventListener('htmx:removingHeadElement', guard(function (e) {
    var x = e.detail && e.detail.headElement;
    if (!x || !x.dataset || x.dataset.productfruits === undefined) return;
    if (x.src || x.parentNode !== d.head) e.preventDefault();
  }));

  // phaseTo moves the init to phase p; any move ends the wait for ready.
  function phaseTo(p) {
    pf.phase = p;
    clearTimeout(pf.bound);
  }
  // ready: the product says the init is done, by the event, the callback
  // or the flag turning true after the init.
  function ready() {
    if (pf.phase !== 'wait' && pf.phase !== 'stalled') return;
    phaseTo('ready');
    sync();
  }
  w.addEventListener('productfruits_ready', guard(ready));
  function hookCallback() {
    var prev = w.productFruitsReady;
    if (prev && prev.productfruits) return;
    var f = w.productFruitsReady = function () {
      guard(ready)();
      if (typeof prev === 'function') return prev.apply(this, arguments);
    };
    f.productfruits = true;
  }
  // stall ends the wait for an init (READY passed, or its loader failed):
  // later actions go ahead as if it had failed for good.
  function stall(why) {
    if (pf.phase !== 'wait') return;
    if (!pf.flagWas && w.productFruitsIsReady === true) { ready(); return; }
    phaseTo('stalled');
    if (!warned.ready) {
      warned.ready = true;
      warn('not ready for ' + pf.running + ' (' + why + '): a rejected HMAC (wrong secret, or another username signed than sent)? a blocked loader (CSP, an extension, the network)? Later actions go ahead. Check: pfhmac doctor ' + location.href);
    }
    sync();
  }

  function init(u) {
    (w.productFruits = w.productFruits || {}).scrV = '2';
    pf.running = u.username;
    pf.given = u;
    pf.cmd = ['init', conf.workspace, lang || conf.language, u];
    if (conf.options) pf.cmd.push(conf.options);
    phaseTo('wait');
    pf.flagWas = w.productFruitsIsReady === true;
    hookCallback();
    pf.bound = setTimeout(guard(function () { stall('not ready ' + READY / 1000 + ' s after init'); }), READY);
    (w.$productFruits = w.$productFruits || []).push(pf.cmd);
    load();
  }
  // queued returns where cmd sits in the queue while no loader has read
  // it; -1 when one may have (only ready signals tell the state then).
  function queued() {
    var a = w.$productFruits;
    if (!pf.cmd || pf.ran === 1 || pf.ran === -1 || !a || typeof a.indexOf !== 'function') return -1;
    return a.indexOf(pf.cmd);
  }
  // stop takes back the init if no loader read it, else destroys.
  function stop() {
    var a = w.$productFruits, i = queued(), api = w.productFruits;
    if (i >= 0) a.splice(i, 1);
    else if (api && api.services && api.services.destroy) api.services.destroy();
    pf.running = pf.given = pf.cmd = null;
    phaseTo('');
  }
  // sync brings the product in line with cur and announces what it did:
  // init, identifyUser with a fresher object, or destroy (then init for
  // another user). While an init waits, what no loader read yet is changed
  // in the queue, and the rest waits.
  function sync() {
    // The flag may turn true with no event.
    if (pf.phase === 'wait' && !pf.flagWas && w.productFruitsIsReady === true) phaseTo('ready');
    var was = pf.given, api = w.productFruits || {};
    if (pf.running && pf.ran !== 2 && queued() >= 0) {
      if (!cur) { stop(); emit('destroy', was); return; }
      if (pf.given === cur) return;
      var other = cur.username !== pf.running;
      pf.cmd[2] = lang || conf.language;
      pf.cmd[3] = pf.given = cur;
      pf.running = cur.username;
      emit(other ? 'switch' : 'renew', cur);
      return;
    }
    if (pf.phase === 'wait') return;
    // identifyUser is for a product that is ready: a stalled one gets a
    // fresh object by a new init.
    if (pf.running && (!cur || cur.username !== pf.running || (pf.phase !== 'ready' && pf.given !== cur))) stop();
    if (!cur) { if (was) emit('destroy', was); return; }
    if (!pf.running) { init(cur); emit(!was ? 'init' : was.username === cur.username ? 'renew' : 'switch', cur); return; }
    if (pf.given !== cur && api.identifyUser) { pf.given = cur; api.identifyUser(cur); emit('renew', cur); }
  }
  // take acts on a page's (or the endpoint's) user object, in language l;
  // null: nobody. quiet: a broadcast made it learn this, not told again.
  function take(u, at, l, quiet) {
    renewal.gen++;
    if (!u) {
      clearTimeout(renewal.timer);
      if (cur) { cur = null; if (!quiet) tell('out'); remember(null); sync(); }
      return;
    }
    // Turbo keeps head scripts and runs only new ones: the next anonymous
    // page's script must look new again.
    var old = d.head ? d.head.getElementsByTagName('script') : [];
    for (var i = old.length - 1; i >= 0; i--) if (old[i].dataset.productfruits === 'anonymous') old[i].parentNode.removeChild(old[i]);
    if (cur && cur.username === u.username && (expiration(u) < expiration(cur) || JSON.stringify(u) === JSON.stringify(cur))) return;
    var other = !cur || cur.username !== u.username;
    if (other) lang = l || conf.language;
    cur = u;
    renewal.last = at;
    renewal.fails = 0;
    plan(at + renewAfter() - Date.now());
    guard(sync)();
    // After the loader is appended: sessionStorage's first read may wait
    // on the browser.
    if (other && remember(u.username) && !quiet) tell('user');
  }
  // remember keeps the username this tab last ran in sessionStorage, which
  // outlives its documents (a logout's anonymous page runs no runtime),
  // and reports whether it changed.
  function remember(name) {
    var s = null, prior = null, key = 'productfruits.user';
    try { s = w.sessionStorage; prior = s.getItem(key); } catch (e) {}
    try { if (name) s.setItem(key, name); else s.removeItem(key); } catch (e) {}
    return prior !== name;
  }
  // Tabs in step: a logout or another user seen here is told, without who,
  // to the origin's other tabs; one that runs the product asks the
  // endpoint who it is now (with no endpoint, it stops).
  function tell(what) {
    try { if (chan) chan.postMessage(what); } catch (e) {}
  }
  function heard(e) {
    if (!cur || (e.data !== 'out' && e.data !== 'user')) return;
    var stopHere = function () { take(null, 0, null, true); };
    if (!endpoint()) { stopHere(); return; }
    renew(stopHere, true);
  }
  try { chan = new BroadcastChannel('productfruits'); chan.onmessage = guard(heard); } catch (e) {}

  function renewAfter() { return conf.ttl - Math.min(conf.ttl / 5, 300000); }
  // plan sets the one renewal timer, within what setTimeout accepts.
  function plan(ms) {
    clearTimeout(renewal.timer);
    if (!cur || !conf.ttl || !endpoint()) return;
    renewal.timer = setTimeout(guard(renew), Math.min(Math.max(ms, 0), MAXDELAY));
  }
  function due() { return cur && conf.ttl && endpoint() && Date.now() >= renewal.last + renewAfter(); }
  // renew fetches a fresh user object; fallback, if given, runs when none
  // comes. The endpoint is resolved against the page, not a <base href>;
  // redirects are not followed: a login wall's redirect, like its HTML
  // page or a 401, is no user, so signed out.
  function renew(fallback, quiet) {
    var g = renewal.gen, url = endpoint();
    // live wraps a step of this fetch, dropped once a later take came.
    function live(fn) {
      return guard(function (x) { if (g === renewal.gen) fn(x); });
    }
    var failed = live(function (why) {
      if (typeof fallback === 'function') { fallback(); return; }
      renewal.fails++;
      if (!renewal.warned && renewal.fails > 1) {
        renewal.warned = true;
        warn('renewing the identity keeps failing (' + why + ') at ' + url);
      }
      if (Date.now() < renewal.last + conf.ttl) {
        renewal.timer = setTimeout(guard(renew), Math.min(500 * Math.pow(2, renewal.fails - 1), 30000));
      } else {
        warn('gave up renewing the identity at ' + url + ' (' + why + '); the HMAC has expired');
      }
    });
    var out = live(function (what) {
      if (!warned.out) {
        warned.out = true;
        warn('the identity endpoint at ' + url + ' answered ' + what + ', no user: taken as signed out (a login wall in front of it?)');
      }
      take(null, 0, null, quiet);
    });
    fetch(url, { credentials: 'same-origin', cache: 'no-store', redirect: 'manual', headers: { Accept: 'application/json' } }).then(live(function (r) {
      if (r.status === 401) { take(null, 0, null, quiet); return; }
      if (r.type === 'opaqueredirect') { out('a redirect (response type opaqueredirect)'); return; }
      if (!r.ok) { failed('status ' + r.status); return; }
      var type = (r.headers && r.headers.get && r.headers.get('Content-Type')) || '';
      if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) { out('status ' + r.status + ' with Content-Type ' + (type || '(none)')); return; }
      r.json().then(live(function (u) {
        if (!u || typeof u !== 'object' || typeof u.username !== 'string' || !u.username) { out('status ' + r.status + ' with JSON that is no user object'); return; }
        renewal.warned = false;
        take(u, Date.now(), language(r), quiet);
      }), function (e) {
        if (e && e.name === 'SyntaxError') out('status ' + r.status + ' with a body that is not valid JSON');
        else failed((e && e.message) || String(e));
      });
    }), function (e) {
      failed((e && e.message) || String(e));
    });
  }
  // language returns the two-letter code the endpoint's answer names, if any.
  function language(r) {
    var l = r.headers && r.headers.get ? r.headers.get('Content-Language') : null;
    return /^[a-z]{2}$/.test(l || '') ? l : null;
  }
  // shownFromCache reports a document not fresh from the network: its
  // HMAC may have expired while it sat in the cache.
  function shownFromCache() {
    var n = w.performance && performance.getEntriesByType && performance.getEntriesByType('navigation')[0];
    return !!n && (n.type === 'back_forward' || n.transferSize === 0);
  }

  function push(data) {
    if (!data) { take(null); return; }
    conf = data;
    take(data.user, Date.now(), data.language);
  }
  // A page back from the back/forward cache, or a hidden tab shown again,
  // renews at once if due.
  w.addEventListener('pageshow', guard(function (e) { if (e.persisted && due()) plan(0); }));
  d.addEventListener('visibilitychange', guard(function () { if (!d.hidden && due()) plan(0); }));
  var first = q.length ? q[q.length - 1] : null;
  // The page's data script runs before this element can: with no push, a
  // policy blocked it (the server logs which one) or it was left out.
  if (!q.length) warn('the page data script did not run before the runtime (a Content-Security-Policy without its nonce?); check: pfhmac doctor ' + location.href);
  w.__productfruitsGo = { installed: 1, push: guard(push) };
  guard(function () {
    if (first && first.ttl && (first.identity || home) && shownFromCache()) {
      // The page's own object may have expired: ask for a fresh one first.
      conf = first;
      renew(function () { push(first); });
    } else if (first) {
      push(first);
    }
  })();
})(window, document, LOADER_URL);
