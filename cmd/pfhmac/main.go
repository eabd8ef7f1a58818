// Command pfhmac signs and checks Product Fruits identity verification
// HMACs. It is what a user runs when the product rejects their users and
// they need to see why: once verification is switched on, a wrong byte in
// a hash or an expiration silently stops the product from loading, and
// pfhmac verify says which byte, and what slip usually puts it there
// (a hex digest, URL-safe base64, an expiration re-formatted after
// signing, a hash signed without the expiration that was sent).
//
// Usage:
//
//	pfhmac sign -user NAME [-ttl 1h | -expires RFC3339]
//	pfhmac verify -user NAME -hash HASH|- [-expiration EXPIRATION]
//	pfhmac doctor [-cookie COOKIES | -cookie-file FILE] URL
//	pfhmac help
//
// sign prints the hmac member of the user object the page hands to
// productFruits.init, as one line of JSON:
//
//	{"hash":"vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA=","expiration":"2026-11-24T14:00:00.000Z"}
//
// verify exits 0 and prints "ok" when the hash is right and unexpired, and
// exits 1 with an explanation on standard error when it is not. Usage
// errors exit 2. With -hash - the hash is read from the first line of
// standard input (its newline trimmed), so that it does not show in the
// process list or shell history:
//
//	printf '%s\n' "$HASH" | pfhmac verify -user alice -hash -
//
// The explanation names the slip that explains a mismatch (a hex digest,
// URL-safe base64, a re-formatted expiration, a trimmed or lower-cased
// username, ...) but never prints a hash it was not given: a valid hash
// is a credential, and explanations end up in tickets and CI logs. Only
// sign prints one, on purpose. doctor never prints a whole hash either.
//
// doctor fetches a page as a browser does and reports, one line per
// finding with its verdict and fix, whether the product would load there
// (snippet, runtime, identity endpoint, hash, CSP, caching, compression).
//
// The workspace secret (the "Encryption key" in the workspace settings)
// comes from the PRODUCTFRUITS_SECRET environment variable or from the file
// named by -secret-file, never from a flag value, which would end up in
// shell history and process listings. pfhmac never prints the secret.
// Because a secret typed in the wrong place must not reach a terminal
// log either, errors repeat nothing that was typed but the names of
// pfhmac's own commands and flags and the path of a file that exists: any
// other argument is named by its position ("argument #2", counting from
// the first after pfhmac) and not shown, and an argument that holds the
// secret is refused the same way.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pfverify/productfruits"
)

// secretEnv names the environment variable that holds the secret.
const secretEnv = "PRODUCTFRUITS_SECRET"

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `pfhmac signs and checks Product Fruits identity verification HMACs.

Usage:
  pfhmac sign -user NAME [-ttl DURATION | -expires TIME]
  pfhmac verify -user NAME -hash HASH|- [-expiration EXPIRATION]
  pfhmac doctor [-cookie COOKIES | -cookie-file FILE] URL
  pfhmac help [sign | verify | doctor]

The secret (the workspace's "Encryption key") is read from the
PRODUCTFRUITS_SECRET environment variable, or from the file given with
-secret-file PATH (without surrounding whitespace, as productfruits.New
requires). It is never taken as a flag value and never printed.

Only sign prints a hash: verify and doctor show none they were not
given, since a valid hash is a credential and their output ends up in
tickets and logs.

Errors repeat nothing you typed but pfhmac's own command and flag names
and the path of a file that exists, so that a secret typed in the wrong
place is not echoed. Any other argument is named by its position,
counting from the first after pfhmac:
  unexpected argument #2 (not shown: it may be a secret)
An argument that holds the secret is refused too.

Exit status: 0 ok, 1 the check failed or an error occurred, 2 usage error.
`

