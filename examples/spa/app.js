// Starts Product Fruits for the signed-in user of this single-page app: the
// server signs the user at its identity endpoint, the page calls init itself.
const identity = () =>
  fetch('/productfruits/identity', { credentials: 'same-origin', cache: 'no-store' })
    .then((res) => (res.ok ? res.json() : null)); // 401: nobody is signed in

Promise.all([fetch('/config.json').then((res) => res.json()), identity()]).then(([config, user]) => {
  if (!user) return;
  window.$productFruits = window.$productFruits || [];
  window.productFruits = window.productFruits || {};
  window.productFruits.scrV = '2';
  $productFruits.push(['init', config.workspaceCode, config.language, user]);
  const loader = document.createElement('script');
  loader.async = true;
  loader.src = 'https://app.productfruits.com/static/script.js';
  document.head.appendChild(loader);

  // The hmac expires: hand the product a freshly signed user before it does.
  setInterval(() => identity().then((fresh) => {
    if (fresh && window.productFruitsIsReady) window.productFruits.identifyUser(fresh);
  }), config.renewAfterMs);
});
