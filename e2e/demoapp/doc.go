// Package demoapp holds the app side that the example programs share, so
// that each example shows only how its framework wires the productfruits
// middleware: the demo login (a username kept in a gorilla/sessions
// session, with login and logout handlers) and the one server-rendered
// page, which places the snippet in its <head>.
//
// A typical example:
//
//	s := demoapp.NewSessions()
//	pf, err := productfruits.New(productfruits.Config{
//		WorkspaceCode: workspaceCode,
//		Secret:        productfruits.NewSecret(secret),
//		Username:      s.Username(),
//	})
//	...
//	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
//		demoapp.Render(w, r, demoapp.Page{Title: "…", ProductFruits: productfruits.TemplateScript(r)})
//	})
//	mux.HandleFunc("POST /login", s.Login)
//	mux.HandleFunc("POST /logout", s.Logout)
//	return pf.Handler(mux), nil
package demoapp
