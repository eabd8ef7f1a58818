// The benchmark's stand-in for the Product Fruits loader
// (https://app.productfruits.com/static/script.js, unreachable here),
// keeping the product's documented browser contract: it processes the
// commands on window.$productFruits pushed before it ran, and later ones
// as they come; ['init', workspace, language, user] is checked by its
// origin's servers (POST /verify: the HMAC against the workspace secret),
// then window.productFruitsIsReady turns true, productFruitsReady() is
// called and the productfruits_ready event fires. What it saw is counted
// in window.__standin for the benchmark: loads, inits, verified,
// rejected. The rest of the file is padding that the browser must parse,
// so that it weighs what a real loader of about 300 KiB does.
(function () {
  'use strict';
  var w = window;
  var st = w.__standin = w.__standin || { loads: 0, inits: 0, verified: 0, rejected: [] };
  st.loads++;
  if (st.loads > 1) return; // a fresh loader element: installed already
  st.ranAt = performance.now();
  var me = document.currentScript;
  var VERIFY = new URL('/verify', (me && me.src) || location.href).href;
  var pf = w.productFruits = w.productFruits || {};
  var running = null;
  function announce() {
    w.productFruitsIsReady = true;
    if (typeof w.productFruitsReady === 'function') w.productFruitsReady();
    w.dispatchEvent(new Event('productfruits_ready'));
  }
  function verify(workspace, user) {
    // text/plain: a simple request, no preflight, as a product would
    // arrange for its hot path.
    return fetch(VERIFY, { method: 'POST', body: JSON.stringify({ workspace: workspace, user: user }) })
      .then(function (r) { return r.json(); }, function (e) { return { verified: false, error: String(e) }; });
  }
  function init(cmd) {
    st.inits++;
    var run = running = { user: cmd[3] || {} };
    verify(cmd[1], run.user).then(function (res) {
      if (running !== run) return;
      if (!res.verified) { st.rejected.push(res.error || 'rejected'); return; }
      st.verified++;
      announce();
    });
  }
  pf.identifyUser = function (u) { if (running) running.user = u; };
  pf.services = { destroy: function () { running = null; w.productFruitsIsReady = false; } };
  function run(cmd) { if (cmd && cmd[0] === 'init') init(cmd); }
  var q = w.$productFruits = w.$productFruits || [];
  var waiting = q.slice();
  q.push = function () {
    for (var i = 0; i < arguments.length; i++) run(arguments[i]);
    return q.length;
  };
  for (var i = 0; i < waiting.length; i++) run(waiting[i]);
})();
