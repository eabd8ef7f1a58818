package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/pfverify/productfruits"
)

// The pieces the fault proofs (faults_test.go) break the middleware with:
// a failing session store, hostile strings, an app that authenticates any
// string, and the classifier that tells a response to hostile input good
// from bad.

// hangAfter bounds waits that only a hung handler or connection reaches:
// far above anything a busy machine takes, so reaching it means a hang.
const hangAfter = 60 * time.Second

// faultClient is a keep-alive client that sees the bytes as sent; its
// timeout only catches hangs. Close its idle connections when done
// (before any goroutine check).
func faultClient() (*http.Client, func()) {
	tr := Transport(16)
	return &http.Client{Transport: tr, Timeout: hangAfter}, tr.CloseIdleConnections
}

// faultGet fetches url as user (Auth's header) and returns the response
// and its whole body.
func faultGet(ctx context.Context, c *http.Client, url, user string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/html")
	if user != "" {
		req.Header.Set(UserHeader, user)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// writePage writes the first n bytes of page (all if n < 0) in 1 KiB
// writes, as a template would, and stops at a failed write.
func writePage(w http.ResponseWriter, page []byte, n int) error {
	if n < 0 || n > len(page) {
		n = len(page)
	}
	for off := 0; off < n; off += 1024 {
		if _, err := w.Write(page[off:min(off+1024, n)]); err != nil {
			return err
		}
	}
	return nil
}

// faultStore is a session store whose backend is down.
type faultStore struct{}

var errStoreDown = errors.New("session backend unreachable: dial tcp 10.0.0.7:6379: connect: connection refused")

func (faultStore) Get(*http.Request, string) (*sessions.Session, error) { return nil, errStoreDown }
func (faultStore) New(*http.Request, string) (*sessions.Session, error) { return nil, errStoreDown }
func (faultStore) Save(*http.Request, http.ResponseWriter, *sessions.Session) error {
	return errStoreDown
}

var _ sessions.Store = faultStore{}

type faultUserKey struct{}

// faultUserHeader carries the index of the request's user for faultUser.
const faultUserHeader = "X-Fault-User"

// faultUser plays the app's authentication: the user is names[i] for the
// request's faultUserHeader index, so that any string, huge or not valid
// in a header, reaches the resolver intact.
func faultUser(names []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i, err := strconv.Atoi(r.Header.Get(faultUserHeader)); err == nil && i >= 0 && i < len(names) {
			r = r.WithContext(context.WithValue(r.Context(), faultUserKey{}, names[i]))
		}
		next.ServeHTTP(w, r)
	})
}

// hostilePieces are strings that have broken snippets elsewhere.
var hostilePieces = []string{
	"</script>", "</SCRIPT >", "<script>alert(1)</script>", "<!--", "-->", "<![CDATA[", "]]>",
	`"`, "'", "`", `\`, `\u2028`, "\u2028", "\u2029", "\u0085", "&amp;", "&#x3c;",
	"]);alert(1);//", "$productFruits.push(['init','evil','en',{}]);", "${x}",
	"😀", "👩‍👩‍👧", "Žluťoučký kůň", "\u202e", "\ufeff", "\x00", "\x7f", "\r\n", "\t",
	"\xff", "\xfe\xff", "\xc0\xaf", "\xed\xa0\x80", // invalid UTF-8: a lone byte, an overlong '/', a surrogate
}

// hostileString is pieces parts long, each part a hostile piece or, one
// time in four, a random byte.
func hostileString(r *rand.Rand, pieces int) string {
	var b strings.Builder
	for range pieces {
		if r.IntN(4) == 0 {
			b.WriteByte(byte(r.IntN(256)))
			continue
		}
		b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
	}
	return b.String()
}

// hostileCase is one request through the whole chain with injection.
type hostileCase struct {
	name    string
	user    string
	profile *productfruits.User
	header  http.Header // set by the app before writing
	body    []byte      // written by the app instead of the page
	want    string      // "snippet", "untouched" or "" for either
}

var nonceAttr = regexp.MustCompile(`\snonce="([^"]*)"`)

// hostileOutcome classifies a response: "untouched" when it is exactly
// what the app sent, "snippet" when it is that plus exactly one snippet
// whose user object parses, carries what the app gave and verifies for
// the user; anything else is an error.
func hostileOutcome(body, sent []byte, s *productfruits.Signer, c hostileCase) (string, error) {
	if bytes.Equal(body, sent) {
		return "untouched", nil
	}
	snips, err := FindSnippets(body)
	if err != nil {
		return "", err
	}
	if len(snips) != 1 {
		return "", fmt.Errorf("%d snippets in the page, want 1", len(snips))
	}
	sn := snips[0]
	if rest := append(bytes.Clone(body[:sn.Start]), body[sn.End:]...); !bytes.Equal(rest, sent) {
		return "", errors.New("the page around the snippet is not what the app sent")
	}
	ws, _, u, err := InitCall(sn)
	if err != nil {
		return "", err
	}
	if ws != Workspace {
		return "", fmt.Errorf("workspace %q", ws)
	}
	if err := VerifyUser(s, u, c.user, time.Now()); err != nil {
		return "", err
	}
	if c.profile != nil {
		// The browser must see the profile as encoding/json would give it.
		want := *c.profile
		want.Username, want.HMAC = u.Username, u.HMAC
		if err := sameJSON(want, u); err != nil {
			return "", err
		}
	}
	var csp string
	if c.header != nil {
		csp = strings.Join(c.header.Values("Content-Security-Policy"), ",")
	}
	for _, el := range sn.Elements {
		for _, m := range nonceAttr.FindAllSubmatch(el.Tag, -1) {
			n := string(m[1])
			if n == "" || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-") != "" || !strings.Contains(csp, "'nonce-"+n+"'") {
				return "", fmt.Errorf("snippet carries the nonce %.40q", n)
			}
		}
	}
	if c.name == "header-csp-nonce-valid" && !bytes.Contains(sn.Elements[0].Tag, []byte(`nonce="R4nd0m+/_-="`)) {
		return "", errors.New("the valid CSP nonce is missing")
	}
	return "snippet", nil
}

// sameJSON reports, as an error, any difference between want and got
// once both went through encoding/json.
func sameJSON(want, got any) error {
	a, err := json.Marshal(want)
	if err != nil {
		return err
	}
	b, err := json.Marshal(got)
	if err != nil {
		return err
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return err
	}
	if !reflect.DeepEqual(x, y) {
		return fmt.Errorf("user object differs from the profile:\n got %.300s\nwant %.300s", b, a)
	}
	return nil
}
