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
// from the back/forward cache or is shown from the HTTP cache. Each action
// is announced as a "productfruits:identity" window event. An init takes
// the language of whatever brought its user: the page's data, or the
// endpoint's Content-Language; the same user keeps the language it was
// inited with (identifyUser takes none).
// renewal.go serves this file at the identity endpoint's path plus
// "/lifecycle.<version>.js", with LOADER_URL replaced by the product's
// loader URL as a JSON string; a page whose endpoint has no URL carries it
// inline. Lines are kept, comments and indentation are dropped, so it must
// hold neither "</" nor non-ASCII.
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
// the page holds it.
function load() {
if (appended || loaderRan()) return;
appended = true;
var s = d.getElementsByTagName('script');
for (var i = 0; i < s.length; i++) if (s[i].getAttribute('src') === LOADER || s[i].src === LOADER) return;
var el = d.createElement('script');
el.async = true;
el.src = LOADER;
if (nonce) el.setAttribute('nonce', nonce);
el.setAttribute('data-productfruits', '');
(d.head || d.documentElement).appendChild(el);
}
// htmx's head-support extension takes out of the head what the next
// page's head lacks and puts it back when a page holds it again. Our
// elements with a src stay: the loader, or it would run a second time in
// this document after a logout and a login, and this runtime's, which
// would only run again for nothing; an anonymous page's script that
// take() has taken out already is not taken out again (removeChild would
// throw).
d.addEventListener('htmx:removingHeadElement', function (e) {
var el = e.detail && e.detail.headElement;
if (!el || !el.dataset || el.dataset.productfruits === undefined) return;
if (el.src || el.parentNode !== d.head) e.preventDefault();
});
// An init is busy until the product says it is ready; what comes next
// waits for that, in order.
function flush() { while (!busy && waiting.length) waiting.shift()(); }
function whenIdle(fn) { waiting.push(fn); flush(); }
w.addEventListener('productfruits_ready', function () { busy = false; flush(); });

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
sync();
emit(action, u);
last = at;
fails = 0;
plan(last + renewAfter() - Date.now());
}
function renewAfter() { return conf.ttl - Math.min(conf.ttl / 5, 300000); }
// plan sets the one renewal timer, within what setTimeout accepts.
function plan(ms) {
clearTimeout(timer);
if (!cur || !conf.ttl || !conf.identity) return;
timer = setTimeout(renew, Math.min(Math.max(ms, 0), MAXDELAY));
}
function due() { return cur && conf.ttl && conf.identity && Date.now() >= last + renewAfter(); }
// renew fetches a fresh user object; fallback, if given, runs when none
// comes (a page from the cache whose own object is all there is).
function renew(fallback) {
var g = gen, url = conf.identity;
fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } }).then(function (r) {
if (g !== gen) return;
if (r.status === 401) { take(null); return; }
if (!r.ok) throw new Error('status ' + r.status);
return r.json().then(function (u) {
if (g !== gen) return;
warned = false;
take(u, Date.now(), language(r));
});
}).catch(function (e) {
if (g !== gen) return;
if (typeof fallback === 'function') { fallback(); return; }
fails++;
if (!warned && fails > 1) {
warned = true;
console.warn('productfruits: renewing the identity keeps failing (' + e.message + ') at ' + url);
}
if (Date.now() < last + conf.ttl) {
timer = setTimeout(renew, Math.min(500 * Math.pow(2, fails - 1), 30000));
} else {
console.warn('productfruits: gave up renewing the identity at ' + url + ' (' + e.message + '); the HMAC has expired');
}
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
w.addEventListener('pageshow', function (e) { if (e.persisted && due()) plan(0); });
d.addEventListener('visibilitychange', function () { if (!d.hidden && due()) plan(0); });
var first = q.length ? q[q.length - 1] : null;
w.__productfruitsGo = { installed: 1, push: push };
if (first && first.ttl && first.identity && shownFromCache()) {
// The page's own object may have expired: ask for a fresh one first.
conf = first;
renew(function () { push(first); });
} else if (first) {
push(first);
}
})(window, document, LOADER_URL);
