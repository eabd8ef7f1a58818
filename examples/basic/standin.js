// Stand-in for the Product Fruits loader, served by the basic demo only,
// where the real product cannot load (demo workspace, no network). It plays
// the product's part in identity verification: it reads the init call from
// window.$productFruits, has the demo app check the user object's HMAC as
// the product would, and on success reports on the page, provides
// productFruits.identifyUser and signals readiness (productFruitsIsReady,
// the productfruits_ready event). Every user handed to identifyUser is
// recorded in window.__pfIdentified so that renewal can be observed.
(function () {
  'use strict';
  var NAME = 'Product Fruits (stand-in)';
  var pf = window.productFruits = window.productFruits || {};
  var identified = window.__pfIdentified = window.__pfIdentified || [];
  var queue = window.$productFruits || [];
  var init = null;
  for (var i = 0; i < queue.length; i++) {
    if (queue[i] && queue[i][0] === 'init') {
      init = queue[i];
      break;
    }
  }

  function show(text, ok) {
    function put() {
      var el = document.getElementById('productfruits-standin');
      if (!el) {
        el = document.createElement('p');
        el.id = 'productfruits-standin';
        el.setAttribute('role', 'status');
        document.body.appendChild(el);
      }
      el.textContent = text;
      el.setAttribute('data-verified', ok ? 'true' : 'false');
    }
    if (document.body) {
      put();
    } else {
      document.addEventListener('DOMContentLoaded', put, { once: true });
    }
  }

  function verify(user) {
    return fetch('/demo/verify', {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ workspaceCode: init[1], user: user })
    }).then(function (r) { return r.json(); });
  }

  if (!init) {
    show(NAME + ' found no init call in window.$productFruits', false);
    return;
  }
  var user = init[3] || {};
  verify(user).then(function (res) {
    if (!res.verified) {
      // The real product does not load at all in this case.
      show(NAME + ' did not load for ' + user.username + ' \u2014 HMAC rejected: ' + res.error, false);
      return;
    }
    pf.identifyUser = function (u) {
      identified.push(u);
      verify(u).then(function (res) {
        var exp = u.hmac && u.hmac.expiration ? ' (expires ' + u.hmac.expiration + ')' : '';
        show(NAME + ' loaded for ' + u.username + ' \u2014 ' +
          (res.verified ? 'renewed HMAC verified' + exp : 'renewed HMAC rejected: ' + res.error), res.verified);
      });
    };
    show(NAME + ' loaded for ' + user.username + ' \u2014 HMAC verified', true);
    window.productFruitsIsReady = true;
    window.dispatchEvent(new Event('productfruits_ready'));
  }, function (err) {
    show(NAME + ' could not check the HMAC: ' + err, false);
  });
})();
