package productfruits_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/pfverify/productfruits"
)

func ExampleSigner_Sign() {
	signer, err := productfruits.NewSigner("SecretkeyFromWorkspaceSettings")
	if err != nil {
		log.Fatal(err)
	}
	h, _ := signer.Sign("testUser", time.Time{})
	fmt.Println(h.Hash)

	h, _ = signer.Sign("testUser", time.Date(2026, 11, 24, 15, 0, 0, 0, time.FixedZone("CET", 3600)))
	fmt.Println(h.Hash, h.Expiration)
	// Output:
	// LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg=
	// vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA= 2026-11-24T14:00:00.000Z
}

func ExampleSigner_Verify() {
	signer, _ := productfruits.NewSigner("SecretkeyFromWorkspaceSettings")
	h := productfruits.HMAC{Hash: "vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA=", Expiration: "2026-11-24T14:00:00.000Z"}
	fmt.Println(signer.Verify("testUser", h, time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)))
	fmt.Println(signer.Verify("testUser", h, time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)))
	// Output:
	// <nil>
	// productfruits: hmac expired
}

func ExampleNew() {
	store := sessions.NewCookieStore([]byte("a 32-byte session authentication"))
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: "YOUR_WORKSPACE_CODE",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"), // in an app: os.Getenv("PRODUCTFRUITS_SECRET")
		Username:      productfruits.SessionUsername(store, "session", "username"),
		TTL:           time.Hour,
		Inject:        true,
	})
	if err != nil {
		log.Fatal(err) // names the Config field at fault
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><head><title>App</title></head><body>Hello</body></html>")
	})
	app := pf.Handler(mux) // in an app: log.Fatal(http.ListenAndServe(addr, app))

	// The app's login stores the username in the session.
	login := httptest.NewRecorder()
	sess, _ := store.New(httptest.NewRequest("POST", "/login", nil), "session")
	sess.Values["username"] = "jane@example.com"
	_ = sess.Save(httptest.NewRequest("POST", "/login", nil), login)

	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range login.Result().Cookies() {
		req.AddCookie(c)
	}
	page := httptest.NewRecorder()
	app.ServeHTTP(page, req)
	fmt.Println(strings.Contains(page.Body.String(), `{"username":"jane@example.com","hmac":{"hash":`))
	fmt.Println(page.Header().Get("Cache-Control"), page.Header().Get("Vary"))
	// Output:
	// true
	// private Cookie
}

func ExampleNew_configError() {
	_, err := productfruits.New(productfruits.Config{
		WorkspaceCode: "YOUR_WORKSPACE_CODE",
		Secret:        productfruits.NewSecret(""), // os.Getenv of a variable that is not set
		Username:      productfruits.ContextUsername(userKey{}),
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, productfruits.ErrConfig))
	// Output:
	// productfruits: invalid config: Secret is empty
	// true
}

type userKey struct{}

func ExampleFromContext() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      productfruits.ContextUsername(userKey{}),
	})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := productfruits.FromContext(r.Context())
		if !ok {
			fmt.Println("anonymous")
			return
		}
		fmt.Println(user.Username, user.HMAC.Hash)
	})
	// The app's own authentication puts the username in the context.
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithValue(r.Context(), userKey{}, "testUser")
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	auth(pf.Handler(page)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	pf.Handler(page).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// testUser LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg=
	// anonymous
}

func ExampleTemplateScript() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      func(*http.Request) (string, error) { return "testUser", nil },
	})
	tmpl := template.Must(template.New("page").Parse(
		`<!doctype html><html><head>{{.ProductFruits}}</head><body>Hello</body></html>`))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = tmpl.Execute(w, map[string]any{"ProductFruits": productfruits.TemplateScript(r)})
	})
	rec := httptest.NewRecorder()
	pf.Handler(page).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	fmt.Println(strings.Contains(body, `.push({"workspace":"ws","language":"en","user":{"username":"testUser","hmac":{"hash":"LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="}}});`))
	// The page loads the lifecycle runtime from the middleware, which
	// caches for a year; the runtime appends the product's loader.
	fmt.Println(strings.Count(body, `<script async="" fetchpriority="high" src="`+pf.RuntimePath()+`"`))
	// Output:
	// true
	// 1
}

