// Runs the lifecycle runtime (read from stdin, exactly as the middleware
// serves it; the loader URL it was built with is the first argument) in a
// fake browser with a fake product that behaves as the product's
// documented browser API does (the $productFruits queue read on load,
// push running commands at once afterwards, identifyUser,
// services.destroy, productfruits_ready), and checks every decision the
// runtime makes, the loader it appends among them. Driven by
// TestLifecycleRuntime; exits non-zero on the first failure.
'use strict';
const vm = require('vm');
const assert = require('assert');
const runtime = require('fs').readFileSync(0, 'utf8');
const LOADER = process.argv[2];
assert.ok(/^https:[/][/]/.test(LOADER || ''), 'the loader URL is the first argument');

// PAGE is the document's URL, which the endpoint is resolved against.
const PAGE = 'https://app.example/app/page/1';
const ORIGIN = 'https://app.example';

// READY is how long the runtime waits for an init to get ready.
const READY = 10000;

const settle = async () => { for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)); };

function user(name, exp, extra) {
  const u = { username: name, hmac: { hash: 'h-' + name + '-' + (exp || '') } };
  if (exp) u.hmac.expiration = exp;
  return Object.assign(u, extra || {});
}

function data(u, more) {
  return Object.assign({ workspace: 'ws', language: 'en', user: u }, more || {});
}

