package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pfverify/productfruits"
)

// verifyPath is the demo-only endpoint where the stand-in has the app
// check an HMAC, as the product does on its own servers.
const verifyPath = "/demo/verify"

// standInJS is pure ASCII, so it reads the same under any charset.
//
//go:embed standin.js
var standInJS []byte

func serveStandIn(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(standInJS)
}

type verifyRequest struct {
	WorkspaceCode string             `json:"workspaceCode"`
	User          productfruits.User `json:"user"`
}

type verifyResponse struct {
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
}

// verify checks a user object's HMAC with the workspace secret, for the
// stand-in. It only exists with the demo secret, which is public anyway.
func (a *app) verify(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	var res verifyResponse
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	switch err := dec.Decode(&req); {
	case err != nil:
		res.Error = "malformed request: " + err.Error()
	case req.WorkspaceCode != a.cfg.WorkspaceCode:
		res.Error = "unknown workspace code"
	case req.User.HMAC == nil:
		res.Error = "the user object has no hmac"
	default:
		err := a.signer.Verify(req.User.Username, *req.User.HMAC, time.Now())
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
