package harness

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
)

// BenchmarkCheck measures what the load clients spend on one response of
// each variant: on the clock, locating and copying out its identity
// (identity/...); after the round, verifying that identity (verify/...)
// or, for the pages kept whole, the full check (page/...).
func BenchmarkCheck(b *testing.B) {
	doc := NewDoc(64<<10, 4<<10)
	name := Username(1)
	page := map[string][]byte{}
	for _, v := range []struct {
		name string
		mw   bool
		cfg  func() productfruits.Config
	}{{Bare, false, nil}, {Context, true, func() productfruits.Config { return Config(false, nil) }}, {Inject, true, func() productfruits.Config { return Config(true, nil) }}} {
		var h = ContextApp(doc)
		if v.name == Inject {
			h = doc
		}
		if v.mw {
			m, err := productfruits.New(v.cfg())
			if err != nil {
				b.Fatal(err)
			}
			h = m.Handler(h)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(UserHeader, name)
		rec := httptest.NewRecorder()
		Auth(h).ServeHTTP(rec, req)
		page[v.name] = rec.Body.Bytes()
	}
	m, _ := productfruits.New(Config(false, nil))
	s := m.Signer()
	now := time.Now()
	checks := map[string]func([]byte) error{
		Bare:    func(p []byte) error { return CheckBare(p, doc) },
		Context: func(p []byte) error { return CheckContext(p, doc, s, name, now) },
		Inject:  func(p []byte) error { return CheckInjected(p, doc, s, name, now) },
	}
	for _, v := range []string{Bare, Context, Inject} {
		b.Run("identity/"+v, func(b *testing.B) {
			var held []byte
			for b.Loop() {
				id, err := Identity(v, page[v], doc)
				if err != nil {
					b.Fatal(err)
				}
				held = append(held[:0], id...)
			}
		})
		b.Run("verify/"+v, func(b *testing.B) {
			id, err := Identity(v, page[v], doc)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := VerifyIdentity(v, id, s, name, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("page/"+v, func(b *testing.B) {
			for b.Loop() {
				if err := checks[v](page[v]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestIdentityCatchesFaults makes sure the per-response check of the load
// clients (Identity, then VerifyIdentity) tells the asker's page from
// another user's, a tampered one and one without a user object.
func TestIdentityCatchesFaults(t *testing.T) {
	doc := NewDoc(16<<10, 4<<10)
	s, err := productfruits.NewSigner(Secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, v := range []string{Context, Inject} {
		h := ContextApp(doc)
		if v == Inject {
			h = doc
		}
		m, err := productfruits.New(Config(v == Inject, nil))
		if err != nil {
			t.Fatal(err)
		}
		alice, bob := serveAs(m, h, "alice"), serveAs(m, h, "bob")
		verify := func(page []byte) error {
			id, err := Identity(v, page, doc)
			if err != nil {
				return err
			}
			return VerifyIdentity(v, bytes.Clone(id), s, "alice", now)
		}
		if err := verify(alice); err != nil {
			t.Fatalf("%s: a good page fails: %v", v, err)
		}
		for name, c := range map[string]struct {
			page      []byte
			crossTalk bool
		}{
			"another user's page": {bob, true},
			"tampered hash":       {bytes.Replace(alice, []byte(`"hash":"`), []byte(`"hash":"A`), 1), false},
			"no user object":      {doc.Bytes(), false},
			"unknown field":       {bytes.Replace(alice, []byte(`{"username"`), []byte(`{"x":1,"username"`), 1), false},
		} {
			err := verify(c.page)
			if err == nil || IsCrossTalk(err) != c.crossTalk {
				t.Errorf("%s, %s: %v, want an error (cross-talk: %v)", v, name, err, c.crossTalk)
			}
		}
	}
	if err := VerifyIdentity(Bare, []byte("{}"), s, "alice", now); err == nil {
		t.Error("a bare page with a user object passes")
	}
}

// TestChecksCatchFaults makes sure the checks the load, memory and fault
// tests rely on do fail on the faults they are there to catch.
func TestChecksCatchFaults(t *testing.T) {
	doc := NewDoc(16<<10, 4<<10)
	m, err := productfruits.New(Config(true, nil))
	if err != nil {
		t.Fatal(err)
	}
	s, now := m.Signer(), time.Now()
	alice, bob := serveAs(m, doc, "alice"), serveAs(m, doc, "bob")
	if err := CheckInjected(alice, doc, s, "alice", now); err != nil {
		t.Fatalf("a good page fails: %v", err)
	}
	sn, ok, err := FirstSnippet(alice)
	if !ok || err != nil {
		t.Fatal("no snippet in a good page", err)
	}
	snippet := alice[sn.Start:sn.End]
	twice := append(append(append([]byte{}, alice[:sn.End]...), snippet...), alice[sn.End:]...)
	farApart := append(append([]byte{}, alice...), snippet...)
	tampered := bytes.Replace(alice, []byte(`"hash":"`), []byte(`"hash":"A`), 1)
	altered := bytes.Replace(alice, []byte("Orders"), []byte("Orderz"), 1)
	for name, c := range map[string]struct {
		body      []byte
		crossTalk bool
	}{
		"another user's page":  {bob, true},
		"untouched page":       {doc.Bytes(), false},
		"snippet twice":        {twice, false},
		"second snippet later": {farApart, false},
		"tampered hash":        {tampered, false},
		"page altered":         {altered, false},
		"truncated":            {alice[:len(alice)-1], false},
	} {
		err := CheckInjected(c.body, doc, s, "alice", now)
		if err == nil || IsCrossTalk(err) != c.crossTalk {
			t.Errorf("%s: CheckInjected = %v, want an error (cross-talk: %v)", name, err, c.crossTalk)
		}
	}
	if snips, _ := FindSnippets(farApart); len(snips) != 2 {
		t.Errorf("FindSnippets found %d snippets in a page with 2", len(snips))
	}
	if err := CheckBare(alice, doc); err == nil {
		t.Error("CheckBare accepts an injected page")
	}
}

// serveAs serves h through m and the harness's Auth to a request from
// user name, and returns the page.
func serveAs(m *productfruits.Middleware, h http.Handler, name string) []byte {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(UserHeader, name)
	rec := httptest.NewRecorder()
	Auth(m.Handler(h)).ServeHTTP(rec, req)
	return rec.Body.Bytes()
}
