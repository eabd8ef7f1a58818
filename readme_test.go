package productfruits_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadmeProgram builds the complete program of README.md (its first
// ```go block) against this checkout, so the README's quick start cannot
// drift from the API. It runs offline: the program needs nothing the
// library's own go.sum and the module cache do not already hold.
func TestReadmeProgram(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	program := firstGoBlock(t, readme)
	require.Contains(t, program, "package main", "the README's first go block is a complete program")

	root, err := filepath.Abs(".")
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("main.go", program)
	write("go.mod", "module readme\n\ngo 1.26\n\nrequire (\n"+
		"\tgithub.com/gorilla/sessions "+requiredVersion(t, "github.com/gorilla/sessions")+"\n"+
		"\tgithub.com/pfverify/productfruits v0.0.0\n)\n\n"+
		"replace github.com/pfverify/productfruits => "+root+"\n")
	sum, err := os.ReadFile("go.sum")
	require.NoError(t, err)
	write("go.sum", string(sum))

	for _, args := range [][]string{{"build", "-o", os.DevNull, "."}, {"vet", "."}} {
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s of the README's program:\n%s", strings.Join(args, " "), out)
	}
}

// firstGoBlock returns the body of the first ```go fence in markdown.
func firstGoBlock(t *testing.T, markdown []byte) string {
	t.Helper()
	start := bytes.Index(markdown, []byte("\n```go\n"))
	require.NotEqual(t, -1, start, "README.md has no ```go block")
	body := markdown[start+len("\n```go\n"):]
	end := bytes.Index(body, []byte("\n```\n"))
	require.NotEqual(t, -1, end, "README.md's first ```go block is not closed")
	return string(body[:end+1])
}

// requiredVersion returns the version of module path in the library's go.mod.
func requiredVersion(t *testing.T, path string) string {
	t.Helper()
	mod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(path) + `\s+(v\S+)`).FindSubmatch(mod)
	require.NotNil(t, m, "go.mod requires no %s", path)
	return string(m[1])
}
