// Stand-in for the Product Fruits loader, served by the basic demo only,
// where the real product cannot load (demo workspace, no network). It
// plays the product's documented browser API:
//   - window.$productFruits is a queue: the commands pushed before the
//     loader ran are processed when it loads, and from then on push runs
//     each command at once;
//   - ['init', workspace, language, user]: the product starts for user,
//     once its HMAC verifies (checked by the demo app at /demo/verify, as
//     the product's servers would: hash and expiry); a rejected HMAC means
//     the product does not load. init "can be called only once": a second
//     init without a destroy is an error;
//   - productFruits.identifyUser(user): a fresh user object for the same
//     user, verified the same way;
//   - productFruits.services.destroy(): stops the product; a new init may
//     start it again;
//   - window.productFruitsIsReady and the productfruits_ready event once
//     an init has verified.
// Everything it sees is recorded in window.__pfStandIn for the browser
// tests: loads (times the loader ran in this document), saw (the queue
// as the loader found it, JSON), inits, and events {type:
// init|identify|destroy|rejected|error, username, expiration, error, at}. window.__pfIdentified keeps every user handed to
// identifyUser.
(function () {
  'use strict';
  var NAME = 'Product Fruits (stand-in)';
  var w = window;
  var rec = w.__pfStandIn = w.__pfStandIn || { loads: 0, inits: 0, events: [] };
  var identified = w.__pfIdentified = w.__pfIdentified || [];
  rec.loads++;
  var pf = w.productFruits = w.productFruits || {};
  var running = null; // {user, workspace, ok} of the current init
  // The product's servers are where its loader came from, whatever the
  // page's <base href> says.
  var me = document.currentScript;
  var VERIFY = new URL('/demo/verify', (me && me.src) || location.href).href;

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
    }
    if (document.body) put(); else document.addEventListener('DOMContentLoaded', put, { once: true });
  }

  function verify(workspace, user) {
    return fetch(VERIFY, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ workspaceCode: workspace, user: user })
    }).then(function (r) { return r.json(); }, function (err) { return { verified: false, error: String(err) }; });
  }

  function init(cmd) {
    var user = cmd[3] || {};
    if (running) {
      record('error', user, 'init for ' + user.username + ' while the product runs for ' + running.user.username + ' (destroy first)');
      return;
    }
    rec.inits++;
    var me = running = { user: user, workspace: cmd[1], ok: false };
    verify(cmd[1], user).then(function (res) {
      if (running !== me) return; // destroyed meanwhile
      if (!res.verified) {
        record('rejected', user, res.error);
        return;
      }
      me.ok = true;
      record('init', user);
      w.productFruitsIsReady = true;
      w.dispatchEvent(new Event('productfruits_ready'));
    });
  }

  pf.identifyUser = function (u) {
    identified.push(u);
    if (!running || !running.ok) {
      record('error', u, 'identifyUser before the product is ready');
      return;
    }
    if (running.user.username !== u.username) {
      record('error', u, 'identifyUser switched users: ' + running.user.username + ' to ' + u.username + ' (destroy and init instead)');
      return;
    }
    var me = running;
    verify(me.workspace, u).then(function (res) {
      if (running !== me) return;
      if (res.verified) {
        me.user = u;
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
      w.productFruitsIsReady = false;
      record('destroy', was);
    }
  };

  function run(cmd) {
    if (cmd && cmd[0] === 'init') init(cmd);
  }
  if (rec.loads > 1) {
    record('error', null, 'the loader ran ' + rec.loads + ' times in one document');
    return;
  }
  var queue = w.$productFruits = w.$productFruits || [];
  var waiting = queue.slice();
  rec.saw = JSON.stringify(waiting);
  queue.push = function () {
    for (var i = 0; i < arguments.length; i++) run(arguments[i]);
    return queue.length;
  };
  for (var i = 0; i < waiting.length; i++) run(waiting[i]);
})();