const signUsage = `Usage: pfhmac sign -user NAME [-ttl DURATION | -expires TIME] [-secret-file PATH]

Prints the hmac object the browser needs, as one line of JSON:
  {"hash":"...","expiration":"2026-11-24T14:00:00.000Z"}

  -user NAME          the username the page sends as user.username (required)
  -ttl DURATION       expire this long from now, such as 1h or 30m
  -expires TIME       expire at this ISO 8601 time, such as 2026-11-24T14:00:00Z
                      or 2026-11-24T15:00:00+01:00 (without a zone: UTC)
  -secret-file PATH   read the secret from PATH instead of $PRODUCTFRUITS_SECRET

Without -ttl or -expires the hmac does not expire. -ttl and -expires
exclude each other. The expiration is always signed and printed in
JavaScript's Date.prototype.toJSON form, as the product's NodeJS example
signs it.
`

const verifyUsage = `Usage: pfhmac verify -user NAME -hash HASH|- [-expiration EXPIRATION] [-secret-file PATH]

Checks an hmac as the page sends it. Prints "ok" and exits 0 when it is
right and unexpired; otherwise explains on standard error what is wrong
and exits 1. The expiration may be in any ISO 8601 form the product
reads, as its backend examples sign it: toJSON's 2026-11-24T14:00:00.000Z,
.NET's 2026-11-24T14:00:00.0000000Z, an offset such as +01:00, or no zone
(read as UTC). The hash must be over exactly the string given.

The explanation names the slip behind a mismatch but never prints a
hash, not even the right one: a valid hash is a credential. pfhmac sign
prints one on purpose.

  -user NAME              the username the page sends as user.username (required)
  -hash HASH              the hmac's hash (required); -hash - reads it from the
                          first line of standard input, its newline trimmed,
                          so that it stays out of the process list and history
  -expiration EXPIRATION  the hmac's expiration, exactly as the page sends it
  -secret-file PATH       read the secret from PATH instead of $PRODUCTFRUITS_SECRET
`

const secretFlagRefusal = "there is no -secret flag: a secret on the command line leaks into shell history and process listings; " +
	"set " + secretEnv + " or use -secret-file PATH"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr, time.Now))
}

// run is the whole command, minus the process: args without the program
// name, env in place of os.Getenv, stdin for -hash -, now in place of
// time.Now. It returns the exit status.
func run(args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "sign":
		err = sign(rest, env, stdout, stderr, now)
	case "verify":
		err = verify(rest, env, stdin, stdout, stderr, now)
	case "doctor":
		err = doctor(rest, env, stdout, stderr, now)
	case "help", "-h", "-help", "--help":
		err = help(rest, stdout)
	default:
		err = unknownCommand("", cmd, 1)
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errReported):
		return exitFail
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pfhmac: %v\nRun 'pfhmac help' for usage.\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "pfhmac: %v\n", err)
		return exitFail
	}
}

// errReported means the failure has already been explained on stderr.
var errReported = errors.New("failure reported")

// usageError is an error in how pfhmac was invoked (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

func help(args []string, stdout io.Writer) error {
	text := usage
	if len(args) > 0 {
		switch args[0] {
		case "sign":
			text = signUsage
		case "verify":
			text = verifyUsage
		case "doctor":
			text = doctorUsage
		default:
			return unknownCommand("help: ", args[0], 2)
		}
	}
	fmt.Fprint(stdout, text)
	return nil
}

// refusedFlag stands in for a -secret flag so that pfhmac can refuse it
// with a useful message. Set swallows the value: the flag package would
// otherwise echo it in its error, and the value is the secret.
type refusedFlag struct{ set bool }

func (f *refusedFlag) String() string { return "" }

func (f *refusedFlag) Set(string) error {
	f.set = true
	return nil
}

// commandFlags is a subcommand's flag set with the flags every subcommand
// shares, and the arguments it parses, which errors name by position.
type commandFlags struct {
	*flag.FlagSet
	args       []string // the subcommand's arguments: #2 onwards
	secretFile string
	secret     refusedFlag
}

