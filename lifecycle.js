// The page lifecycle of a verified Product Fruits user, installed once per
// document. Every snippet pushes its page's data onto
// window.__productfruitsGo (an anonymous page's one-line script pushes 0),
// then loads this runtime, which acts on the latest push made before it
// ran and on every push after:
//   a user, first time in the document: init the product, then append
//     the product's loader (once per document), as the product's own
//     install snippet does;
//   the same username again: hand the fresher user object to identifyUser
//     (an older or identical one changes nothing);
//   another username: destroy the product, then init it for that user;
//   0 (an anonymous page, e.g. after logout under Turbo or htmx): destroy.
// With a TTL it renews the HMAC from the identity endpoint before expiry,
// with one timer per document, and again at once when a page comes back
// from the back/forward cache or is shown from the HTTP cache. An answer
// that is not a signed-in user (401, the app's login wall redirecting or
// answering HTML, a body that is no user object) means signed out. Each action
// is announced as a "productfruits:identity" window event. An init takes
// the language of whatever brought its user: the page's data, or the
// endpoint's Content-Language; the same user keeps the language it was
// inited with (identifyUser takes none).
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
var conf = null, cur = null, lang = null, cmd = null, running = null, given = null;
var busy = false, waiting = [];
var timer = 0, last = 0, fails = 0, warned = false, gen = 0, appended = false;
var faulted = false, warnedOut = false, policy = null;

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
// The loader replaces the queue's push once it has read the queue.
function loaderRan() {
var a = w.$productFruits;
return !!a && a.push !== Array.prototype.push;
}
// load appends the product's loader to the head once per document,
// after the first init is on the queue, unless the loader ran already or
// the page holds it. It never throws: a loader that cannot be appended
// leaves the init queued, which a logout takes back.
function load() {
if (appended || loaderRan()) return;
appended = true;
var s = d.getElementsByTagName('script');
for (var i = 0; i < s.length; i++) if (s[i].getAttribute('src') === LOADER || s[i].src === LOADER) return;
try {
var el = loaderElement();
if (el) (d.head || d.documentElement).appendChild(el);
} catch (e) {
fault(e);
}
}
// loaderElement returns the loader's script element, or null when the
// page's Trusted Types policy lets none be made (warned once). A page
// whose policy requires Trusted Types carries the element as parser-made
// markup in a template (with its nonce): a copy of that needs no Trusted
// Type and runs once inserted. Without one, a plain src; if Trusted Types
// refuse it, a policy of our own that passes the loader's URL only.
function loaderElement() {
var tpl = d.querySelector('template[data-productfruits="loader"]');
var el = tpl && tpl.content ? tpl.content.querySelector('script') : null;
if (el) return d.importNode(el, true);
el = d.createElement('script');
el.async = true;
if (nonce) el.setAttribute('nonce', nonce);
el.setAttribute('data-productfruits', '');
try {
el.src = LOADER;
} catch (e) {
var tt = w.trustedTypes;
if (!tt || !tt.createPolicy) throw e;
try {
policy = policy || tt.createPolicy('productfruits', { createScriptURL: function (u) {
if (u === LOADER) return u;
throw new TypeError('productfruits: unexpected script URL');
} });
el.src = policy.createScriptURL(LOADER);
} catch (e2) {
faulted = true;
console.warn('productfruits: the page requires Trusted Types and its trusted-types directive allows no policy named productfruits (' + (e2.message || e2) + '), so the product\'s loader cannot be appended: add productfruits to the trusted-types directive, or let the middleware see the policy header so that it emits the loader template');
return null;
}
}
return el;
}
// htmx's head-support extension takes out of the head what the next
// page's head lacks and puts it back when a page holds it again. Our
// elements with a src stay: the loader, or it would run a second time in
// this document after a logout and a login, and this runtime's, which
// would only run again for nothing; an anonymous page's script that
// take() has taken out already is not taken out again (removeChild would
// throw).
d.addEventListener('htmx:removingHeadElement', guard(function (e) {
var el = e.detail && e.detail.headElement;
if (!el || !el.dataset || el.dataset.productfruits === undefined) return;
if (el.src || el.parentNode !== d.head) e.preventDefault();
}));
// An init is busy until the product says it is ready; what comes next
// waits for that, in order.
function flush() { while (!busy && waiting.length) waiting.shift()(); }
function whenIdle(fn) { waiting.push(fn); flush(); }
w.addEventListener('productfruits_ready', guard(function () { busy = false; flush(); }));

