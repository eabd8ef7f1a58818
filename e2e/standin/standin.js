// Stand-in for the Product Fruits loader, served by the browser tests (see
// standin.go), where the real product cannot load (no network). It
// keeps the product's documented browser contract and no more: the
// product's help pages, its npm package product-fruits 1.1.0 (index.js,
// types.d.ts) and react-product-fruits 2.3.0:
//   - window.$productFruits is a queue; the commands pushed before the
//     loader ran are processed when it loads, later ones as they come
//     (how is up to the variant, below);
//   - ['init', workspace, language, user]: the product starts for user,
//     once its HMAC verifies (checked by the app at /demo/verify (Verifier), as
//     the product's servers would: hash and expiry); a rejected HMAC means
//     the product does not load. init "can be called only once": a second
//     init without a destroy is an error;
//   - window.productFruitsIsReady turns true, then productFruitsReady()
//     and the productfruits_ready event, once an init verified;
//   - productFruits.identifyUser(user): a fresh user object for the same
//     user, verified the same way; before ready it is an error;
//   - productFruits.services.destroy(): stops the product; a new init may
//     start it again; with nothing inited it is an error;
//   - the loader may run again in a document: the npm package appends a
//     new loader element on every init(); a later run installs nothing.
// The variant comes from the stand-in's own URL, ?variant=:
//   push (default): replaces the queue's push, resets the flag on destroy;
//   global: replaces window.$productFruits with an object of its own,
//     announces ready a task later, keeps the flag true after destroy;
//   watch: reads the queue and watches the array on a timer of its own,
//     replacing nothing;
//   slow: as push, ready only 3 s after the HMAC verified;
//   reject: as push, but its servers reject every HMAC (the hash it
//     checks is not the page's): it never gets ready.
// Everything it sees is recorded in window.__pfStandIn for the browser
// tests: loads (times the loader ran in this document), saw (the queue
// as the first run found it, JSON), inits, variant, and events {type:
// init|identify|destroy|rejected|error, username, expiration, error, at}.
// window.__pfIdentified keeps every user handed to identifyUser.
(function () {
  'use strict';
  var NAME = 'Product Fruits (stand-in)';
  var w = window;
  var me = document.currentScript;
  var rec = w.__pfStandIn = w.__pfStandIn || { loads: 0, inits: 0, events: [] };
  rec.loads++;
  if (rec.loads > 1) {
    // A fresh loader element (the npm package's re-init): the product is
    // installed; what was pushed meanwhile is processed as always.
    if (rec.poll) rec.poll();
    return;
  }
  var src = new URL((me && me.src) || location.href);
  var variant = rec.variant = src.searchParams.get('variant') || 'push';
  var identified = w.__pfIdentified = w.__pfIdentified || [];
  var pf = w.productFruits = w.productFruits || {};
  var running = null; // {user, workspace, ok} of the current init
  // The product's servers are where its loader came from, whatever the
  // page's <base href> says.
  var VERIFY = new URL('/demo/verify', src.href).href;

  function expiration(u) { return (u && u.hmac && u.hmac.expiration) || null; }

  function record(type, u, error) {
    var ev = { type: type, username: u ? u.username : null, expiration: expiration(u), error: error || null, at: Date.now() };
    rec.events.push(ev);
    show(ev);
  }

  // show reports the latest event in the page's status line, for people.
  function show(ev) {
    var text, ok;
    switch (ev.type) {
      case 'init': text = 'loaded for ' + ev.username + ' \u2014 HMAC verified'; ok = true; break;
      case 'identify': text = 'loaded for ' + ev.username + ' \u2014 renewed HMAC verified' + (ev.expiration ? ' (expires ' + ev.expiration + ')' : ''); ok = true; break;
      case 'destroy': text = 'stopped (was running for ' + ev.username + ')'; ok = true; break;
      case 'rejected': text = 'did not load for ' + ev.username + ' \u2014 HMAC rejected: ' + ev.error; ok = false; break;
      default: text = 'API misuse: ' + ev.error; ok = false;
    }
    function put() {
      var el = document.getElementById('productfruits-standin');
      if (!el) {
        el = document.createElement('p');
        el.id = 'productfruits-standin';
        el.setAttribute('role', 'status');
        document.body.appendChild(el);
      }
      el.textContent = NAME + ' ' + text;
      el.setAttribute('data-verified', ok ? 'true' : 'false');
      el.setAttribute('data-state', ev.type);
    }
    if (document.body) put(); else document.addEventListener('DOMContentLoaded', put, { once: true });
  }

  function verify(workspace, user) {
    if (variant === 'reject' && user && user.hmac) {
      // Its servers hold another secret: the hash it checks is not the one
      // the app signed.
      user = JSON.parse(JSON.stringify(user));
      user.hmac.hash = (user.hmac.hash.charAt(0) === 'A' ? 'B' : 'A') + user.hmac.hash.slice(1);
    }
    return fetch(VERIFY, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ workspaceCode: workspace, user: user })
    }).then(function (r) { return r.json(); }, function (err) { return { verified: false, error: String(err) }; });
  }

  function announce(run) {
    if (running !== run) return;
    w.productFruitsIsReady = true;
    if (typeof w.productFruitsReady === 'function') w.productFruitsReady();
    w.dispatchEvent(new Event('productfruits_ready'));
  }

  function init(cmd) {
    var user = cmd[3] || {};
    if (running) {
      record('error', user, 'init for ' + user.username + ' while the product runs for ' + running.user.username + ' (destroy first)');
      return;
    }
    rec.inits++;
    var run = running = { user: user, workspace: cmd[1], ok: false };
    verify(cmd[1], user).then(function (res) {
      if (running !== run) return; // destroyed meanwhile
      if (!res.verified) {
        record('rejected', user, res.error);
        return;
      }
      run.ok = true;
      record('init', user);
      if (variant === 'slow') setTimeout(function () { announce(run); }, 3000);
      else if (variant === 'global') setTimeout(function () { announce(run); }, 0);
      else announce(run);
    });
  }

  pf.identifyUser = function (u) {
    identified.push(u);
    if (!running || !running.ok || w.productFruitsIsReady !== true) {
      record('error', u, 'identifyUser before the product is ready');
      return;
    }
    if (running.user.username !== u.username) {
      record('error', u, 'identifyUser switched users: ' + running.user.username + ' to ' + u.username + ' (destroy and init instead)');
      return;
    }
    var run = running;
    verify(run.workspace, u).then(function (res) {
      if (running !== run) return;
      if (res.verified) {
        run.user = u;
        record('identify', u);
      } else {
        record('rejected', u, res.error);
      }
    });
  };
  pf.services = {
    destroy: function () {
      if (!running) {
        record('error', null, 'destroy with nothing running');
        return;
      }
      var was = running.user;
      running = null;
      if (variant !== 'global') w.productFruitsIsReady = false;
      record('destroy', was);
    }
  };

  function run(cmd) {
    if (cmd && cmd[0] === 'init') init(cmd);
  }
  var queue = w.$productFruits = w.$productFruits || [];
  var waiting = queue.slice();
  rec.saw = JSON.stringify(waiting);
  switch (variant) {
    case 'global':
      w.$productFruits = {
        push: function () {
          for (var i = 0; i < arguments.length; i++) run(arguments[i]);
          return 0;
        }
      };
      break;
    case 'watch':
      var seen = queue.length;
      rec.poll = function () { while (seen < queue.length) run(queue[seen++]); };
      setInterval(rec.poll, 100);
      break;
    default:
      queue.push = function () {
        for (var i = 0; i < arguments.length; i++) run(arguments[i]);
        return queue.length;
      };
  }
  for (var i = 0; i < waiting.length; i++) run(waiting[i]);
})();