func newCommandFlags(name string, args []string) *commandFlags {
	fs := &commandFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), args: args}
	// Errors and usage are printed by pfhmac itself, not the flag package,
	// whose errors repeat what was typed.
	fs.SetOutput(io.Discard)
	fs.StringVar(&fs.secretFile, "secret-file", "", "")
	fs.Var(&fs.secret, "secret", "")
	return fs
}

// parse parses the subcommand's arguments, which are all flags, printing
// usageText to stdout for -h.
func (fs *commandFlags) parse(usageText string, stdout io.Writer) error {
	err := fs.parseFlags(fs.args, firstArg)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageText)
		return err
	case err != nil:
		return err
	case fs.NArg() > 0:
		return unexpectedArg(fs.Name(), firstArg+len(fs.args)-fs.NArg())
	}
	return nil
}

// isSet reports whether the flag name was given on the command line.
func (fs *commandFlags) isSet(name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// loadSecret returns the secret from -secret-file if given, else from the
// environment, and refuses it when an argument holds it too: someone
// typed it where it is echoed. Errors never include the secret.
func loadSecret(fs *commandFlags, env func(string) string) (string, error) {
	secret, err := readSecret(fs, env)
	if err != nil {
		return "", err
	}
	if i := argHolding(fs.args, secret); i >= 0 {
		return "", usageErrorf("%s: argument #%d holds the secret %s; pfhmac reads the secret only from $%s or -secret-file PATH",
			fs.Name(), firstArg+i, "(not shown)", secretEnv)
	}
	return secret, nil
}

// readSecret returns the secret from -secret-file if given, else from the
// environment.
func readSecret(fs *commandFlags, env func(string) string) (string, error) {
	if fs.isSet("secret-file") {
		if fs.secretFile == "" {
			return "", usageErrorf("%s: -secret-file needs a path", fs.Name())
		}
		b, err := os.ReadFile(fs.secretFile)
		if err != nil {
			return "", fileError(fs.Name(), "secret", "secret-file", err)
		}
		secret := string(b)
		if strings.TrimSpace(secret) == "" {
			return "", fmt.Errorf("%s: secret file %s is empty", fs.Name(), fs.secretFile)
		}
		return secret, checkSecret(fs.Name(), "the file "+fs.secretFile, secret)
	}
	if secret := env(secretEnv); secret != "" {
		return secret, checkSecret(fs.Name(), "$"+secretEnv, secret)
	}
	return "", usageErrorf("%s: no secret: set %s or use -secret-file PATH", fs.Name(), secretEnv)
}

// checkSecret refuses a secret with surrounding whitespace, as
// productfruits.New does: a trailing newline from a file would make every
// hash wrong, and pfhmac must sign and check exactly what the app would.
// The error names the source, never the value.
func checkSecret(cmd, source, secret string) error {
	if strings.TrimSpace(secret) == secret {
		return nil
	}
	return usageErrorf("%s: the secret in %s has leading or trailing whitespace (a trailing newline?); "+
		"the workspace's key has none and productfruits.New refuses it too: remove it "+
		"(printf '%%s' \"$KEY\" > FILE writes a file without one)", cmd, source)
}

func sign(args []string, env func(string) string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newCommandFlags("sign", args)
	user := fs.String("user", "", "")
	ttl := fs.Duration("ttl", 0, "")
	expires := fs.String("expires", "", "")
	if err := fs.parse(signUsage, stdout); err != nil {
		return err
	}
	if *user == "" {
		return usageErrorf("sign: -user is required")
	}
	var exp time.Time
	switch ttlSet, expiresSet := fs.isSet("ttl"), fs.isSet("expires"); {
	case ttlSet && expiresSet:
		return usageErrorf("sign: -ttl and -expires exclude each other; give one")
	case ttlSet:
		if *ttl <= 0 {
			return usageErrorf("sign: -ttl must be positive, got %v", *ttl)
		}
		exp = now().Add(*ttl)
	case expiresSet:
		t, err := productfruits.ParseExpiration(*expires)
		if err != nil {
			return usageErrorf("sign: the value of -expires is not an ISO 8601 time such as 2026-11-24T14:00:00Z %s", notShown)
		}
		exp = t
	}
	secret, err := loadSecret(fs, env)
	if err != nil {
		return err
	}
	signer, err := productfruits.NewSigner(secret)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	h, err := signer.Sign(*user, exp)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if !exp.IsZero() && !exp.After(now()) {
		fmt.Fprintf(stderr, "pfhmac: warning: expiration %s is not in the future; the product will reject this hmac\n", h.Expiration)
	}
	// The library's HMAC type carries the browser's field names.
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

func verify(args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newCommandFlags("verify", args)
	user := fs.String("user", "", "")
	hash := fs.String("hash", "", "")
	expiration := fs.String("expiration", "", "")
	if err := fs.parse(verifyUsage, stdout); err != nil {
		return err
	}
	switch {
	case *user == "":
		return usageErrorf("verify: -user is required")
	case *hash == "":
		return usageErrorf("verify: -hash is required")
	case *hash == "-":
		line, err := readLine(stdin)
		if err != nil {
			return fmt.Errorf("verify: -hash -: reading standard input: %w", err)
		}
		if line == "" {
			return usageErrorf("verify: -hash - found no hash: the first line of standard input is empty")
		}
		*hash = line
	}
	secret, err := loadSecret(fs, env)
	if err != nil {
		return err
	}
	signer, err := productfruits.NewSigner(secret)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	c := &checker{signer: signer, mac: newMAC(secret), user: *user, hash: *hash, exp: *expiration, now: now()}

	err = signer.Verify(c.user, productfruits.HMAC{Hash: c.hash, Expiration: c.exp}, c.now)
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "ok")
		if c.exp != "" {
			exp, _ := productfruits.ParseExpiration(c.exp)
			fmt.Fprintf(stdout, "expires in %v, at %s\n", roundDuration(exp.Sub(c.now)), c.exp)
			if note := formNote(c.exp, exp); note != "" {
				fmt.Fprintln(stdout, note)
			}
		}
		return nil
	case errors.Is(err, productfruits.ErrExpired):
		exp, _ := productfruits.ParseExpiration(c.exp)
		fmt.Fprintf(stderr, "expired: the hash is right, but its expiration %s passed %v ago.\n", c.exp, roundDuration(c.now.Sub(exp)))
		fmt.Fprintln(stderr, "The product rejects an expired hmac: before it runs out, the page must hand a user object with a fresh hmac to window.productFruits.identifyUser.")
		return errReported
	case errors.Is(err, productfruits.ErrHashMismatch), errors.Is(err, productfruits.ErrMalformedExpiration):
		c.explain(stderr, err)
		return errReported
	default:
		return fmt.Errorf("verify: %w", err)
	}
}

// maxLine bounds what -hash - reads: a hash is 44 characters, and a
// stdin that never ends must not hang or fill memory.
const maxLine = 4096

// readLine returns the first line of r without its line ending (LF or
// CRLF).
func readLine(r io.Reader) (string, error) {
	if r == nil {
		return "", nil
	}
	br := bufio.NewReader(io.LimitReader(r, maxLine+1))
	line, err := br.ReadString('\n')
	switch {
	case err == io.EOF && len(line) > maxLine:
		return "", fmt.Errorf("its first line is longer than %d bytes, and no hash is", maxLine)
	case err != nil && err != io.EOF:
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// roundDuration rounds d to seconds for display, keeping sub-second
// durations readable.
func roundDuration(d time.Duration) time.Duration {
	if r := d.Round(time.Second); r != 0 {
		return r
	}
	return d.Round(time.Millisecond)
}
