package productfruits_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"
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
		Secret:        "SecretkeyFromWorkspaceSettings", // in an app: os.Getenv("PRODUCTFRUITS_SECRET")
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
		Secret:        "", // os.Getenv of a variable that is not set
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
		Secret:        "SecretkeyFromWorkspaceSettings",
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
		Secret:        "SecretkeyFromWorkspaceSettings",
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
	fmt.Println(strings.Count(body, `<script async src="https://app.productfruits.com/static/script.js"`))
	// Output:
	// true
	// 1
}
