// Package productfruits is net/http middleware for Product Fruits user
// identity verification.
//
// With identity verification switched on in a Product Fruits workspace, the
// browser must hand the product an HMAC-SHA256 of the username (optionally
// with an expiration) computed on the server with the workspace's secret.
// One wrong byte and the product silently stops loading for that user.
//
// The middleware finds the logged-in username (ContextUsername,
// SessionUsername or a function of your own), signs it exactly as the
// product expects (Signer), puts the user object in the request context
// (FromContext), and, with Config.Inject, streams a small snippet into the
// HTML pages the app writes: the page's user object and a script element
// for the lifecycle runtime, which the middleware serves beside the
// identity endpoint (RuntimePath) for browsers to cache, and which queues
// the product's init and loads the product. TemplateScript places the same
// snippet in html/template pages, and the identity endpoint
// (Config.IdentityPath) lets pages renew an expiring HMAC without a reload;
// the runtime does that by itself when Config.TTL is set.
//
// Per request, Config.LanguageFunc, Config.Skip, SkipInject and SetProps
// adjust what the snippet carries; ScriptFor and Script render it where
// the middleware does not see the page (Fiber, templ); KnowledgeBaseURL
// builds the protected knowledge base's link.
//
// The middleware belongs inside any compression middleware: it leaves
// compressed responses untouched.
package productfruits
