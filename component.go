package productfruits

import (
	"context"
	"io"
)

// Component is a value that renders itself into w for the request whose
// context ctx is. It is templ's Component interface, declared here so
// that the library does not import templ: any Component is a
// templ.Component.
type Component interface {
	Render(ctx context.Context, w io.Writer) error
}

// Script renders the snippet for the request whose context it is given,
// as TemplateScript does for html/template: in a templ page's head,
// @productfruits.Script. It writes the user's snippet (or the anonymous
// page's script), nothing for a context the middleware did not see, and
// nothing once the snippet was emitted for the request (by injection,
// TemplateScript or an earlier Render), so a page never carries two.
// Config.Nonce and Config.LanguageFunc are called with the request
// carrying the render context, where templ.WithNonce puts the nonce that
// templ.GetNonce reads. It returns only the writer's error.
var Script Component = scriptComponent{}

type scriptComponent struct{}

func (scriptComponent) Render(ctx context.Context, w io.Writer) error {
	st := stateFrom(ctx)
	if st == nil || st.snippet.Load() != snippetOpen {
		return nil
	}
	// The render context descends from the request's own and may add to
	// it (templ's nonce): the hooks see it.
	s := st.script(st.r.WithContext(ctx), "Script")
	if s == "" {
		return nil
	}
	_, err := io.WriteString(w, string(s))
	return err
}
