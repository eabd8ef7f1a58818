package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/require"
)

// The demo's built-in values (examples/basic/main.go), on which it serves
// its stand-in for the product's loader.
const (
	demoWorkspaceCode = "demo-workspace"
	demoSecret        = "demo-secret-not-for-production"
	standInPath       = "/demo/productfruits.js"
)

// hostileUsername tries every way a username could break out of the page
// or be garbled on the way: a script end tag, quotes, the two JavaScript
// line terminators JSON allows raw, non-ASCII letters and an emoji
// (a surrogate pair in JavaScript).
const hostileUsername = "</script><script>window.__pwned=1</script>'\"\u2028\u2029 \u017dlu\u0165ou\u010dk\u00fd k\u016f\u0148 \U0001F984"

// demoBinary is the demo built by TestMain.
var demoBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pfdemo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	demoBinary = filepath.Join(dir, "basic")
	build := exec.Command("go", "build", "-o", demoBinary, "./basic")
	build.Dir = filepath.Join("..", "..", "examples")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the demo:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// testApp is the demo running as its own process on its demo values.
type testApp struct {
	URL       string
	ScriptURL string // the stand-in the demo's pages load
	signer    *productfruits.Signer
}

// listening is the demo's log line that names its URL.
var listening = regexp.MustCompile(`msg=listening url=(http://\S+)/ `)

// startApp runs the demo, as `go run ./basic` would, on a 127.0.0.1 port
// of its own with env added to its environment, until the test ends.
func startApp(t *testing.T, env map[string]string) *testApp {
	t.Helper()
	cmd := exec.Command(demoBinary)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PRODUCTFRUITS_") && !strings.HasPrefix(kv, "SESSION_KEY=") && !strings.HasPrefix(kv, "ADDR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ADDR=127.0.0.1:0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	logs := &pftest.SyncBuffer{}
	found := make(chan string, 1)
	var drained sync.WaitGroup
	drained.Add(1)
	go func() {
		defer drained.Done()
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			fmt.Fprintln(logs, lines.Text())
			if m := listening.FindStringSubmatch(lines.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // the demo shuts down gracefully
		drained.Wait()
		cmd.Wait()
		if t.Failed() {
			t.Logf("the demo's log:\n%s", logs)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var url string
	select {
	case url = <-found:
	case <-ctx.Done():
		t.Fatalf("the demo did not say where it listens; its log:\n%s", logs)
	}
	signer, err := productfruits.NewSigner(demoSecret)
	require.NoError(t, err)
	return &testApp{URL: url, ScriptURL: url + standInPath, signer: signer}
}

// initCall is the arguments of the product's init call.
type initCall struct {
	Code, Lang string
	User       productfruits.User
}
