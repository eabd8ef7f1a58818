// Package corpus is the browser half of the proof that injecting the
// snippet leaves real pages as they were. The conformance module proves,
// with golang.org/x/net/html, that every document of the shared HTML
// corpus comes out of the middleware byte for byte as it went in or as the
// original tree plus the snippet in <head>. This package's test loads a
// fixed sample of the injected real-world pages, and every injected XHTML
// page, in headless Chromium, once as the original and once through the
// middleware, and requires of the injected page what a visitor would
// notice: the lifecycle runtime fetched from the middleware's route; the
// product's init pushed once, for the right user, before the loader runs;
// the loader appended by the runtime and run once; the same console
// errors, uncaught exceptions and dialogs as the original; an XHTML page
// still rendered as XHTML; and the document, once the snippet's two
// script elements and the loader are left out, equal to the original node
// for node.
//
// Each page is loaded twice over. First with the page's own scripts
// blocked by a Content-Security-Policy whose nonce only the snippet
// carries (the middleware takes it from the response's header): the
// browser navigates to the page for real, so its encoding comes from the
// page's own <meta charset>, quirks mode from its doctype, and <noscript>
// is parsed as it is for visitors, while no page script can change the
// document between two loads, so the documents can be compared exactly.
// Parsing the fetched text with DOMParser instead would decode every page
// as UTF-8, parse <noscript> as markup and run no snippet. Then with the
// page's inline scripts running (its other scripts are not found or
// blocked), where the snippet meets them: the init, the loader and the
// console are checked again, but the documents are not compared, as page
// scripts change them differently from one load to the next.
//
// The test reaches nothing outside its server: every other host fails
// to resolve, and each tab blocks every URL outside the server. Set
// PRODUCTFRUITS_CORPUS_PAGES=all to load every injected page (about four
// minutes), or to a comma-separated list of page names to load those.
package corpus
