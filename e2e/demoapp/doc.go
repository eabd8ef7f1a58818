// Package demoapp is the app side of the end-to-end tests' apps: the demo
// login (a username kept in a gorilla/sessions session, with login and
// logout handlers). The programs in examples/ each carry their own, so
// that they can be copied as they are.
//
// A typical test app:
//
//	s := demoapp.NewSessions()
//	pf, err := productfruits.New(productfruits.Config{
//		WorkspaceCode: workspaceCode,
//		Secret:        productfruits.NewSecret(secret),
//		Username:      s.Username(),
//	})
//	...
//	mux.Handle("GET /{$}", page)
//	mux.HandleFunc("POST /login", s.Login)
//	mux.HandleFunc("POST /logout", s.Logout)
//	return pf.Handler(mux), nil
package demoapp