// browser returns a fresh document: window, document, clock, timers,
// fetches, warnings and the runtime's announced events.
function browser(opts) {
  opts = opts || {};
  const listeners = {};
  const env = { now: 1e12, timers: new Map(), fetches: [], warnings: [], events: [], delays: [], said: [] };
  let nextTimer = 1;
  const on = (target) => (type, fn) => { (listeners[target + type] = listeners[target + type] || []).push(fn); };
  // renewals counts the renewal timers set (the wait for ready aside).
  env.renewals = () => [...env.timers.values()].filter((t) => !t.bound).length;
  env.listenerCount = () => Object.values(listeners).reduce((n, fns) => n + fns.length, 0);
  env.fire = (target, type, ev) => { for (const fn of (listeners[target + type] || []).slice()) fn(ev || { type: type }); };
  // A script element: attributes, dataset and the src and nonce
  // properties, as the runtime reads and writes them.
  const element = (attrs) => {
    const el = {
      attrs: Object.assign({}, attrs || {}), dataset: {}, async: false, parentNode: null,
      setAttribute(name, value) {
        this.attrs[name] = String(value);
        if (name.indexOf('data-') === 0) this.dataset[name.slice(5)] = String(value);
      },
      getAttribute(name) { return name in this.attrs ? this.attrs[name] : null; },
      get src() { return this.attrs.src || ''; },
      set src(v) { this.attrs.src = String(v); },
      get nonce() { return this.attrs.nonce || ''; },
      listeners: {},
      addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); },
      fire(type) { for (const fn of (this.listeners[type] || []).slice()) fn.call(this, { type: type }); },
    };
    for (const name of Object.keys(el.attrs)) el.setAttribute(name, el.attrs[name]);
    return el;
  };
  env.element = element;
  const head = {
    scripts: [],
    getElementsByTagName(tag) { assert.strictEqual(tag, 'script'); return this.scripts.slice(); },
    appendChild(el) {
      assert.strictEqual(el.tagName, 'SCRIPT');
      el.parentNode = this;
      this.scripts.push(el);
      // What the queue held when the loader went in: the loader reads it
      // no earlier than that.
      env.appended.push({ el: el, queue: env.queue() });
      return el;
    },
    removeChild(el) { this.scripts.splice(this.scripts.indexOf(el), 1); el.parentNode = null; return el; },
  };
  env.appended = [];
  const window = { addEventListener: on('w:'), dispatchEvent(ev) { env.fire('w:', ev.type, ev); return true; } };
  const document = {
    addEventListener: on('d:'), hidden: false, head: head, currentScript: null,
    // The page's own scripts (opts.pageScripts) come before the head's.
    getElementsByTagName(tag) { assert.strictEqual(tag, 'script'); return (opts.pageScripts || []).concat(head.scripts); },
    createElement(tag) { const el = element(); el.tagName = tag.toUpperCase(); return el; },
    // No loader template in these pages (Chromium proves the template).
    querySelector() { return null; },
  };
  const ctx = {
    window: window,
    document: document,
    Date: { now: () => env.now },
    URL: URL,
    location: { href: PAGE },
    setTimeout(fn, ms) {
      assert.ok(ms >= 0 && ms <= 2147483647, 'setTimeout delay out of range: ' + ms);
      // The runtime's one timer of READY ms is its wait for the product
      // to get ready; the others renew.
      if (ms !== READY) env.delays.push(ms);
      const id = nextTimer++;
      env.timers.set(id, { fn: fn, at: env.now + ms, bound: ms === READY });
      return id;
    },
    clearTimeout(id) { env.timers.delete(id); },
    fetch(url, init) { return new Promise((resolve, reject) => env.fetches.push({ url: url, init: init, resolve: resolve, reject: reject })); },
    console: { warn: (...a) => env.warnings.push(a.join(' ')) },
    CustomEvent: function (type, init) { this.type = type; this.detail = init.detail; },
    performance: opts.navigation ? { getEntriesByType: (t) => (t === 'navigation' ? [opts.navigation] : []) } : undefined,
    // One BroadcastChannel bus per browser profile (opts.bus, shared by
    // the tabs of a case): a message reaches every other channel of the
    // name, later, as structured clones.
    BroadcastChannel: function (name) {
      const bus = opts.bus || (opts.bus = []);
      this.name = name;
      this.postMessage = (m) => {
        env.said.push(m);
        for (const c of bus) if (c !== this && c.name === name) setImmediate(() => c.onmessage && c.onmessage({ data: JSON.parse(JSON.stringify(m)) }));
      };
      bus.push(this);
    },
    // The tab's sessionStorage (opts.session: kept across a tab's
    // documents).
    sessionStorage: (() => {
      const m = opts.session || (opts.session = new Map());
      return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
    })(),
  };
  window.performance = ctx.performance;
  window.sessionStorage = ctx.sessionStorage;
  vm.createContext(ctx);
  window.addEventListener('productfruits:identity', (e) => env.events.push(e.detail.action + ':' + (e.detail.user && e.detail.user.username)));
  env.window = window;
  env.document = document;
  env.head = head;
  // push runs a page's inline data script; install runs the runtime as
  // the browser runs the page's runtime element, whenever that arrives
  // (it is async, so any number of pushes may come first); page does
  // both, as a page load or a navigation library's visit does.
  env.nonce = opts.nonce === undefined ? 'n0nce' : opts.nonce;
  env.push = (d) => vm.runInContext('(window.__productfruitsGo=window.__productfruitsGo||[]).push(' + JSON.stringify(d) + ');', ctx);
  env.install = () => {
    const attrs = env.nonce ? { nonce: env.nonce } : {};
    if (opts.src) attrs.src = opts.src;
    document.currentScript = element(attrs);
    try { vm.runInContext(runtime, ctx); } finally { document.currentScript = null; }
  };
  env.page = (d) => { env.push(d); env.install(); };
  env.run = (code) => vm.runInContext(code, ctx);
  env.anonymous = () => vm.runInContext('(window.__productfruitsGo=window.__productfruitsGo||[]).push(0)', ctx);
  env.queue = () => JSON.parse(JSON.stringify(window.$productFruits || []));
  // loaders returns the loader elements in the document.
  env.loaders = () => document.getElementsByTagName('script').filter((el) => el.getAttribute('src') === LOADER);
  // advance moves the clock, running due timers in order.
  env.advance = async (ms) => {
    const end = env.now + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of env.timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
      if (!next) break;
      env.now = next[1].at;
      env.timers.delete(next[0]);
      next[1].fn();
      await settle();
    }
    env.now = end;
    await settle();
  };
  // respond answers the oldest open fetch; headers maps lower-case names
  // to values, as fetch's Headers.get reads them (Content-Type is JSON
  // unless they say otherwise); a body that is an Error is one json()
  // rejects with; type is the response's type, 'basic' unless given.
  env.respond = async (status, body, headers, type) => {
    const f = env.fetches.shift();
    assert.ok(f, 'no fetch to answer');
    const h = Object.assign({ 'content-type': 'application/json' }, headers || {});
    f.resolve({
      status: status, ok: status >= 200 && status < 300, type: type || 'basic',
      json: () => (body instanceof Error ? Promise.reject(body) : Promise.resolve(body)),
      headers: { get: (name) => (name.toLowerCase() in h ? h[name.toLowerCase()] : null) },
    });
    await settle();
    return f;
  };
  env.fail = async () => {
    const f = env.fetches.shift();
    assert.ok(f, 'no fetch to fail');
    f.reject(new TypeError('Failed to fetch'));
    await settle();
    return f;
  };
  // load plays the product's loader script, the latest element the
  // runtime appended, then fires that element's load event, as a browser
  // does once the script ran. The first run reads the queue and from then
  // on processes commands as style says: 'push' replaces the queue's push,
  // 'global' replaces $productFruits with an object of its own, 'watch'
  // keeps the array as it is and processes what is added when
  // env.product.poll() runs (its own timer). A later run (a fresh loader
  // after a destroy) installs nothing again; 'watch' polls then.
  env.load = (style) => {
    assert.ok(env.appended.length >= 1, 'the runtime appended a loader');
    const el = env.appended[env.appended.length - 1].el;
    assert.strictEqual(el.getAttribute('src'), LOADER);
    assert.ok(!el.loaded, 'each loader element runs once');
    el.loaded = true;
    if (env.product) {
      if (env.product.poll) env.product.poll();
      el.fire('load');
      return;
    }
    const p = env.product = { inits: [], languages: [], options: [], identified: [], destroyed: 0, running: null, errors: [], runs: 0 };
    const run = (cmd) => {
      if (!cmd || cmd[0] !== 'init') return;
      if (p.running) p.errors.push('init while running for ' + p.running);
      p.running = cmd[3].username;
      p.inits.push(cmd[3]);
      p.languages.push(cmd[2]);
      p.options.push(cmd.length > 4 ? cmd[4] : undefined);
    };
    const pf = window.productFruits = window.productFruits || {};
    p.pf = pf;
    pf.identifyUser = (u) => {
      if (u.username !== p.running) p.errors.push('identifyUser for ' + u.username + ' while running for ' + p.running);
      p.identified.push(u);
    };
    pf.services = { destroy() { if (!p.running) p.errors.push('destroy with nothing running'); p.running = null; p.destroyed++; } };
    const q = window.$productFruits || (window.$productFruits = vm.runInContext('[]', ctx));
    const waiting = q.slice();
    switch (style || 'push') {
      case 'push':
        q.push = (...cmds) => { cmds.forEach(run); return q.length; };
        break;
      case 'global':
        window.$productFruits = { push: (...cmds) => { cmds.forEach(run); return 0; } };
        break;
      case 'watch': {
        let seen = q.length;
        p.poll = () => { while (seen < q.length) run(q[seen++]); };
        break;
      }
      default:
        throw new Error('style ' + style);
    }
    waiting.forEach(run);
    el.fire('load');
  };
  // fail fires the latest loader element's error event: a 404, a script
  // a CSP or an extension blocked.
  env.fail404 = () => {
    const el = env.appended[env.appended.length - 1].el;
    el.loaded = true;
    el.fire('error');
  };
  env.ready = () => env.fire('w:', 'productfruits_ready');
  // cycle plays what the product does after an init was read: the flag,
  // the documented callback, then the event.
  env.readyAll = () => {
    window.productFruitsIsReady = true;
    if (typeof window.productFruitsReady === 'function') window.productFruitsReady();
    env.ready();
  };
  return env;
}

