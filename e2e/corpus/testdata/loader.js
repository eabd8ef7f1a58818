// A stand-in for the product's loader. It counts its runs, keeps a copy of
// the command queue as it found it, and takes over the queue's push as the
// real loader does: the page's lifecycle runtime tells by that that the
// loader has read the queue.
(function (w) {
  w.__loaderRuns = (w.__loaderRuns || 0) + 1;
  var q = w.$productFruits || [];
  w.__loaderSaw = JSON.stringify(q);
  q.push = function () { return Array.prototype.push.apply(q, arguments); };
  w.$productFruits = q;
})(window);
