package demoapp

import (
	"bytes"
	_ "embed"
	"html/template"
	"io"
	"log/slog"
	"net/http"

	"github.com/pfverify/productfruits"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// Page is what the examples' one server-rendered page shows. Its template
// (page.html) places the Product Fruits snippet itself, {{.ProductFruits}}
// in the <head>, as an app does with Config.Inject off.
type Page struct {
	// Title is the document's title, such as "Product Fruits with chi".
	Title string
	// ProductFruits is the snippet for the page's <head>: the example sets
	// it from productfruits.TemplateScript(r). It is empty for an anonymous
	// visitor.
	ProductFruits template.HTML
	// Body, when set, replaces the default body: the signed-in user with a
	// logout form (POST /logout), or else a login form (POST /login).
	Body template.HTML
	// Note is an optional line of text under the body, such as which
	// instance served the page.
	Note string
	// Username is the signed-in user the default body shows. Render fills
	// it from productfruits.FromContext when it is empty; set it yourself
	// for Execute.
	Username string
}

// Execute writes p's HTML to w, for frameworks that write responses their
// own way (gin's c.Data, Fiber's c.Send): the caller sets the headers
// Render would set (Content-Type, Cache-Control).
func (p Page) Execute(w io.Writer) error {
	return pageTemplate.Execute(w, p)
}

// Render writes p as r's page, for the user the middleware signed for r
// (productfruits.FromContext). Each such page carries its own user's
// hash, so it is marked Cache-Control: private, no-store. When the page
// cannot be rendered, Render logs why and answers 500 instead.
func Render(w http.ResponseWriter, r *http.Request, p Page) {
	if p.Username == "" {
		user, _ := productfruits.FromContext(r.Context())
		p.Username = user.Username
	}
	var buf bytes.Buffer
	if err := p.Execute(&buf); err != nil {
		slog.ErrorContext(r.Context(), "rendering the page", "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// ServeHTTP serves p as r's page, with ProductFruits set to
// productfruits.TemplateScript(r): Render for an example whose page needs
// nothing more.
func (p Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.ProductFruits = productfruits.TemplateScript(r)
	Render(w, r, p)
}

// Injected returns a handler that serves p as r's page without placing
// the snippet itself, for apps whose middleware injects it
// (productfruits.Config.Inject).
func (p Page) Injected() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Render(w, r, p)
	})
}
