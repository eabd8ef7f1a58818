package sharedcache

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Starting the caches: each in a temporary directory of its own, on a
// free loopback port, in the foreground as a child of the test, stopped
// when the test ends. Nothing under /etc or /var is read or written.

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// tempDir returns a directory removed when the test ends that the
// caches' unprivileged workers can enter: nginx started as root runs its
// workers as nobody, varnishd's jail as its own users. (t.TempDir is 0700.)
func tempDir(t testing.TB, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startChild runs cmd until the test ends and waits until its port
// answers HTTP. The output is shown when it fails to start, and logged
// when the test fails.
func startChild(t testing.TB, name string, port int, cmd *exec.Cmd) {
	t.Helper()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// The child's own process group: its workers go with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out)
		}
	})
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s exited (%v):\n%s", name, err, out)
		default:
		}
		resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/ready")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer on port %d within 30s (%v):\n%s", name, port, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nginxConf is a proxy_cache in front of the backend; key is the
// proxy_cache_key line, empty for nginx's default key
// ($scheme$proxy_host$request_uri). No proxy_cache_valid: nginx stores
// what the backend's X-Accel-Expires, Cache-Control or Expires allows,
// keeps one copy per Vary, and (unlike RFC 9111) does not refuse requests
// with Authorization.
const nginxConf = `worker_processes 1;
error_log stderr notice;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path {{dir}}/tmp/body;
	proxy_temp_path {{dir}}/tmp/proxy;
	fastcgi_temp_path {{dir}}/tmp/fastcgi;
	uwsgi_temp_path {{dir}}/tmp/uwsgi;
	scgi_temp_path {{dir}}/tmp/scgi;
	proxy_cache_path {{dir}}/cache levels=1:2 keys_zone=pf:1m max_size=64m inactive=1h use_temp_path=off;
	server {
		listen 127.0.0.1:{{port}};
		location / {
			proxy_pass http://{{backend}};
			proxy_http_version 1.1;
			proxy_cache pf;
			{{key}}
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
}
`

// startNginx starts nginx in front of backend (host:port) and returns its
// base URL.
func startNginx(t testing.TB, backend, key string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/nginx"); statErr != nil {
			ciMissing(t, "nginx", "apt-get install -y nginx")
			return ""
		}
		bin = "/usr/sbin/nginx"
	}
	dir := tempDir(t, "sharedcache-nginx-")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", strconv.Itoa(port), "{{backend}}", backend, "{{key}}", key).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// -e: the error log nginx opens before it reads the config, which
	// would otherwise be the package's /var/log/nginx/error.log.
	cmd := exec.Command(bin, "-e", "stderr", "-p", dir, "-c", confPath,
		"-g", fmt.Sprintf("daemon off; pid %s;", filepath.Join(dir, "nginx.pid")))
	startChild(t, "nginx", port, cmd)
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// varnishVCL lets logged-in requests (a cookie, Basic auth) reach the
// cache, where builtin.vcl would pass them, so that the backend's caching
// rules decide: the common setup of sites that cache pages for logged-in
// users too. vcl_backend_response is builtin.vcl's (Set-Cookie,
// Surrogate-Control, Cache-Control no-cache/no-store/private, Vary: *).
// {{hash}} is an extra vcl_hash, empty for the default (URL and host,
// each Vary a variant).
const varnishVCL = `vcl 4.1;

backend default {
	.host = "{{host}}";
	.port = "{{port}}";
}

sub vcl_recv {
	if (req.method != "GET" && req.method != "HEAD") {
		return (pass);
	}
	return (hash);
}
{{hash}}
`

// cookieKeyedHash keys the cache on the Cookie header as well.
const cookieKeyedHash = `
sub vcl_hash {
	hash_data(req.url);
	if (req.http.host) {
		hash_data(req.http.host);
	} else {
		hash_data(server.ip);
	}
	if (req.http.Cookie) {
		hash_data(req.http.Cookie);
	}
	return (lookup);
}
`

// startVarnish starts varnishd in front of backend (host:port) and
// returns its base URL.
func startVarnish(t testing.TB, backend, hash string) string {
	t.Helper()
	bin, err := exec.LookPath("varnishd")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/varnishd"); statErr != nil {
			ciMissing(t, "varnishd", "apt-get install -y varnish")
			return ""
		}
		bin = "/usr/sbin/varnishd"
	}
	host, bport, err := net.SplitHostPort(backend)
	if err != nil {
		t.Fatal(err)
	}
	dir := tempDir(t, "sharedcache-varnish-")
	port := freePort(t)
	vcl := strings.NewReplacer("{{host}}", host, "{{port}}", bport, "{{hash}}", hash).Replace(varnishVCL)
	vclPath := filepath.Join(dir, "default.vcl")
	if err := os.WriteFile(vclPath, []byte(vcl), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-F", "-a", "127.0.0.1:" + strconv.Itoa(port), "-f", vclPath,
		"-n", filepath.Join(dir, "work"), "-s", "malloc,16m"}
	if os.Geteuid() != 0 {
		// The unix jail needs root to switch users.
		args = append(args, "-j", "none")
	}
	startChild(t, "varnishd", port, exec.Command(bin, args...))
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// endingTB records how a test would have ended instead of ending it.
type endingTB struct {
	testing.TB
	fatal, skip bool
}

func (f *endingTB) Helper()               {}
func (f *endingTB) Fatalf(string, ...any) { f.fatal = true }
func (f *endingTB) Skipf(string, ...any)  { f.skip = true }

// TestMissingProgramFailsUnderCI: a cache or browser test that cannot run
// skips locally and fails under CI=true, where a skip would prove nothing.
func TestMissingProgramFailsUnderCI(t *testing.T) {
	for _, ci := range []string{"true", "", "false"} {
		t.Setenv("CI", ci)
		f := &endingTB{TB: t}
		ciMissing(f, "nginx", "apt-get install -y nginx")
		if f.fatal != (ci == "true") || f.skip != (ci != "true") {
			t.Errorf("CI=%q: fatal %v, skip %v", ci, f.fatal, f.skip)
		}
	}
}
