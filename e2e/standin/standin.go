// Package standin serves a stand-in for the Product Fruits loader, for the
// browser tests, where the real product cannot load (a test workspace, no
// network), and the check of an HMAC that the product's servers would make
// (Verifier). standin.js describes the contract it keeps and its variants.
package standin

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pfverify/productfruits"
)

// Path is where the tests' apps serve the stand-in (ServeLoader).
const Path = "/demo/productfruits.js"

// VerifyPath is where the stand-in has the app check an HMAC (Verifier),
// on the stand-in's own origin.
const VerifyPath = "/demo/verify"

// loaderJS is pure ASCII, so it reads the same under any charset.
//
//go:embed standin.js
var loaderJS []byte

// ServeLoader serves the stand-in.
func ServeLoader(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(loaderJS)
}

// Verifier answers the stand-in's POST to VerifyPath: whether a user
// object's HMAC verifies for Workspace with Signer at Now.
type Verifier struct {
	Workspace string
	Signer    *productfruits.Signer
	Now       func() time.Time // nil: time.Now
}

type verifyRequest struct {
	WorkspaceCode string             `json:"workspaceCode"`
	User          productfruits.User `json:"user"`
}

type verifyResponse struct {
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
}

func (v *Verifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	var res verifyResponse
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	switch err := dec.Decode(&req); {
	case err != nil:
		res.Error = "malformed request: " + err.Error()
	case req.WorkspaceCode != v.Workspace:
		res.Error = "unknown workspace code"
	case req.User.HMAC == nil:
		res.Error = "the user object has no hmac"
	default:
		now := time.Now
		if v.Now != nil {
			now = v.Now
		}
		err := v.Signer.Verify(req.User.Username, *req.User.HMAC, now())
		switch {
		case err == nil:
			res.Verified = true
		case errors.Is(err, productfruits.ErrHashMismatch):
			res.Error = "hash mismatch"
		default:
			res.Error = strings.TrimPrefix(err.Error(), "productfruits: ")
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(res)
}
