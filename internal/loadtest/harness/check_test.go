package harness

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
)

// BenchmarkCheck measures what the load clients spend checking one
// response of each variant: it must stay small next to a request, or the
// clients' share of the cores would skew the comparison.
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
		b.Run(v, func(b *testing.B) {
			for b.Loop() {
				if err := checks[v](page[v]); err != nil {
					b.Fatal(err)
				}
			}
		})
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
	serve := func(name string) []byte {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(UserHeader, name)
		rec := httptest.NewRecorder()
		Auth(m.Handler(doc)).ServeHTTP(rec, req)
		return rec.Body.Bytes()
	}
	s, now := m.Signer(), time.Now()
	alice, bob := serve("alice"), serve("bob")
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