func ExampleMiddleware_RuntimePath() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      func(*http.Request) (string, error) { return "testUser", nil },
		TTL:           time.Hour,
	})
	// A router that runs middleware on matched routes only (gorilla/mux,
	// a Gin group, Fiber) gives the identity endpoint and the runtime a
	// route each; IdentityHandler serves both.
	mux := http.NewServeMux()
	mux.Handle("GET "+productfruits.DefaultIdentityPath, pf.IdentityHandler())
	mux.Handle("GET "+pf.RuntimePath(), pf.IdentityHandler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", pf.RuntimePath(), nil))
	// The version in the file name changes with the runtime's bytes.
	fmt.Println(regexp.MustCompile(`[0-9a-f]{12}`).ReplaceAllString(pf.RuntimePath(), "<version>"))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	// Output:
	// /productfruits/identity/lifecycle.<version>.js
	// 200 text/javascript; charset=utf-8 public, max-age=31536000, immutable
}

func ExampleConfig_profile() {
	// The app's user store: Profile fills the user object the product
	// gets, beyond the username that is signed.
	accounts := map[string]struct {
		email, role, plan string
		seats             int
	}{"jane": {"jane@example.com", "admin", "pro", 12}}

	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      productfruits.ContextUsername(userKey{}),
		Profile: func(r *http.Request, username string) (productfruits.User, error) {
			a, ok := accounts[username]
			if !ok {
				return productfruits.User{}, fmt.Errorf("no account %q", username) // logged; served as anonymous
			}
			return productfruits.User{
				Email: a.email,
				Role:  a.role,
				Props: map[string]any{"plan": a.plan, "seats": a.seats},
				Group: &productfruits.Group{GroupID: "acme"},
			}, nil
		},
	})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := productfruits.FromContext(r.Context())
		fmt.Println(user.Username, user.Email, user.Role, user.Props["plan"], user.Group.GroupID)
		s := string(productfruits.TemplateScript(r))
		fmt.Println(strings.Contains(s, `"user":{"username":"jane","email":"jane@example.com","role":"admin","props":{"plan":"pro","seats":12},"group":{"groupId":"acme"},"hmac":{`))
	})
	ctx := context.WithValue(context.Background(), userKey{}, "jane")
	pf.Handler(page).ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", "/", nil))
	// Output:
	// jane jane@example.com admin pro acme
	// true
}

func ExampleConfig_languageFunc() {
	// Each user's own language, from the app's settings; "" falls back to
	// Config.Language.
	languages := map[string]string{"jana": "cs", "jean": "fr"}
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Language:      "en",
		Username:      productfruits.ContextUsername(userKey{}),
		LanguageFunc: func(r *http.Request) string {
			name, _ := r.Context().Value(userKey{}).(string)
			return languages[name]
		},
	})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := string(productfruits.TemplateScript(r))
		i := strings.Index(s, `"language":`)
		fmt.Println(s[i : i+len(`"language":"xx"`)])
	})
	for _, name := range []string{"jana", "jean", "joe"} {
		ctx := context.WithValue(context.Background(), userKey{}, name)
		pf.Handler(page).ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", "/", nil))
	}
	// The identity endpoint names the language too, for renewals that
	// bring another user.
	rec := httptest.NewRecorder()
	ctx := context.WithValue(context.Background(), userKey{}, "jean")
	pf.IdentityHandler().ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", productfruits.DefaultIdentityPath, nil))
	fmt.Println(rec.Header().Get("Content-Language"))
	// Output:
	// "language":"cs"
	// "language":"fr"
	// "language":"en"
	// fr
}

func ExampleConfig_skip() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      func(*http.Request) (string, error) { return "jane", nil },
		Inject:        true,
		// The admin area and the API never see the product.
		Skip: func(r *http.Request) bool {
			return strings.HasPrefix(r.URL.Path, "/admin/") || strings.HasPrefix(r.URL.Path, "/api/")
		},
	})
	app := pf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := productfruits.FromContext(r.Context())
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<!doctype html><html><head></head><body>user in context: %v</body></html>", ok)
	}))
	for _, path := range []string{"/admin/users", "/reports"} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, strings.Contains(rec.Body.String(), "data-productfruits"), strings.Contains(rec.Body.String(), "true"))
	}
	// Output:
	// /admin/users false false
	// /reports true true
}

func ExampleSkipInject() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      func(*http.Request) (string, error) { return "jane", nil },
		Inject:        true,
	})
	// A printable invoice: the user is known, the product stays out.
	invoice := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		productfruits.SkipInject(r)
		user, _ := productfruits.FromContext(r.Context())
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<!doctype html><html><head></head><body>Invoice for %s</body></html>", user.Username)
	})
	rec := httptest.NewRecorder()
	pf.Handler(invoice).ServeHTTP(rec, httptest.NewRequest("GET", "/invoice/1", nil))
	fmt.Println(rec.Body.String())
	// Output:
	// <!doctype html><html><head></head><body>Invoice for jane</body></html>
}

