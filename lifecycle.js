// The page lifecycle of a verified Product Fruits user, installed once per
// document. Every snippet pushes its page's data onto
// window.__productfruitsGo (an anonymous page's one-line script pushes 0),
// then loads this runtime, which acts on the latest push made before it
// ran and on every push after:
//   a user, first time in the document: init the product and append the
//     product's loader, as the product's npm package (product-fruits
//     1.1.0, index.js) does on every init;
//   the same username again: hand the fresher user object to identifyUser
//     once the product is ready (an older or identical one changes nothing);
//   another username: destroy the product, then init it for that user
//     with a fresh loader element (the npm package's only re-init path);
//   0 (an anonymous page, e.g. after logout under Turbo or htmx): destroy.
// It knows the product's state only from the documented contract: the
// productfruits_ready event, the productFruitsReady callback and the
// productFruitsIsReady flag after its init, the load and error events of
// the loader element it appended, identifyUser and services.destroy. An
// init not ready within READY ms stops holding later actions back (one
// warning per document). With a TTL it renews the HMAC from the identity
// endpoint before expiry, with one timer per document, and again at once
// when a page comes back from the back/forward cache or is shown from the
// HTTP cache. An answer that is not a signed-in user (401, the app's login
// wall redirecting or answering HTML, a body that is no user object) means
// signed out. Tabs of one origin keep in step: a tab that sees a logout
// or another user says only "out" or "user" on a BroadcastChannel, and the
// others ask the identity endpoint who they are now. Each action is
// announced, once done, as a "productfruits:identity" window event. An
// init takes the language of whatever brought its user: the page's data,
// or the endpoint's Content-Language; the same user keeps the language it
// was inited with (identifyUser takes none).
// renewal.go serves this file at the identity endpoint's path plus
// "/lifecycle.<version>.js", with LOADER_URL replaced by the product's
// loader URL as a JSON string; a page whose endpoint has no URL carries it
// inline. Lines are kept, comments and indentation are dropped, so it must
// hold neither "</" nor non-ASCII.
// Every way in (a push, a fetch's answer, an event) is guarded: whatever
// throws is reported once and the next push finds the runtime working.
(function (w, d, LOADER) {
var q = w.__productfruitsGo || [];
if (q.installed) return;
// The loader this runtime appends runs under the page's nonce, which
// this script's own element carries.
var me = d.currentScript, nonce = (me && me.nonce) || '';
var MAXDELAY = 2147483647;
// READY bounds the wait for an init to get ready. The product's loader is
// one async script from its CDN, then a check of the HMAC at its servers:
// two round trips and a script, seconds on a slow mobile link. Past ten
// seconds it is far likelier that it never gets ready (a rejected HMAC,
// a blocked loader) than that it is slow, and a user who logs out or
// switches should not wait longer than that.
var READY = 10000;
var conf = null, cur = null, lang = null;
// The product as this document drives it: running is the username of the
// last init not destroyed since, given the object the product has for it,
// cmd that init's queue entry; phase is 'wait' until the product is
// ready, then 'ready', or 'stalled' once READY passed without it; el is
// the last loader element appended and ran what became of it (0: loading,
// 1: ran, 2: failed; -1: none, the page's own loader may read the queue;
// -2: none could be made, nothing reads the queue).
var running = null, given = null, cmd = null, phase = '', flagWas = false, bound = 0;
var el = null, ran = -1, appended = false;
var timer = 0, last = 0, fails = 0, warned = false, gen = 0;
var faulted = false, warnedOut = false, warnedReady = false, policy = null, chan = null;
var home = runtimeHome();

// guard wraps an entry point: an exception is reported once per document
// instead of leaving the runtime half-way through an action.
function guard(fn) {
return function () {
try { return fn.apply(this, arguments); } catch (e) { fault(e); }
};
}
function fault(e) {
if (faulted) return;
faulted = true;
console.warn('productfruits: the lifecycle runtime failed (' + ((e && e.message) || e) + '); later pages still reach it');
}

function emit(action, u) {
try { w.dispatchEvent(new CustomEvent('productfruits:identity', { detail: { action: action, user: u } })); } catch (e) {}
}
function expiration(u) { return (u && u.hmac && u.hmac.expiration) || ''; }
// runtimeHome returns the identity endpoint's URL as this runtime's own
// URL implies it (the page data names none; only a page from an older
// version of the library names it as "identity"): the runtime
// is <endpoint>/lifecycle.<v>.js, or <page>?productfruits=lifecycle.<v>.js
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
for (var i = 0; i < s.length; i++) if (s[i] !== el && (s[i].getAttribute('src') === LOADER || s[i].src === LOADER)) return true;
return false;
}
// load appends a loader element for the init just queued, as the npm
// package does on every init, unless the last one is still loading (it
// will read this init) or, for the first init, the page holds its own.
// It never throws: a loader that cannot be appended leaves the init
// queued, which a logout takes back.
function load() {
if (el && ran === 0) return;
if (!appended && pageLoader()) { ran = -1; return; }
appended = true;
var mine = null;
try {
mine = loaderElement();
} catch (e) {
fault(e);
}
el = mine;
ran = mine ? 0 : -2;
if (!mine) return;
mine.addEventListener('load', guard(function () { if (el === mine) ran = 1; }));
mine.addEventListener('error', guard(function () {
if (el !== mine) return;
ran = 2;
stall('its loader ' + LOADER + ' failed to load');
}));
(d.head || d.documentElement).appendChild(mine);
}
// loaderElement returns the loader's script element, or null when the
// page's Trusted Types policy lets none be made (warned once). A page
// whose policy requires Trusted Types carries the element as parser-made
// markup in a template (with its nonce): a copy of that needs no Trusted
// Type and runs once inserted. Without one, a plain src; if Trusted Types
// refuse it, a policy of our own that passes the loader's URL only.
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
policy = policy || tt.createPolicy('productfruits', { createScriptURL: function (u) {
if (u === LOADER) return u;
throw new TypeError('productfruits: unexpected script URL');
} });
s.src = policy.createScriptURL(LOADER);
} catch (e2) {
if (!warnedReady) console.warn('productfruits: the page\'s trusted-types allow no policy named productfruits (' + (e2.message || e2) + '): no loader appended; add productfruits there, or let the middleware see the policy header (it then emits the loader template)');
warnedReady = true;
return null;
}
}
return s;
}
// htmx's head-support extension takes out of the head what the next
// page's head lacks and puts it back when a page holds it again. Our
// elements with a src stay: a loader, which would run again when put
// back, and this runtime's, which would only run again for nothing; an
// anonymous page's script that take() has taken out already is not taken
// out again (removeChild would throw).
d.addEventListener('htmx:removingHeadElement', guard(function (e) {
var x = e.detail && e.detail.headElement;
if (!x || !x.dataset || x.dataset.productfruits === undefined) return;
if (x.src || x.parentNode !== d.head) e.preventDefault();
}));

