package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pfverify/productfruits"
)

const doctorUsage = `Usage: pfhmac doctor [-cookie 'name=value; ...' | -cookie-file FILE] [-secret-file PATH] URL

Fetches URL as a browser does and reports, one line per finding, whether
Product Fruits would load there: the snippet and its place in <head>, the
lifecycle runtime's and the identity endpoint's URLs, the page's hash
(with the secret), the Content-Security-Policy, Trusted Types, the
caching headers and the order of compression and middleware. Each line
starts with its verdict (ok, warn or FAIL); lines that are not ok end
with the fix.

  -cookie COOKIES     the Cookie header of a logged-in browser session
  -cookie-file FILE   read the Cookie header from FILE instead
  -secret-file PATH   read the secret from PATH instead of $PRODUCTFRUITS_SECRET

Without a secret the hash check is skipped. The report shows the
first characters of the page's hash, never all of it, and no other
hash. Exit status: 0 the product
would load, 1 it would not (a FAIL, or the page could not be fetched),
2 usage error.
`

// doctor fetches a page as a browser does and checks, one finding a line,
// everything between the page and a loaded product: the snippet and where
// it sits, the runtime's and the endpoint's URLs as the browser resolves
// them, the page's hash, the Content-Security-Policy, Trusted Types, the
// caching headers and the order of compression and middleware.
func doctor(args []string, env func(string) string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newCommandFlags("doctor", args)
	cookieFlag := fs.String("cookie", "", "")
	cookieFile := fs.String("cookie-file", "", "")
	target, err := parseDoctorArgs(fs, stdout)
	if err != nil {
		return err
	}
	cookie, err := doctorCookie(fs, *cookieFlag, *cookieFile)
	if err != nil {
		return err
	}
	var signer *productfruits.Signer
	var mac macFunc
	if fs.isSet("secret-file") || env(secretEnv) != "" {
		secret, err := loadSecret(fs, env)
		if err != nil {
			return err
		}
		if signer, err = productfruits.NewSigner(secret); err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
		mac = newMAC(secret)
	}

	d := &doctorRun{
		client: &http.Client{
			Transport: &http.Transport{
				Proxy: http.ProxyFromEnvironment,
				// Without it net/http asks for gzip itself and hides the
				// encoding, and the doctor must see what browsers get.
				DisableCompression: true,
			},
			Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		cookie: cookie,
		home:   target,
		signer: signer,
		mac:    mac,
		now:    now(),
		rep:    &report{w: stdout},
	}
	defer d.client.CloseIdleConnections()
	return d.run()
}

// parseDoctorArgs parses the flags, which may come before or after the
// URL, and returns the URL. An argument that is not a URL is not shown:
// it may be a secret typed in the wrong place.
func parseDoctorArgs(fs *commandFlags, stdout io.Writer) (*url.URL, error) {
	var positional []string
	var positions []int
	args, first := fs.args, firstArg
	for {
		err := fs.parseFlags(args, first)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprint(stdout, doctorUsage)
			return nil, err
		case err != nil:
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		first += len(args) - fs.NArg()
		positional = append(positional, fs.Arg(0))
		positions = append(positions, first)
		args = fs.Args()[1:]
		first++
	}
	switch len(positional) {
	case 0:
		return nil, usageErrorf("doctor: the page's URL is required")
	case 1:
	default:
		return nil, unexpectedArg("doctor", positions[1])
	}
	u, err := url.Parse(positional[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("doctor: argument #%d is not an absolute http or https URL %s; give the page's whole URL, such as https://app.example.com/", positions[0], notShown)
	}
	u.Fragment = ""
	return u, nil
}

// doctorCookie returns the Cookie header to send: from -cookie or
// -cookie-file, without a "Cookie:" prefix copied along from devtools.
func doctorCookie(fs *commandFlags, value, file string) (string, error) {
	if fs.isSet("cookie") && fs.isSet("cookie-file") {
		return "", usageErrorf("doctor: -cookie and -cookie-file exclude each other; give one")
	}
	if fs.isSet("cookie-file") {
		if file == "" {
			return "", usageErrorf("doctor: -cookie-file needs a path")
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fileError("doctor", "cookie", "cookie-file", err)
		}
		value = string(b)
	}
	value = strings.TrimSpace(value)
	if len(value) >= len("cookie:") && strings.EqualFold(value[:len("cookie:")], "cookie:") {
		value = strings.TrimSpace(value[len("cookie:"):])
	}
	if strings.ContainsAny(value, "\r\n") {
		return "", usageErrorf("doctor: the cookie holds a line break; give one Cookie header value, name=value; name2=value2")
	}
	return value, nil
}

// verdict is a finding's outcome.
type verdict int

const (
	vInfo verdict = iota // facts and skipped checks
	vOK
	vWarn
	vFail
)

// verdictText is each verdict's column, aligned so that the checks line up.
var verdictText = [...]string{vInfo: "  ", vOK: "ok", vWarn: "warn", vFail: "FAIL"}

// report writes findings and counts them.
type report struct {
	w      io.Writer
	warns  int
	failed []string
}

// add writes one finding; the fix is for those that are not ok.
func (r *report) add(v verdict, check, msg, fix string) {
	switch v {
	case vWarn:
		r.warns++
	case vFail:
		r.failed = append(r.failed, check)
	}
	line := fmt.Sprintf("%-4s  %-13s %s", verdictText[v], check, msg)
	if fix != "" && (v == vWarn || v == vFail) {
		line += " Fix: " + fix
	}
	fmt.Fprintln(r.w, strings.TrimRight(line, " "))
}

// doctorRun is one run of the doctor: what it fetches with, and what
// the checks share of the page.
type doctorRun struct {
	client *http.Client
	cookie string
	home   *url.URL // the URL given: the cookie's host
	signer *productfruits.Signer
	mac    macFunc // with signer, for explaining a hash that does not verify
	now    time.Time
	rep    *report

	page *fetched  // as the browser gets it, decoded
	scan *pageScan // of page
	data *pageData // the page's data script, parsed; nil if none
}

// run fetches the page, runs every check and ends with the verdict;
// errReported when a check failed.
func (d *doctorRun) run() error {
	rep := d.rep
	page, err := d.follow(d.home, pageHeaders("gzip, br"))
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	fmt.Fprintf(rep.w, "pfhmac doctor %s\n", d.home)
	d.reportRedirects(page.redirects)
	if page, err = d.decoded(page); err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	plain, err := d.plainPage(page.url)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}

	enc := page.encoding
	if enc == "" {
		enc = "none"
	}
	rep.add(vInfo, "page", page.url.String(), "")
	rep.add(vInfo, "status", strconv.Itoa(page.status)+" "+http.StatusText(page.status), "")
	rep.add(vInfo, "content-type", fmt.Sprintf("%s (Content-Encoding: %s)", orNone(page.header.Get("Content-Type")), enc), "")

	d.page = page
	d.scan = scanPage(page.body)
	plainScan := d.scan
	if plain != nil {
		plainScan = scanPage(plain.body)
	}
	compressionInside := !d.scan.hasSnippet() && plainScan.hasSnippet()
	if compressionInside {
		// The rest is checked on what the middleware produces, so that
		// one mistake does not hide the others.
		d.page, d.scan = plain, plainScan
	}

	if page.status < 200 || page.status > 299 {
		rep.add(vFail, "status", fmt.Sprintf("the page answers %d: browsers get no page to run the product in", page.status), "doctor the URL of a page that loads, with -cookie for a logged-in one")
	}
	d.checkSnippet(compressionInside)
	d.checkRuntime()
	d.checkEndpoint()
	d.checkHash()
	d.checkCSP()
	d.checkCaching()
	d.checkCompression(page, plain, plainScan, compressionInside)
	return d.conclude()
}

// conclude writes the verdict line, which names the failed checks.
func (d *doctorRun) conclude() error {
	rep := d.rep
	if n := len(rep.failed); n > 0 {
		fmt.Fprintf(rep.w, "verdict: FAIL: Product Fruits would not load: %d failed (%s), %d warn\n", n, strings.Join(rep.failed, ", "), rep.warns)
		return errReported
	}
	if d.data == nil {
		fmt.Fprintf(rep.w, "verdict: ok: nobody is logged in on this page, and the product loads for no one (%d warn)\n", rep.warns)
		return nil
	}
	fmt.Fprintf(rep.w, "verdict: ok: Product Fruits would load for %q (%d warn)\n", d.data.User.Username, rep.warns)
	return nil
}

// orNone shows an empty header value as such rather than as nothing.
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