func ExampleSetProps() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      func(*http.Request) (string, error) { return "jane", nil },
		Profile: func(*http.Request, string) (productfruits.User, error) {
			return productfruits.User{Props: map[string]any{"plan": "pro"}}, nil
		},
		Inject: true,
	})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What the handler learns while serving the page, before writing it.
		productfruits.SetProps(r, map[string]any{"section": "billing", "overdue": true})
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><html><head></head><body>Billing</body></html>")
	})
	rec := httptest.NewRecorder()
	pf.Handler(page).ServeHTTP(rec, httptest.NewRequest("GET", "/billing", nil))
	fmt.Println(strings.Contains(rec.Body.String(), `"props":{"overdue":true,"plan":"pro","section":"billing"}`))
	// Output:
	// true
}

func ExampleMiddleware_ScriptFor() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      func(*http.Request) (string, error) { return "", nil }, // unused here
		TTL:           time.Hour,
		Options:       productfruits.InitOptions{HideInAppCenterLauncher: true},
	})
	// Code without a net/http request of ours (Fiber, another template
	// engine) signs its own user, with the page's CSP nonce.
	snippet, err := pf.ScriptFor(productfruits.User{Username: "jane", Email: "jane@example.com"}, "r4nd0m")
	if err != nil {
		log.Fatal(err)
	}
	s := string(snippet)
	fmt.Println(strings.Count(s, `nonce="r4nd0m"`)) // the loader's preload, the data push, the runtime
	fmt.Println(strings.Contains(s, `"options":{"hideInAppCenterLauncher":true},"user":{"username":"jane","email":"jane@example.com","hmac":{"hash":`))
	fmt.Println(strings.Contains(s, `,"ttl":3600000});`)) // renewed from beside the runtime's URL

	// Nobody logged in: the anonymous page's script.
	anonymous, _ := pf.ScriptFor(productfruits.User{}, "")
	fmt.Println(anonymous)
	// Output:
	// 3
	// true
	// true
	// <script data-productfruits="anonymous">(window.__productfruitsGo=window.__productfruitsGo||[]).push(0);try{new BroadcastChannel("productfruits").postMessage("out")}catch(e){}</script>
}

func ExampleKnowledgeBaseURL() {
	signer, _ := productfruits.NewSigner("SecretkeyFromWorkspaceSettings")
	h, _ := signer.Sign("testUser", time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC))
	// In a handler: user, ok := productfruits.FromContext(r.Context())
	user := productfruits.User{Username: "testUser", HMAC: &h}

	link, err := productfruits.KnowledgeBaseURL("https://help.example.com/en?utm_source=app#search", user)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(link)
	// Output:
	// https://help.example.com/en?utm_source=app&hmac=%7B%22username%22%3A%22testUser%22%2C%22hmac%22%3A%7B%22hash%22%3A%22vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA%3D%22%2C%22expiration%22%3A%222026-11-24T14%3A00%3A00.000Z%22%7D%7D#search
}

func ExampleParseExpiration() {
	for _, s := range []string{
		"2026-11-24T14:00:00.000Z",         // JavaScript's toJSON, what Sign writes
		"2026-11-24T14:00:00.0000000Z",     // .NET's ToString("o")
		"2026-11-24T15:00:00.000000+01:00", // an offset
		"2026-11-24T14:00:00",              // no zone: UTC
		"2026-11-24 14:00:00",              // not ISO 8601's T
	} {
		t, err := productfruits.ParseExpiration(s)
		fmt.Println(productfruits.FormatExpiration(t), err != nil)
	}
	// Output:
	// 2026-11-24T14:00:00.000Z false
	// 2026-11-24T14:00:00.000Z false
	// 2026-11-24T14:00:00.000Z false
	// 2026-11-24T14:00:00.000Z false
	// 0001-01-01T00:00:00.000Z true
}

func ExampleScript() {
	pf, _ := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("SecretkeyFromWorkspaceSettings"),
		Username:      func(*http.Request) (string, error) { return "testUser", nil },
	})
	// In a templ page's <head>: @productfruits.Script. templ renders it
	// with the request's context, as here.
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><html><head>")
		_ = productfruits.Script.Render(r.Context(), w)
		fmt.Fprint(w, "</head><body>Hello</body></html>")
	})
	rec := httptest.NewRecorder()
	pf.Handler(page).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(strings.Count(rec.Body.String(), `"user":{"username":"testUser","hmac":{"hash":"LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="}}`))
	// Output:
	// 1
}
