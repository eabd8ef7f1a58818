// What the test reads from a loaded page: the document as a list of lines,
// one a node, that leaves out the elements carrying data-productfruits
// (the snippet's three and the loader the runtime appends), and what the
// snippet and the stand-in loader left behind.
// A line is the node's depth, '|', and the node: an element as its
// namespace, local name and attributes in the parser's order; text as a
// JSON string, with the text on both sides of a left-out element joined,
// as the parser would have built it without that element; template
// contents and open shadow roots under their host.
(function (w, d) {
  var NS = {
    'http://www.w3.org/1999/xhtml': '',
    'http://www.w3.org/2000/svg': 'svg:',
    'http://www.w3.org/1998/Math/MathML': 'math:'
  };
  var lines = [], snippet = [];
  function name(ns, local) {
    if (ns === null) return local;
    return (ns in NS ? NS[ns] : '{' + ns + '}') + local;
  }
  function element(el, depth) {
    var s = depth + '|<' + name(el.namespaceURI, el.localName);
    for (var i = 0; i < el.attributes.length; i++) {
      var a = el.attributes[i];
      s += ' ' + (a.namespaceURI ? '{' + a.namespaceURI + '}' : '') + a.name + '=' + JSON.stringify(a.value);
    }
    lines.push(s + '>');
    walk(el, depth + 1);
    if (el.content && el.content.nodeType === 11) {
      lines.push((depth + 1) + '|#template-content');
      walk(el.content, depth + 2);
    }
    if (el.shadowRoot) {
      lines.push((depth + 1) + '|#shadow-root ' + el.shadowRoot.mode);
      walk(el.shadowRoot, depth + 2);
    }
  }
  function walk(parent, depth) {
    var text = null;
    for (var n = parent.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 3) {
        text = (text === null ? '' : text) + n.data;
        continue;
      }
      // The snippet's elements: those marked, and the loader's preload
      // (unmarked, the only preload of the corpus server's loader.js).
      if (n.nodeType === 1 && (n.hasAttribute('data-productfruits') ||
          n.localName === 'link' && n.getAttribute('rel') === 'preload' && /\/loader\.js$/.test(n.getAttribute('href') || ''))) {
        snippet.push({
          tag: name(n.namespaceURI, n.localName),
          src: n.getAttribute('src') || n.getAttribute('href') || '',
          nonce: n.nonce || '',
          inHead: n.parentNode === d.head,
          parent: n.parentNode.nodeName
        });
        continue;
      }
      if (text !== null) {
        lines.push(depth + '|' + JSON.stringify(text));
        text = null;
      }
      switch (n.nodeType) {
      case 1: element(n, depth); break;
      case 4: lines.push(depth + '|<![CDATA[' + JSON.stringify(n.data)); break;
      case 7: lines.push(depth + '|<?' + n.target + ' ' + JSON.stringify(n.data)); break;
      case 8: lines.push(depth + '|<!--' + JSON.stringify(n.data)); break;
      case 10: lines.push(depth + '|<!DOCTYPE ' + n.name + ' ' + JSON.stringify(n.publicId) + ' ' + JSON.stringify(n.systemId)); break;
      default: lines.push(depth + '|#node ' + n.nodeType);
      }
    }
    if (text !== null) lines.push(depth + '|' + JSON.stringify(text));
  }
  walk(d, 0);
  // The browser fetches a page's icon on its own schedule, after the load
  // event: whether that fetch has failed when the test reads the console
  // is a race, so the test leaves out what the console says about it.
  var icons = [location.origin + '/favicon.ico'];
  var links = d.getElementsByTagName('link');
  for (var i = 0; i < links.length; i++) {
    if (/(^|\s)[a-z-]*icon[a-z-]*(\s|$)/i.test(links[i].getAttribute('rel') || '')) icons.push(links[i].href);
  }
  var root = d.documentElement;
  // The marker tells the test where this page's console ends: what the
  // page logged before it arrives before it.
  console.debug('productfruits-corpus: snapshot taken');
  return {
    url: location.href,
    contentType: d.contentType,
    characterSet: d.characterSet,
    compatMode: d.compatMode,
    rootNamespace: root ? root.namespaceURI || '' : '',
    parserErrors: d.getElementsByTagNameNS('*', 'parsererror').length,
    dom: lines,
    icons: icons,
    snippet: snippet,
    loaderRuns: w.__loaderRuns || 0,
    loaderSaw: w.__loaderSaw || '',
    queue: JSON.stringify(w.$productFruits === undefined ? null : w.$productFruits)
  };
})(window, document)
