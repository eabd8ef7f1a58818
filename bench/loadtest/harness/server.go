// Package harness drives the productfruits middleware through a real
// http.Server on loopback and checks every response it gets back. Its
// own tests prove, under load, while streaming and through faults, what
// cannot depend on how busy the machine is: no errors, no user object in
// another user's response, a bounded heap. The loadtest command runs the
// same code to publish the numbers, so both prove the same thing: there
// the server runs in a process of its own (Serve, StartRemote), pinned
// away from the clients' CPUs when it can be (Pinning), and reports its
// own CPU time (ServerStats).
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/pfverify/productfruits"
)

// Test identity: the workspace code and secret every variant signs with.
const (
	Workspace = "loadtestWS"
	Secret    = "loadtest-secret-not-a-real-one"
)

// UserHeader carries the client's username to Auth.
const UserHeader = "X-Loadtest-User"

// Variants, as served under "/"+name.
const (
	Bare    = "bare"    // the app alone
	Context = "context" // the middleware in context mode; the app renders the user object
	Inject  = "inject"  // the middleware with Config.Inject
)

type userKey struct{}

// Auth plays the app's own authentication middleware: it turns the
// UserHeader into the context value that productfruits.ContextUsername
// reads.
func Auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name := r.Header.Get(UserHeader); name != "" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, name))
		}
		next.ServeHTTP(w, r)
	})
}

// Username is client i's username; non-ASCII on purpose, so that
// escaping is on the measured path.
func Username(i int) string { return fmt.Sprintf("user-%d-Žluťoučký.kůň@example.com", i) }

// Config is the middleware configuration of the context and inject
// variants, with TTL so each page also carries the renewal script.
func Config(inject bool, logger *slog.Logger) productfruits.Config {
	return productfruits.Config{
		WorkspaceCode: Workspace,
		Secret:        productfruits.NewSecret(Secret),
		Username:      productfruits.ContextUsername(userKey{}),
		TTL:           time.Hour,
		Inject:        inject,
		Logger:        logger,
	}
}

// ContextApp is the app of the context variant: the doc with the user
// object from productfruits.FromContext rendered before </head>.
func ContextApp(doc *Doc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := productfruits.FromContext(r.Context())
		if !ok {
			doc.Write(w, nil)
			return
		}
		b, err := json.Marshal(u)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		extra := make([]byte, 0, len(ContextUserOpen)+len(b)+len("</script>"))
		extra = append(append(append(extra, ContextUserOpen...), b...), "</script>"...)
		doc.Write(w, extra)
	})
}

// countingHandler counts log records at WARN and above: every one of them
// is an error here. (INFO says how the middleware adapted to the wiring,
// such as pages naming their own URL for the runtime under /inject.)
type countingHandler struct{ n *atomic.Int64 }

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h countingHandler) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// StatsPath is where a Server answers with its ServerStats, as JSON.
const StatsPath = "/_loadtest/stats"

// ServerStats are a server process's counters, read by the load clients
// before and after each round.
type ServerStats struct {
	// CPU is the user+system CPU time the whole process has used
	// (getrusage RUSAGE_SELF): handlers, the HTTP stack, GC, syscalls.
	CPU time.Duration `json:"cpu"`
	// Conns counts the connections accepted, Logged the middleware's log
	// lines (each one a request it could not serve).
	Conns  int64 `json:"conns"`
	Logged int64 `json:"logged"`
	// GOMAXPROCS, CPUs (the process's CPU affinity, empty when unknown)
	// and PID describe the process.
	GOMAXPROCS int   `json:"gomaxprocs"`
	CPUs       []int `json:"cpus"`
	PID        int   `json:"pid"`
}

// Server is a real http.Server on 127.0.0.1 serving the three variants of
// one doc, over HTTP/1.1 and over HTTP/2 cleartext with prior knowledge
// (h2c), and its ServerStats at StatsPath.
type Server struct {
	URL    string
	Signer *productfruits.Signer
	Doc    *Doc
	// Logged counts the middleware's log lines; Conns the connections
	// accepted.
	Logged, Conns atomic.Int64
	srv           *http.Server
	done          chan error
}

// NewServer starts a Server for doc.
func NewServer(doc *Doc) (*Server, error) { return newServer(doc, nil) }

// newServer starts a Server for doc whose handler, when wrap is set, is
// wrap's: a test's way of breaking the answers.
func newServer(doc *Doc, wrap func(http.Handler) http.Handler) (*Server, error) {
	s := &Server{Doc: doc, done: make(chan error, 1)}
	logger := slog.New(countingHandler{&s.Logged})
	ctxMW, err := productfruits.New(Config(false, logger))
	if err != nil {
		return nil, err
	}
	injMW, err := productfruits.New(Config(true, logger))
	if err != nil {
		return nil, err
	}
	s.Signer = ctxMW.Signer()
	mux := http.NewServeMux()
	mux.Handle("/"+Bare, doc)
	mux.Handle("/"+Context, ctxMW.Handler(ContextApp(doc)))
	mux.Handle("/"+Inject, injMW.Handler(doc))
	mux.HandleFunc(StatsPath, s.serveStats)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	var h http.Handler = Auth(mux)
	if wrap != nil {
		h = wrap(h)
	}
	s.srv = &http.Server{
		Protocols:         &protocols,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.Conns.Add(1)
			}
		},
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Stats returns the server process's counters.
func (s *Server) Stats() (ServerStats, error) {
	cpu, err := ProcessCPU()
	if err != nil {
		return ServerStats{}, err
	}
	cpus, _ := AllowedCPUs() // unknown off Linux: left empty
	return ServerStats{CPU: cpu, Conns: s.Conns.Load(), Logged: s.Logged.Load(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: cpus, PID: os.Getpid()}, nil
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	st, err := s.Stats()
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotImplemented)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// Close shuts the server down and waits for its connections to end. The
// wait is bounded generously: only a hung connection, not a busy
// machine, should ever reach it.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// Protocols the load clients speak.
const (
	HTTP1 = "HTTP/1.1"
	H2C   = "h2c" // HTTP/2 over cleartext TCP with prior knowledge
)

// ClientTransport returns the transport of one load client: a single
// keep-alive connection, as a browser's, speaking protocol (HTTP1 or
// H2C).
func ClientTransport(protocol string) (*http.Transport, error) {
	tr := Transport(1)
	switch protocol {
	case HTTP1:
	case H2C:
		var p http.Protocols
		p.SetUnencryptedHTTP2(true) // and not HTTP1: prior knowledge
		tr.Protocols = &p
	default:
		return nil, fmt.Errorf("unknown protocol %q (want %q or %q)", protocol, HTTP1, H2C)
	}
	return tr, nil
}

// Transport returns a keep-alive client transport for n concurrent
// clients of the server.
func Transport(n int) *http.Transport {
	return &http.Transport{
		MaxIdleConns:        n,
		MaxIdleConnsPerHost: n,
		MaxConnsPerHost:     n,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
}
