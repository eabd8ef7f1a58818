package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMisplacedSecretNotEchoed types the secret where pfhmac does not
// take it: it must be refused, with exit status 2 (1 for a file that is
// not there), and appear in neither stdout nor stderr, whether or not
// the secret is also set where it belongs.
func TestMisplacedSecretNotEchoed(t *testing.T) {
	const guid = "3f2c9a7e-51d4-4b8e-9c0a-7d61e2b4f9a3" // a key of another shape
	tests := []struct {
		name     string
		args     []string
		wantCode int    // default: exitUsage
		says     string // in stderr
	}{
		{name: "as the command", args: []string{secret}, says: "argument #1 is not a command (not shown: it may be a secret)"},
		{name: "as a flag before the command", args: []string{"-" + secret}, says: "argument #1 is not a command (not shown"},
		{name: "--secret= before the command", args: []string{"--secret=" + secret, "sign", "-user", "x"}, says: "there is no -secret flag"},
		{name: "help SECRET", args: []string{"help", secret}, says: "help: argument #2 is not a command (not shown"},
		{name: "-h SECRET", args: []string{"-h", secret}, says: "argument #2 is not a command (not shown"},
		{name: "verify SECRET", args: []string{"verify", secret}, says: "verify: unexpected argument #2 (not shown: it may be a secret)"},
		{name: "sign -user x SECRET", args: []string{"sign", "-user", "x", secret}, says: "sign: unexpected argument #4 (not shown"},
		{name: "verify after its flags", args: []string{"verify", "-user", "x", "-hash", hashNoExp, secret}, says: "unexpected argument #6 (not shown"},
		{name: "sign -SECRET", args: []string{"sign", "-" + secret}, says: "argument #2 is not a flag of sign (not shown"},
		{name: "sign --SECRET=value", args: []string{"sign", "-user", "x", "--" + secret + "=1"}, says: "argument #4 is not a flag of sign (not shown"},
		{name: "sign --secret=SECRET", args: []string{"sign", "-user", "x", "--secret=" + secret}, says: "there is no -secret flag"},
		{name: "verify -secret SECRET", args: []string{"verify", "-secret", secret, "-user", "x", "-hash", hashNoExp}, says: "there is no -secret flag"},
		{name: "unknown flag with the secret as value", args: []string{"sign", "-key", secret, "-user", "x"}, says: "argument #2 is not a flag of sign (not shown"},
		{name: "unknown flag=SECRET", args: []string{"verify", "-user", "x", "-hash", hashNoExp, "-key=" + secret}, says: "argument #6 is not a flag of verify (not shown"},
		{name: "bad flag syntax", args: []string{"sign", "-user", "x", "---" + secret}, says: "argument #4 is not a flag of sign (not shown"},
		{name: "bad flag syntax with =", args: []string{"sign", "-=" + secret}, says: "argument #2 is not a flag of sign (not shown"},
		{name: "as -ttl", args: []string{"sign", "-user", "x", "-ttl", secret}, says: "argument #5 is not a valid value for -ttl (not shown"},
		{name: "as -expires", args: []string{"sign", "-user", "x", "-expires", secret}, says: "the value of -expires is not an ISO 8601 time"},
		{name: "as -secret-file", args: []string{"sign", "-user", "x", "-secret-file", guid}, wantCode: exitFail, says: "-secret-file names no file that exists (the path is not shown"},
		{name: "doctor SECRET", args: []string{"doctor", secret}, says: "doctor: argument #2 is not an absolute http or https URL (not shown"},
		{name: "doctor URL SECRET", args: []string{"doctor", "http://a.invalid/", secret}, says: "doctor: unexpected argument #3 (not shown"},
		{name: "doctor -SECRET URL", args: []string{"doctor", "-" + secret, "http://a.invalid/"}, says: "argument #2 is not a flag of doctor (not shown"},
		{name: "doctor -cookie-file SECRET", args: []string{"doctor", "-cookie-file", guid, "http://a.invalid/"}, wantCode: exitFail, says: "-cookie-file names no file that exists"},
	}
	for _, key := range []string{secret, guid} {
		for _, tt := range tests {
			for _, envSet := range []bool{false, true} {
				args := make([]string, len(tt.args))
				for i, a := range tt.args {
					args[i] = strings.ReplaceAll(strings.ReplaceAll(a, secret, key), guid, key)
				}
				name := tt.name
				if key == guid {
					name += ", GUID key"
				}
				if envSet {
					name += ", secret set"
				}
				t.Run(name, func(t *testing.T) {
					env := func(string) string { return "" }
					if envSet {
						env = func(k string) string { return map[string]string{secretEnv: key}[k] }
					}
					var stdout, stderr bytes.Buffer
					code := run(args, env, strings.NewReader(key+"\n"), &stdout, &stderr, time.Now)
					want := tt.wantCode
					if want == 0 {
						want = exitUsage
					}
					assert.Equal(t, want, code)
					assert.Contains(t, stderr.String(), tt.says)
					assert.NotContains(t, stdout.String()+stderr.String(), key, "the secret is echoed")
				})
			}
		}
	}
}

// TestArgumentHoldingTheSecret refuses a secret typed as a flag value
// pfhmac would repeat, once the secret itself is known.
func TestArgumentHoldingTheSecret(t *testing.T) {
	env := func(k string) string { return map[string]string{secretEnv: secret}[k] }
	for _, args := range [][]string{
		{"verify", "-user", secret, "-hash", hashNoExp},
		{"verify", "-user", "x", "-hash", hashNoExp, "-expiration", secret},
		{"verify", "-user", "x", "-hash", secret},
		{"sign", "-user", "prefix-" + secret},
	} {
		t.Run(strings.Join(args[:3], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(args, env, nil, &stdout, &stderr, time.Now)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr.String(), "holds the secret (not shown)")
			assert.NotContains(t, stdout.String()+stderr.String(), secret)
		})
	}
}

func TestDidYouMean(t *testing.T) {
	names := []string{"user", "hash", "expiration", "secret-file"}
	assert.Equal(t, " (did you mean -user?)", didYouMean("usr", names, "-"))
	assert.Equal(t, " (did you mean -expiration?)", didYouMean("-Expiraton", names, "-"))
	assert.Equal(t, "", didYouMean(secret, names, "-"))
	assert.Equal(t, "", didYouMean(strings.Repeat("a", 100), names, "-"))
	assert.Equal(t, 3, editDistance("kitten", "sitting"))
}