function init(u) {
var pf = w.productFruits = w.productFruits || {};
pf.scrV = '2';
busy = true;
running = u.username;
given = u;
cmd = ['init', conf.workspace, lang || conf.language, u];
if (conf.options) cmd.push(conf.options);
(w.$productFruits = w.$productFruits || []).push(cmd);
load();
}
// sync brings the product in line with cur: init, identifyUser with a
// fresher object, or destroy (then init for another user).
function sync() {
if (!loaderRan()) {
// The loader has not read the queue yet: change what it will read.
var a = w.$productFruits, i = a && cmd ? a.indexOf(cmd) : -1;
if (i < 0) { if (cur) init(cur); return; }
if (cur) { cmd[2] = lang || conf.language; cmd[3] = given = cur; running = cur.username; return; }
a.splice(i, 1);
running = given = null;
busy = false;
return;
}
whenIdle(function () {
var pf = w.productFruits;
if (running && (!cur || cur.username !== running)) {
if (pf && pf.services && pf.services.destroy) pf.services.destroy();
running = given = null;
}
if (!cur) return;
if (!running) { init(cur); return; }
if (given !== cur && pf && pf.identifyUser) { given = cur; pf.identifyUser(cur); }
});
}
// take acts on a page's (or the endpoint's) user object, in language l;
// null: nobody.
function take(u, at, l) {
gen++;
if (!u) {
clearTimeout(timer);
if (cur) { var was = cur; cur = null; sync(); emit('destroy', was); }
return;
}
// Turbo keeps head scripts and runs only new ones: the next anonymous
// page's script must look new again.
var old = d.head ? d.head.getElementsByTagName('script') : [];
for (var i = old.length - 1; i >= 0; i--) if (old[i].dataset.productfruits === 'anonymous') old[i].parentNode.removeChild(old[i]);
var action;
if (!cur) action = 'init';
else if (cur.username !== u.username) action = 'switch';
else if (expiration(u) >= expiration(cur) && JSON.stringify(u) !== JSON.stringify(cur)) action = 'renew';
else return;
if (action !== 'renew') lang = l || conf.language;
cur = u;
last = at;
fails = 0;
plan(last + renewAfter() - Date.now());
try { sync(); } catch (e) { fault(e); }
emit(action, u);
}
function renewAfter() { return conf.ttl - Math.min(conf.ttl / 5, 300000); }
// plan sets the one renewal timer, within what setTimeout accepts.
function plan(ms) {
clearTimeout(timer);
if (!cur || !conf.ttl || !conf.identity) return;
timer = setTimeout(guard(renew), Math.min(Math.max(ms, 0), MAXDELAY));
}
function due() { return cur && conf.ttl && conf.identity && Date.now() >= last + renewAfter(); }
// renew fetches a fresh user object; fallback, if given, runs when none
// comes (a page from the cache whose own object is all there is).
// The endpoint is resolved against the page's own URL: fetch would
// resolve it against the document's base URL, which a <base href> may
// point elsewhere (a CDN). Redirects are not followed: a login wall's
// redirect, like its HTML page, is no user.
function renew(fallback) {
var g = gen, url = new URL(conf.identity, location.href).href;
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
console.warn('productfruits: the identity endpoint at ' + url + ' answered ' + what + ', not a signed-in user: taken as signed out, as a 401 is (a login wall in front of the endpoint?)');
}
take(null);
});
fetch(url, { credentials: 'same-origin', cache: 'no-store', redirect: 'manual', headers: { Accept: 'application/json' } }).then(guard(function (r) {
if (g !== gen) return;
if (r.status === 401) { take(null); return; }
if (r.type === 'opaqueredirect') { out('a redirect (response type opaqueredirect)'); return; }
if (!r.ok) { failed('status ' + r.status); return; }
var type = (r.headers && r.headers.get && r.headers.get('Content-Type')) || '';
if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) { out('status ' + r.status + ' with Content-Type ' + (type || '(none)')); return; }
r.json().then(guard(function (u) {
if (g !== gen) return;
if (!u || typeof u !== 'object' || typeof u.username !== 'string' || !u.username) { out('status ' + r.status + ' with JSON that is no user object'); return; }
warned = false;
take(u, Date.now(), language(r));
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
w.__productfruitsGo = { installed: 1, push: guard(push) };
guard(function () {
if (first && first.ttl && first.identity && shownFromCache()) {
// The page's own object may have expired: ask for a fresh one first.
conf = first;
renew(function () { push(first); });
} else if (first) {
push(first);
}
})();
})(window, document, LOADER_URL);
