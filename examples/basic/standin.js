// Stand-in for the Product Fruits loader, served by the demo only, where
// the real product cannot load (demo workspace, no network). It keeps the
// product's documented browser contract: window.$productFruits is a queue
// whose commands it runs, those pushed before it loaded first; an init
// starts the product once its HMAC verifies (here the app checks it at
// /demo/verify, as the product's servers would); productFruitsIsReady,
// productFruitsReady() and the productfruits_ready event say it runs;
// productFruits.identifyUser hands it a renewed user object;
// productFruits.services.destroy stops it. It reports on the page, and
// keeps the queue it found in window.__pfStandIn.saw and every renewed
// user in window.__pfIdentified for the browser test (e2e/demo).
(function () {
  'use strict';
  var w = window;
  var rec = w.__pfStandIn = w.__pfStandIn || { loads: 0 };
  if (rec.loads++ > 0) return; // installed: a fresh loader element does nothing
  var me = document.currentScript;
  var VERIFY = new URL('/demo/verify', (me && me.src) || location.href).href;
  var identified = w.__pfIdentified = w.__pfIdentified || [];
  var pf = w.productFruits = w.productFruits || {};
  var running = null; // {user, workspace, ok} of the current init

  function show(text, ok) {
    function put() {
      var el = document.getElementById('productfruits-standin');
      if (!el) {
        el = document.createElement('p');
        el.id = 'productfruits-standin';
        el.setAttribute('role', 'status');
        document.body.appendChild(el);
      }
      el.textContent = 'Product Fruits (stand-in) ' + text;
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
    if (running) return; // init "can be called only once" without a destroy
    var run = running = { user: user, workspace: cmd[1], ok: false };
    verify(cmd[1], user).then(function (res) {
      if (running !== run) return; // destroyed meanwhile
      if (!res.verified) {
        show('did not load for ' + user.username + ' \u2014 HMAC rejected: ' + res.error, false);
        return;
      }
      run.ok = true;
      show('loaded for ' + user.username + ' \u2014 HMAC verified', true);
      w.productFruitsIsReady = true;
      if (typeof w.productFruitsReady === 'function') w.productFruitsReady();
      w.dispatchEvent(new Event('productfruits_ready'));
    });
  }

  pf.identifyUser = function (u) {
    identified.push(u);
    var run = running;
    if (!run || !run.ok) return;
    verify(run.workspace, u).then(function (res) {
      if (running !== run) return;
      var exp = u.hmac && u.hmac.expiration;
      if (res.verified) show('loaded for ' + u.username + ' \u2014 renewed HMAC verified' + (exp ? ' (expires ' + exp + ')' : ''), true);
      else show('did not load for ' + u.username + ' \u2014 HMAC rejected: ' + res.error, false);
    });
  };
  pf.services = {
    destroy: function () {
      if (!running) return;
      show('stopped (was running for ' + running.user.username + ')', true);
      running = null;
      w.productFruitsIsReady = false;
    }
  };

  var queue = w.$productFruits = w.$productFruits || [];
  rec.saw = JSON.stringify(queue);
  function run(cmd) { if (cmd && cmd[0] === 'init') init(cmd); }
  queue.slice().forEach(run);
  queue.push = function () {
    for (var i = 0; i < arguments.length; i++) run(arguments[i]);
    return queue.length;
  };
})();