const cases = {
  async 'a runtime with no page data before it says so once, and takes later pushes'() {
    const b = browser();
    b.install();
    assert.strictEqual(b.warnings.length, 1);
    assert.match(b.warnings[0], /data script did not run/);
    assert.match(b.warnings[0], /pfhmac doctor https:[/][/]app.example/);
    b.push(data(user('ann')));
    b.load();
    b.ready();
    assert.strictEqual(b.product.inits.length, 1);
    assert.deepStrictEqual(b.events, ['init:ann']);
    assert.strictEqual(b.warnings.length, 1);
  },

  async 'first page inits once, loader reads it'() {
    const b = browser();
    b.page(data(user('ann')));
    assert.deepStrictEqual(b.queue(), [['init', 'ws', 'en', user('ann')]]);
    b.load();
    b.ready();
    assert.strictEqual(b.product.inits.length, 1);
    assert.deepStrictEqual(b.events, ['init:ann']);
    assert.strictEqual(b.renewals(), 0, 'no TTL, no timer');
  },

  async 'the same page again changes nothing'() {
    const b = browser();
    b.page(data(user('ann')));
    b.load();
    b.ready();
    b.page(data(user('ann')));
    b.page(data(user('ann')));
    assert.strictEqual(b.product.inits.length, 1);
    assert.strictEqual(b.product.identified.length, 0);
    assert.deepStrictEqual(b.events, ['init:ann']);
  },

  async 'a fresher object for the same user goes to identifyUser, an older one nowhere'() {
    const b = browser();
    b.page(data(user('ann', '2030-01-01T00:00:10.000Z'), { identity: '/id', ttl: 60000 }));
    b.load();
    b.ready();
    b.page(data(user('ann', '2030-01-01T00:00:20.000Z'), { identity: '/id', ttl: 60000 }));
    b.page(data(user('ann', '2030-01-01T00:00:05.000Z'), { identity: '/id', ttl: 60000 }));
    assert.strictEqual(b.product.inits.length, 1);
    assert.deepStrictEqual(b.product.identified.map((u) => u.hmac.expiration), ['2030-01-01T00:00:20.000Z']);
    assert.deepStrictEqual(b.events, ['init:ann', 'renew:ann']);
    assert.deepStrictEqual(b.product.errors, []);
    assert.strictEqual(b.renewals(), 1, 'one renewal timer, whatever the executions');
  },

  async 'identifyUser waits until the product is ready'() {
    const b = browser();
    b.page(data(user('ann', '2030-01-01T00:00:10.000Z')));
    b.load();
    b.page(data(user('ann', '2030-01-01T00:00:20.000Z')));
    assert.strictEqual(b.product.identified.length, 0);
    b.ready();
    assert.strictEqual(b.product.identified.length, 1);
  },

  async 'before the loader ran, a fresher object replaces the queued init'() {
    const b = browser();
    b.page(data(user('ann', '2030-01-01T00:00:10.000Z')));
    b.page(data(user('ann', '2030-01-01T00:00:20.000Z')));
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.hmac.expiration), ['2030-01-01T00:00:20.000Z']);
    assert.strictEqual(b.product.identified.length, 0);
  },

  async 'another user: destroy, then init'() {
    const b = browser();
    b.page(data(user('ann')));
    b.load();
    b.ready();
    b.page(data(user('bob')));
    assert.strictEqual(b.product.destroyed, 1);
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'bob']);
    assert.strictEqual(b.product.running, 'bob');
    assert.deepStrictEqual(b.product.errors, []);
    assert.deepStrictEqual(b.events, ['init:ann', 'switch:bob']);
  },

  async 'a switch during an init waits for it'() {
    const b = browser();
    b.page(data(user('ann')));
    b.load();
    b.page(data(user('bob')));
    b.page(data(user('cid')));
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann']);
    b.ready();
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'cid'], 'straight to the latest user');
    assert.strictEqual(b.product.destroyed, 1);
    b.ready();
    assert.deepStrictEqual(b.product.errors, []);
  },

  async 'a switch before the loader ran inits only the new user'() {
    const b = browser();
    b.page(data(user('ann')));
    b.page(data(user('bob')));
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['bob']);
    assert.strictEqual(b.product.destroyed, 0);
  },

  async 'an anonymous page destroys the product; a later login inits again'() {
    const b = browser();
    b.head.appendChild(Object.assign(b.element(), { tagName: 'SCRIPT' }));
    b.appended = [];
    b.page(data(user('ann')));
    b.load();
    b.ready();
    b.anonymous();
    assert.strictEqual(b.product.destroyed, 1);
    assert.strictEqual(b.product.running, null);
    // Turbo keeps the anonymous page's script in the head; the next user
    // page takes it out, so that the next logout's script runs again.
    const anon = Object.assign(b.element({ 'data-productfruits': 'anonymous' }), { tagName: 'SCRIPT' });
    b.head.appendChild(anon);
    const before = b.head.scripts.length;
    b.page(data(user('bob')));
    assert.ok(!b.head.scripts.includes(anon), 'the anonymous script was removed');
    assert.strictEqual(b.head.scripts.length, before - 1 + 1, 'nothing else was removed; a fresh loader went in');
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'bob']);
    b.ready();
    b.anonymous();
    assert.strictEqual(b.product.destroyed, 2);
    assert.deepStrictEqual(b.product.errors, []);
    assert.deepStrictEqual(b.events, ['init:ann', 'destroy:ann', 'init:bob', 'destroy:bob']);
    assert.strictEqual(b.loaders().length, 2, 'a fresh loader for the init after the destroy, as the npm package appends one');
  },

  async 'an anonymous page before the loader ran takes the init back'() {
    const b = browser();
    b.page(data(user('ann')));
    b.anonymous();
    b.load();
    assert.strictEqual(b.product.inits.length, 0);
    assert.strictEqual(b.product.destroyed, 0);
  },

  async 'an anonymous first page does nothing'() {
    const b = browser();
    b.anonymous();
    assert.strictEqual(b.window.$productFruits, undefined);
  },

  async 'renewal: one timer, fresh object to identifyUser, next timer'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/app/productfruits/identity', ttl: 60000 }));
    b.load();
    b.ready();
    assert.deepStrictEqual(b.delays, [48000], 'renews a fifth of the TTL before expiry');
    for (let i = 0; i < 5; i++) b.page(data(user('ann', 'e1'), { identity: '/app/productfruits/identity', ttl: 60000 }));
    assert.strictEqual(b.renewals(), 1);
    await b.advance(47999);
    assert.strictEqual(b.fetches.length, 0);
    await b.advance(1);
    assert.strictEqual(b.fetches.length, 1);
    assert.strictEqual(b.fetches[0].url, ORIGIN + '/app/productfruits/identity', 'resolved against the page, not a <base href>');
    assert.strictEqual(b.fetches[0].init.credentials, 'same-origin');
    assert.strictEqual(b.fetches[0].init.redirect, 'manual', 'a login wall\'s redirect is not followed');
    assert.strictEqual(b.fetches[0].init.cache, 'no-store');
    await b.respond(200, user('ann', 'e2'));
    assert.deepStrictEqual(b.product.identified.map((u) => u.hmac.expiration), ['e2']);
    assert.strictEqual(b.renewals(), 1);
    await b.advance(48000);
    assert.strictEqual(b.fetches.length, 1);
  },

  async 'renewal margin is at most five minutes'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 3600000 }));
    assert.deepStrictEqual(b.delays, [3600000 - 300000]);
  },

  async 'a 30-day TTL never loops: delays stay within what setTimeout takes'() {
    const b = browser();
    const ttl = 30 * 24 * 3600 * 1000;
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: ttl }));
    b.load();
    b.ready();
    await b.advance(10000);
    assert.strictEqual(b.fetches.length, 0, 'no fetch in the first seconds');
    assert.deepStrictEqual(b.delays, [2147483647]);
    await b.advance(2147483647 - 10000);
    assert.strictEqual(b.fetches.length, 1, 'the clamped timer fires once, early, and renews');
    await b.respond(200, user('ann', 'e2'));
    assert.strictEqual(b.renewals(), 1);
    assert.strictEqual(b.delays[b.delays.length - 1], 2147483647);
  },

  async 'renewal answered 401 destroys the product and stops'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    await b.advance(8000);
    await b.respond(401, { error: 'not logged in' });
    assert.strictEqual(b.product.destroyed, 1);
    assert.strictEqual(b.renewals(), 0);
    assert.deepStrictEqual(b.events, ['init:ann', 'destroy:ann']);
  },

  async 'a login wall\'s answer is signed out, as 401 is: destroy, stop, one warning per document'() {
    const walls = {
      'a redirect': [0, null, {}, 'opaqueredirect', /opaqueredirect/],
      'an HTML page': [200, null, { 'content-type': 'text/html; charset=utf-8' }, 'basic', /status 200 with Content-Type text\/html/],
      'no Content-Type': [200, null, { 'content-type': null }, 'basic', /Content-Type \(none\)/],
      'a body that is not JSON': [200, new SyntaxError('Unexpected token <'), {}, 'basic', /not valid JSON/],
      'JSON that is no user': [200, { error: 'login required' }, {}, 'basic', /no user object/],
      'JSON null': [200, null, {}, 'basic', /no user object/],
    };
    for (const [name, [status, body, headers, type, warning]] of Object.entries(walls)) {
      const b = browser();
      b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
      b.load();
      b.ready();
      await b.advance(8000);
      await b.respond(status, body, headers, type);
      assert.strictEqual(b.product.destroyed, 1, name);
      assert.strictEqual(b.renewals(), 0, name + ': no more renewals');
      assert.deepStrictEqual(b.events, ['init:ann', 'destroy:ann'], name);
      assert.strictEqual(b.warnings.length, 1, name + ': ' + b.warnings.join('\n'));
      assert.match(b.warnings[0], warning, name);
      assert.match(b.warnings[0], /https:[/][/]app\.example[/]id/, name + ': the URL');
      assert.match(b.warnings[0], /taken as signed out/, name);
      // Logged in again in the same document: the next wall is not warned
      // of again.
      b.page(data(user('ann', 'e3'), { identity: '/id', ttl: 10000 }));
      b.ready();
      await b.advance(8000);
      await b.respond(status, body, headers, type);
      assert.strictEqual(b.product.destroyed, 2, name);
      assert.strictEqual(b.warnings.length, 1, name + ': once per document');
      assert.deepStrictEqual(b.product.errors, [], name);
    }
  },

  async 'from the cache, a login wall\'s answer inits nobody'() {
    const b = browser({ navigation: { type: 'back_forward', transferSize: 0 } });
    b.page(data(user('ann', 'old'), { identity: '/id', ttl: 10000 }));
    await b.respond(0, null, {}, 'opaqueredirect');
    assert.deepStrictEqual(b.queue(), []);
    assert.deepStrictEqual(b.appended, []);
    assert.deepStrictEqual(b.events, []);
    assert.strictEqual(b.renewals(), 0);
  },

  async 'an exception in the product is reported once; later pushes still work'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    b.window.productFruits.identifyUser = () => { throw new Error('boom'); };
    b.page(data(user('ann', 'e2'), { identity: '/id', ttl: 10000 }));
    b.page(data(user('ann', 'e3'), { identity: '/id', ttl: 10000 }));
    assert.strictEqual(b.warnings.length, 1, b.warnings.join('\n'));
    assert.match(b.warnings[0], /^productfruits: .*boom/);
    assert.strictEqual(b.renewals(), 1, 'renewal still planned');
    b.anonymous();
    assert.strictEqual(b.product.destroyed, 1);
    assert.deepStrictEqual(b.events, ['init:ann', 'destroy:ann'], 'a renewal that threw is not announced');
  },

  async 'renewal returning another user switches'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    await b.advance(8000);
    await b.respond(200, user('bob', 'e2'));
    assert.strictEqual(b.product.destroyed, 1);
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'bob']);
    assert.strictEqual(b.product.identified.length, 0, 'identifyUser never switches users');
    assert.deepStrictEqual(b.product.errors, []);
  },

  async 'persistent failures warn once, then give up once, at expiry'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    await b.advance(8000);
    await b.respond(503, {});
    assert.deepStrictEqual(b.warnings, [], 'one failure may pass');
    await b.advance(500);
    await b.respond(404, {});
    assert.strictEqual(b.warnings.length, 1);
    assert.match(b.warnings[0], /status 404/);
    assert.match(b.warnings[0], /\/id/);
    while (b.renewals() > 0) {
      await b.advance(30000);
      if (b.fetches.length) await b.fail();
    }
    assert.strictEqual(b.warnings.length, 2, b.warnings.join('\n'));
    assert.match(b.warnings[1], /gave up/);
    assert.strictEqual(b.product.destroyed, 0);
  },

  async 'a retry that succeeds resets the backoff and the warning'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    await b.advance(8000);
    await b.fail();
    await b.advance(500);
    await b.respond(200, user('ann', 'e2'));
    assert.deepStrictEqual(b.warnings, []);
    assert.strictEqual(b.product.identified.length, 1);
  },

  async 'a page shown from the HTTP cache fetches a fresh object before init'() {
    const b = browser({ navigation: { type: 'navigate', transferSize: 0 } });
    b.page(data(user('ann', 'stale'), { identity: '/id', ttl: 10000 }));
    assert.strictEqual(b.fetches.length, 1, 'renews at once');
    assert.deepStrictEqual(b.queue(), [], 'no init with a possibly expired HMAC');
    assert.deepStrictEqual(b.appended, [], 'no loader before the init');
    await b.respond(200, user('ann', 'fresh'));
    assert.deepStrictEqual(b.appended.map((a) => a.queue.map((c) => c[3].hmac.expiration)), [['fresh']],
      'the loader went in with the fresh init queued');
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.hmac.expiration), ['fresh']);
  },

  async 'Back to a page: fresh object first; logged out meanwhile: no init'() {
    const b = browser({ navigation: { type: 'back_forward', transferSize: 5000 } });
    b.page(data(user('ann', 'stale'), { identity: '/id', ttl: 10000 }));
    await b.respond(401, {});
    assert.deepStrictEqual(b.queue(), [], 'no init');
    assert.deepStrictEqual(b.appended, [], 'nobody to load the product for: no loader');
  },

  async 'from the cache with the endpoint down: init with the page object'() {
    const b = browser({ navigation: { type: 'back_forward', transferSize: 0 } });
    b.page(data(user('ann', 'stale'), { identity: '/id', ttl: 10000 }));
    await b.fail();
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.hmac.expiration), ['stale']);
  },

  async 'a fresh navigation inits at once'() {
    const b = browser({ navigation: { type: 'navigate', transferSize: 4000 } });
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    assert.strictEqual(b.fetches.length, 0);
    assert.strictEqual(b.queue().length, 1);
  },

  async 'bfcache restore or a tab shown late renews at once when due'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    // Frozen in the back/forward cache: timers did not run, the clock did.
    b.timers.clear();
    b.now += 9000;
    b.fire('w:', 'pageshow', { type: 'pageshow', persisted: false });
    await b.advance(0);
    assert.strictEqual(b.fetches.length, 0, 'an ordinary pageshow does nothing');
    b.fire('w:', 'pageshow', { type: 'pageshow', persisted: true });
    await b.advance(0);
    assert.strictEqual(b.fetches.length, 1);
    await b.respond(200, user('ann', 'e2'));
    b.timers.clear();
    b.now += 9000;
    b.fire('d:', 'visibilitychange', { type: 'visibilitychange' });
    await b.advance(0);
    assert.strictEqual(b.fetches.length, 1);
  },

  async 'without a TTL nothing is fetched, ever'() {
    const b = browser({ navigation: { type: 'back_forward', transferSize: 0 } });
    b.page(data(user('ann')));
    b.load();
    b.ready();
    await b.advance(1e9);
    assert.strictEqual(b.fetches.length, 0);
    assert.strictEqual(b.product.inits.length, 1);
  },

  async 'options become the init command\'s fifth element, only when the page has them'() {
    const b = browser();
    const options = { disableBannersAutoMargin: true, hideElvinLauncher: true };
    b.page(data(user('ann'), { options: options }));
    assert.deepStrictEqual(b.queue(), [['init', 'ws', 'en', user('ann'), options]]);
    b.load();
    b.ready();
    b.page(data(user('bob')));
    b.ready();
    assert.deepStrictEqual(b.product.options.map((o) => JSON.stringify(o)), [JSON.stringify(options), undefined]);
  },

  async 'renewal bringing another user inits in the language the endpoint names'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    await b.advance(8000);
    await b.respond(200, user('bob', 'e2'), { 'content-language': 'de' });
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'bob']);
    assert.deepStrictEqual(b.product.languages, ['en', 'de']);
    assert.deepStrictEqual(b.product.errors, []);
  },

  async 'renewal for the same user keeps the language it was inited with'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    await b.advance(8000);
    await b.respond(200, user('ann', 'e2'), { 'content-language': 'de' });
    assert.strictEqual(b.product.identified.length, 1);
    assert.deepStrictEqual(b.product.languages, ['en']);
    // A later switch by a page takes that page's language.
    b.page(data(user('bob', 'e3'), { identity: '/id', ttl: 10000, language: 'cs' }));
    b.ready();
    assert.deepStrictEqual(b.product.languages, ['en', 'cs']);
  },

  async 'a Content-Language that is no two-letter code leaves the page\'s language'() {
    for (const bad of [null, 'en-US', 'DE', '<x>', '']) {
      const b = browser();
      b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000, language: 'fr' }));
      b.load();
      b.ready();
      await b.advance(8000);
      await b.respond(200, user('bob', 'e2'), bad === null ? {} : { 'content-language': bad });
      assert.deepStrictEqual(b.product.languages, ['fr', 'fr'], String(bad));
    }
  },

  async 'a page from the cache inits in the language of the fresh object'() {
    const b = browser({ navigation: { type: 'back_forward', transferSize: 0 } });
    b.page(data(user('ann', 'stale'), { identity: '/id', ttl: 10000 }));
    await b.respond(200, user('ann', 'fresh'), { 'content-language': 'sk' });
    b.load();
    assert.deepStrictEqual(b.product.languages, ['sk']);
  },

  async 'a switch before the loader ran takes the new page\'s language'() {
    const b = browser();
    b.page(data(user('ann')));
    b.page(data(user('bob'), { language: 'cs' }));
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['bob']);
    assert.deepStrictEqual(b.product.languages, ['cs']);
  },

  async 'the loader goes into the head after the init, with the runtime\'s nonce and the marker'() {
    const b = browser();
    b.page(data(user('ann')));
    assert.strictEqual(b.appended.length, 1);
    const a = b.appended[0];
    assert.deepStrictEqual(a.queue, [['init', 'ws', 'en', user('ann')]], 'init queued before the loader went in');
    assert.strictEqual(a.el.getAttribute('src'), LOADER);
    assert.strictEqual(a.el.async, true);
    assert.strictEqual(a.el.getAttribute('nonce'), 'n0nce');
    assert.strictEqual(a.el.getAttribute('data-productfruits'), '');
    assert.strictEqual(a.el.parentNode, b.head);
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann']);
  },

  async 'without a nonce the loader gets none'() {
    const b = browser({ nonce: '' });
    b.page(data(user('ann')));
    assert.strictEqual(b.appended.length, 1);
    assert.strictEqual(b.appended[0].el.getAttribute('nonce'), null);
  },

  async 'one loader element per init after a destroy, none while one is loading'() {
    const b = browser();
    b.page(data(user('ann', 'e1')));
    // Taken out of the head before it ran (a navigation library's head
    // merge): it still runs, so no second one goes in meanwhile.
    b.head.removeChild(b.appended[0].el);
    b.page(data(user('ann', 'e2')));
    b.page(data(user('bob', 'e2')));
    b.anonymous();
    b.page(data(user('ann', 'e2')));
    assert.strictEqual(b.appended.length, 1);
    assert.deepStrictEqual(b.queue(), [['init', 'ws', 'en', user('ann', 'e2')]], 'one init queued, the latest');
    b.head.appendChild(b.appended[0].el);
    b.appended.pop();
    b.load();
    b.ready();
    b.page(data(user('ann', 'e3')));
    assert.strictEqual(b.appended.length, 1, 'identifyUser needs no loader');
    b.page(data(user('bob', 'e3')));
    assert.strictEqual(b.appended.length, 2, 'destroy, then a fresh loader and init, as the npm package re-inits');
    b.load();
    b.ready();
    b.anonymous();
    b.page(data(user('cid', 'e4')));
    b.load();
    b.ready();
    assert.strictEqual(b.appended.length, 3);
    assert.strictEqual(b.loaders().length, 3);
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'bob', 'cid']);
    assert.strictEqual(b.product.destroyed, 2);
    assert.deepStrictEqual(b.product.errors, []);
    assert.deepStrictEqual(b.events, ['init:ann', 'renew:ann', 'switch:bob', 'destroy:bob', 'init:ann', 'renew:ann', 'switch:bob', 'destroy:bob', 'init:cid']);
  },

  async 'a page that holds the loader already gets no second one'() {
    for (const attrs of [{ src: LOADER, async: '' }, { src: LOADER, 'data-productfruits': '' }]) {
      const b = browser({ pageScripts: [browser().element(attrs)] });
      b.page(data(user('ann')));
      assert.deepStrictEqual(b.appended, [], JSON.stringify(attrs));
      assert.deepStrictEqual(b.queue(), [['init', 'ws', 'en', user('ann')]]);
    }
  },

  async 'a runtime that arrives after several pushes acts on the latest'() {
    const b = browser();
    b.push(data(user('ann', 'e1')));
    b.push(data(user('bob', 'e2'), { language: 'cs' }));
    assert.deepStrictEqual(b.queue(), [], 'nothing before the runtime runs');
    b.install();
    assert.deepStrictEqual(b.queue(), [['init', 'ws', 'cs', user('bob', 'e2')]]);
    assert.strictEqual(b.appended.length, 1);
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['bob']);
    assert.deepStrictEqual(b.events, ['init:bob']);
  },

  async 'a runtime after an anonymous page\'s push does nothing; the next push inits'() {
    const b = browser();
    b.push(data(user('ann')));
    b.anonymous();
    b.install();
    assert.deepStrictEqual(b.queue(), []);
    assert.deepStrictEqual(b.appended, []);
    b.push(data(user('bob')));
    assert.deepStrictEqual(b.queue(), [['init', 'ws', 'en', user('bob')]]);
    assert.strictEqual(b.appended.length, 1);
  },

  async 'the runtime run again (a library re-adding its element) installs nothing twice'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    const listeners = b.listenerCount();
    b.install();
    b.install();
    assert.strictEqual(b.listenerCount(), listeners, 'no second set of listeners');
    assert.strictEqual(b.renewals(), 1, 'one renewal timer');
    b.load();
    b.ready();
    assert.strictEqual(b.product.inits.length, 1);
    assert.strictEqual(b.appended.length, 1);
  },

  async 'a runtime with no push before it waits for one'() {
    const b = browser();
    b.install();
    assert.deepStrictEqual(b.appended, []);
    b.push(data(user('ann')));
    assert.strictEqual(b.appended.length, 1);
    b.load();
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann']);
  },

  async 'a renewal answer for an old generation is dropped'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 10000 }));
    b.load();
    b.ready();
    await b.advance(8000);
    b.anonymous();
    await b.respond(200, user('ann', 'e2'));
    assert.strictEqual(b.product.inits.length, 1, 'a logout is not undone by a late answer');
    assert.strictEqual(b.product.running, null);
  },

  async 'every way of reading the queue: init, renew, switch, logout from the ready signals alone'() {
    for (const style of ['push', 'global', 'watch']) {
      const b = browser();
      b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 60000 }));
      b.load(style);
      b.page(data(user('ann', 'e2'), { identity: '/id', ttl: 60000 }));
      assert.strictEqual(b.product.identified.length, 0, style + ': identifyUser waits for ready');
      b.readyAll();
      assert.deepStrictEqual(b.product.identified.map((u) => u.hmac.expiration), ['e2'], style);
      b.page(data(user('bob', 'e3'), { identity: '/id', ttl: 60000 }));
      assert.strictEqual(b.appended.length, 2, style + ': a fresh loader for the new init');
      b.load(style);
      assert.deepStrictEqual(b.product.inits.map((u) => u.hmac.expiration), ['e1', 'e3'], style);
      b.readyAll();
      b.page(data(user('bob', 'e4'), { identity: '/id', ttl: 60000 }));
      b.anonymous();
      if (b.product.poll) b.product.poll();
      assert.strictEqual(b.product.destroyed, 2, style);
      assert.strictEqual(b.product.running, null, style);
      assert.deepStrictEqual(b.product.errors, [], style);
      assert.deepStrictEqual(b.events, ['init:ann', 'renew:ann', 'switch:bob', 'renew:bob', 'destroy:bob'], style);
      assert.deepStrictEqual(b.warnings, [], style);
    }
  },

  async 'the flag alone, or the callback alone, says ready'() {
    const b = browser();
    b.run('window.productFruitsReady = function () { window.appCalled = (window.appCalled || 0) + 1; };');
    b.page(data(user('ann', 'e1')));
    b.load('watch');
    b.page(data(user('ann', 'e2')));
    b.window.productFruitsReady();
    assert.strictEqual(b.product.identified.length, 1, 'the documented callback');
    assert.strictEqual(b.run('window.appCalled'), 1, 'the app\'s own callback still runs');
    const c = browser();
    c.page(data(user('ann', 'e1')));
    c.load('global');
    c.page(data(user('ann', 'e2')));
    c.window.productFruitsIsReady = true;
    c.page(data(user('ann', 'e3')));
    assert.deepStrictEqual(c.product.identified.map((u) => u.hmac.expiration), ['e3'], 'the flag, turned true after the init');
    assert.deepStrictEqual(c.warnings, []);
  },

  async 'ready after 3 s: everything waits for it, nothing is warned'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 2000 }));
    b.load();
    await b.advance(1600);
    await b.respond(200, user('ann', 'e2'));
    assert.strictEqual(b.product.identified.length, 0);
    await b.advance(1400);
    b.readyAll();
    assert.deepStrictEqual(b.product.identified.map((u) => u.hmac.expiration), ['e2']);
    assert.deepStrictEqual(b.warnings, []);
    assert.deepStrictEqual(b.events, ['init:ann', 'renew:ann']);
  },

  async 'never ready (a rejected HMAC): logout still destroys once the wait is over, warned once'() {
    const b = browser();
    b.page(data(user('ann', 'e1')));
    b.load();
    b.anonymous();
    assert.strictEqual(b.product.destroyed, 0, 'waits for ready');
    assert.deepStrictEqual(b.events, ['init:ann'], 'a destroy not done is not announced');
    await b.advance(READY);
    assert.strictEqual(b.product.destroyed, 1);
    assert.deepStrictEqual(b.events, ['init:ann', 'destroy:ann']);
    assert.strictEqual(b.warnings.length, 1, b.warnings.join('\n'));
    assert.match(b.warnings[0], /not ready 10 s after init/);
    assert.match(b.warnings[0], /rejected HMAC \(wrong secret, or another username/);
    assert.match(b.warnings[0], /blocked loader \(CSP, an extension, the network/);
    assert.match(b.warnings[0], /pfhmac doctor https:[/][/]app\.example[/]app[/]page[/]1/);
    // Another user, again never ready: destroy, fresh loader, init, no
    // second warning.
    b.page(data(user('bob', 'e1')));
    b.load();
    await b.advance(READY);
    b.page(data(user('cid', 'e1')));
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'bob', 'cid']);
    assert.strictEqual(b.appended.length, 3);
    assert.strictEqual(b.warnings.length, 1);
    assert.deepStrictEqual(b.product.errors, []);
  },

  async 'never ready: a switch inits the new user, renewal renews by a fresh init'() {
    const b = browser();
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 60000 }));
    b.load();
    b.page(data(user('bob', 'e2'), { identity: '/id', ttl: 60000 }));
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann']);
    await b.advance(READY);
    assert.strictEqual(b.product.destroyed, 1);
    assert.deepStrictEqual(b.product.inits.map((u) => u.username), ['ann', 'bob']);
    b.load();
    await b.advance(60000 * 0.8);
    await b.respond(200, user('bob', 'e3'));
    assert.deepStrictEqual(b.product.identified, [], 'no identifyUser for a product that is not ready');
    assert.deepStrictEqual(b.product.inits.map((u) => u.hmac.expiration), ['e1', 'e2', 'e3'], 'the fresh object by a new init');
    assert.strictEqual(b.appended.length, 3);
    assert.deepStrictEqual(b.events, ['init:ann', 'switch:bob', 'renew:bob']);
    assert.deepStrictEqual(b.product.errors, []);
  },

  async 'the loader fails to load (404, CSP, an extension): warned at once, logout takes the init back'() {
    const b = browser();
    b.page(data(user('ann', 'e1')));
    b.fail404();
    assert.strictEqual(b.warnings.length, 1);
    assert.match(b.warnings[0], /its loader https:[/][/]cdn\.example\.com[/]pf[/]script\.js failed to load/);
    assert.match(b.warnings[0], /pfhmac doctor/);
    b.page(data(user('ann', 'e2')));
    assert.deepStrictEqual(b.queue(), [['init', 'ws', 'en', user('ann', 'e2')]], 'a fresh init, the old one taken back');
    assert.strictEqual(b.appended.length, 2, 'with a fresh loader');
    b.fail404();
    b.anonymous();
    assert.deepStrictEqual(b.queue(), []);
    assert.deepStrictEqual(b.events, ['init:ann', 'renew:ann', 'destroy:ann']);
    assert.strictEqual(b.warnings.length, 1, 'once per document');
  },

  async 'tabs in step: a logout in one tab destroys in the other, which asks its endpoint'() {
    // Tabs that ran ann already: their first init says nothing.
    const bus = [], ran = () => new Map([['productfruits.user', 'ann']]);
    const a = browser({ bus: bus, session: ran() });
    const b = browser({ bus: bus, session: ran() });
    a.page(data(user('ann', 'e1'), { identity: '/id', ttl: 60000 }));
    b.page(data(user('ann', 'e1'), { identity: '/id', ttl: 60000 }));
    a.load(); a.ready(); b.load(); b.ready();
    assert.deepStrictEqual(a.fetches.concat(b.fetches), []);
    a.anonymous();
    await a.advance(0);
    assert.deepStrictEqual(a.said, ['out'], 'only "out", nobody named');
    assert.strictEqual(b.fetches.length, 1, 'the other tab asks the server, trusting no message');
    assert.strictEqual(b.fetches[0].url, ORIGIN + '/id');
    await b.respond(401, {});
    assert.strictEqual(b.product.destroyed, 1);
    assert.deepStrictEqual(b.said, [], 'what it heard it does not repeat');
    assert.deepStrictEqual(b.events, ['init:ann', 'destroy:ann']);
  },

  async 'a new tab\'s first init says "user": the others check'() {
    const bus = [];
    const a = browser({ bus: bus });
    a.page(data(user('ann', 'e1')));
    const b = browser({ bus: bus });
    b.page(data(user('bob', 'e1')));
    await b.advance(0);
    assert.deepStrictEqual(b.said, ['user']);
    assert.strictEqual(a.fetches.length, 0, 'no TTL, no endpoint known: it stops instead');
    assert.deepStrictEqual(a.events, ['init:ann', 'destroy:ann']);
  },

  async 'tabs in step: another user in one tab switches the other, with its own object'() {
    const bus = [], ran = () => new Map([['productfruits.user', 'ann']]);
    const a = browser({ bus: bus, session: ran() });
    const b = browser({ bus: bus, session: ran(), src: '/app/productfruits/identity/lifecycle.0123456789ab.js' });
    a.page(data(user('ann', 'e1')));
    b.page(data(user('ann', 'e1')));
    a.load(); a.ready(); b.load(); b.ready();
    a.page(data(user('bob', 'e2')));
    await a.advance(0);
    assert.deepStrictEqual(a.said, ['user']);
    await b.respond(200, user('bob', 'e9'), { 'content-language': 'cs' });
    assert.deepStrictEqual(b.product.inits.map((u) => u.hmac.expiration), ['e1', 'e9'], 'its own fresh object, never the other tab\'s');
    assert.deepStrictEqual(b.product.languages, ['en', 'cs']);
    assert.deepStrictEqual(b.said, []);
    // A new document in tab a for the same user says nothing; one for
    // another user does (the tab's sessionStorage remembers).
    const session = new Map([['productfruits.user', 'bob']]);
    const a2 = browser({ bus: bus, session: session });
    a2.page(data(user('bob', 'e3')));
    await a2.advance(0);
    assert.deepStrictEqual(a2.said, []);
    const a3 = browser({ bus: bus, session: session });
    a3.page(data(user('cid', 'e3')));
    await a3.advance(0);
    assert.deepStrictEqual(a3.said, ['user']);
    assert.strictEqual(b.fetches.length, 1);
  },

  async 'tabs in step without a TTL: the endpoint comes from the runtime\'s own URL'() {
    const forms = [
      ['/app/productfruits/identity/lifecycle.0123456789ab.js', ORIGIN + '/app/productfruits/identity'],
      ['/app/page/1?productfruits=lifecycle.0123456789ab.js', ORIGIN + '/app/page/1?productfruits=identity'],
    ];
    const ran = () => new Map([['productfruits.user', 'ann']]);
    for (const [src, want] of forms) {
      const bus = [];
      const a = browser({ bus: bus, session: ran() });
      const b = browser({ bus: bus, src: src, session: ran() });
      a.page(data(user('ann')));
      b.page(data(user('ann')));
      a.anonymous();
      await a.advance(0);
      assert.strictEqual(b.fetches.length, 1, src);
      assert.strictEqual(b.fetches[0].url, want, src);
      await b.respond(200, user('ann'));
      assert.deepStrictEqual(b.events, ['init:ann'], src + ': the same user, nothing changes');
    }
    // An inline runtime has no endpoint: it stops.
    const bus = [];
    const a = browser({ bus: bus, session: ran() });
    const b = browser({ bus: bus, session: ran() });
    a.page(data(user('ann')));
    b.page(data(user('ann')));
    a.page(data(user('bob')));
    await a.advance(0);
    assert.deepStrictEqual(b.fetches, []);
    assert.deepStrictEqual(b.events, ['init:ann', 'destroy:ann']);
  },
};

(async () => {
  let n = 0;
  for (const [name, fn] of Object.entries(cases)) {
    try {
      await fn();
      n++;
    } catch (e) {
      console.error('FAIL: ' + name + '\n' + (e && e.stack || e));
      process.exit(1);
    }
  }
  console.log(n + ' cases passed');
})();