// ready: the product says the init is done, by the event, the callback
// or the flag turning true after the init.
function ready() {
if (phase !== 'wait' && phase !== 'stalled') return;
phase = 'ready';
clearTimeout(bound);
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
// stall ends the wait for an init: READY passed, or its loader failed.
// Later actions go ahead as if it had failed for good; one warning per
// document says what to check.
function stall(why) {
if (phase !== 'wait') return;
if (!flagWas && w.productFruitsIsReady === true) { ready(); return; }
clearTimeout(bound);
phase = 'stalled';
if (!warnedReady) {
warnedReady = true;
console.warn('productfruits: not ready for ' + running + ' (' + why + '): a rejected HMAC (wrong secret, or another username signed than sent)? a blocked loader (CSP, an extension, the network)? Later actions go ahead. Check: pfhmac doctor ' + location.href);
}
sync();
}

function init(u) {
var pf = w.productFruits = w.productFruits || {};
pf.scrV = '2';
running = u.username;
given = u;
cmd = ['init', conf.workspace, lang || conf.language, u];
if (conf.options) cmd.push(conf.options);
phase = 'wait';
flagWas = w.productFruitsIsReady === true;
hookCallback();
clearTimeout(bound);
bound = setTimeout(guard(function () { stall('not ready ' + READY / 1000 + ' s after init'); }), READY);
(w.$productFruits = w.$productFruits || []).push(cmd);
load();
}
// queued returns where cmd sits in the queue while no loader has read it:
// the loader element is loading, failed, or none could be made. -1 when
// a loader may have read it (the product's state then comes only from
// its ready signals).
function queued() {
var a = w.$productFruits;
if (!cmd || ran === 1 || ran === -1 || !a || typeof a.indexOf !== 'function') return -1;
return a.indexOf(cmd);
}
// stop ends what runs for running: the init taken back if no loader read
// it, else services.destroy.
function stop() {
var a = w.$productFruits, i = queued(), pf = w.productFruits;
if (i >= 0) a.splice(i, 1);
else if (pf && pf.services && pf.services.destroy) pf.services.destroy();
running = given = cmd = null;
phase = '';
clearTimeout(bound);
}
// sync brings the product in line with cur and announces what it did:
// init, identifyUser with a fresher object, or destroy (then init for
// another user). While an init is neither ready nor stalled, what the
// loader has not read yet is changed in the queue, and the rest waits.
function sync() {
if (phase === 'wait' && !flagWas && w.productFruitsIsReady === true) { phase = 'ready'; clearTimeout(bound); }
var was = given, pf = w.productFruits || {};
if (running && ran !== 2 && queued() >= 0) {
if (!cur) { stop(); emit('destroy', was); return; }
if (given === cur) return;
var other = cur.username !== running;
cmd[2] = lang || conf.language;
cmd[3] = given = cur;
running = cur.username;
emit(other ? 'switch' : 'renew', cur);
return;
}
if (phase === 'wait') return;
// A stalled product gets a fresh object by a new init: identifyUser is
// for a product that is ready.
if (running && (!cur || cur.username !== running || (phase !== 'ready' && given !== cur))) stop();
if (!cur) { if (was) emit('destroy', was); return; }
if (!running) { init(cur); emit(!was ? 'init' : was.username === cur.username ? 'renew' : 'switch', cur); return; }
if (given !== cur && pf.identifyUser) { given = cur; pf.identifyUser(cur); emit('renew', cur); }
}
// take acts on a page's (or the endpoint's) user object, in language l;
// null: nobody. quiet: what a broadcast made it learn, not told again.
function take(u, at, l, quiet) {
gen++;
if (!u) {
clearTimeout(timer);
if (cur) { cur = null; if (!quiet) tell('out'); remember(null); sync(); }
return;
}
// Turbo keeps head scripts and runs only new ones: the next anonymous
// page's script must look new again.
var old = d.head ? d.head.getElementsByTagName('script') : [];
for (var i = old.length - 1; i >= 0; i--) if (old[i].dataset.productfruits === 'anonymous') old[i].parentNode.removeChild(old[i]);
if (cur && cur.username === u.username && (expiration(u) < expiration(cur) || JSON.stringify(u) === JSON.stringify(cur))) return;
if (!cur || cur.username !== u.username) {
lang = l || conf.language;
if (remember(u.username) && !quiet) tell('user');
}
cur = u;
last = at;
fails = 0;
plan(last + renewAfter() - Date.now());
try { sync(); } catch (e) { fault(e); }
}
// remember keeps the username this tab last ran in its sessionStorage,
// which outlives the tab's documents (a logout's anonymous page runs no
// runtime), and reports whether it changed.
function remember(name) {
var s = null, prior = null;
try { s = w.sessionStorage; prior = s.getItem('productfruits.user'); } catch (e) {}
try { if (name) s.setItem('productfruits.user', name); else s.removeItem('productfruits.user'); } catch (e) {}
return prior !== name;
}
// Tabs in step: a logout or another user seen here is said, without who,
// to every other tab of the origin; one that runs the product asks the
// endpoint who it is now (or, with no endpoint, stops).
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
clearTimeout(timer);
if (!cur || !conf.ttl || !endpoint()) return;
timer = setTimeout(guard(renew), Math.min(Math.max(ms, 0), MAXDELAY));
}
function due() { return cur && conf.ttl && endpoint() && Date.now() >= last + renewAfter(); }
// renew fetches a fresh user object; fallback, if given, runs when none
// comes (a page from the cache whose own object is all there is, a check
// another tab asked for).
// The endpoint is resolved against the page's own URL: fetch would
// resolve it against the document's base URL, which a <base href> may
// point elsewhere (a CDN). Redirects are not followed: a login wall's
// redirect, like its HTML page, is no user.
function renew(fallback, quiet) {
var g = gen, url = endpoint();
var failed = guard(function (why) {
if (g !== gen) return;
if (typeof fallback === 'function') { fallback(); return; }
fails++;
if (!warned && fails > 1) {
warned = true;
console.warn('productfruits: renewing the identity keeps failing (' + why + ') at ' + url);
}
if (Date.now() < last + conf.ttl) {
timer = setTimeout(guard(renew), Math.min(500 * Math.pow(2, fails - 1), 30000));
} else {
console.warn('productfruits: gave up renewing the identity at ' + url + ' (' + why + '); the HMAC has expired');
}
});
var out = guard(function (what) {
if (g !== gen) return;
if (!warnedOut) {
warnedOut = true;
console.warn('productfruits: the identity endpoint at ' + url + ' answered ' + what + ', no user: taken as signed out (a login wall in front of it?)');
}
take(null, 0, null, quiet);
});
fetch(url, { credentials: 'same-origin', cache: 'no-store', redirect: 'manual', headers: { Accept: 'application/json' } }).then(guard(function (r) {
if (g !== gen) return;
if (r.status === 401) { take(null, 0, null, quiet); return; }
if (r.type === 'opaqueredirect') { out('a redirect (response type opaqueredirect)'); return; }
if (!r.ok) { failed('status ' + r.status); return; }
var type = (r.headers && r.headers.get && r.headers.get('Content-Type')) || '';
if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) { out('status ' + r.status + ' with Content-Type ' + (type || '(none)')); return; }
r.json().then(guard(function (u) {
if (g !== gen) return;
if (!u || typeof u !== 'object' || typeof u.username !== 'string' || !u.username) { out('status ' + r.status + ' with JSON that is no user object'); return; }
warned = false;
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
w.addEventListener('pageshow', guard(function (e) { if (e.persisted && due()) plan(0); }));
d.addEventListener('visibilitychange', guard(function () { if (!d.hidden && due()) plan(0); }));
var first = q.length ? q[q.length - 1] : null;
// The page's data script runs before this element can: with no push, a
// policy blocked it (the server logs which one) or it was left out.
if (!q.length) console.warn('productfruits: the page data script did not run before the runtime (a Content-Security-Policy without its nonce?); check: pfhmac doctor ' + location.href);
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
