package harness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoadConfig sets up a load run.
type LoadConfig struct {
	// Duration is the measured time per variant, split over Rounds.
	// Ignored when Requests is set.
	Duration time.Duration
	// Requests, when positive, is the number of requests each client
	// makes per variant and round, instead of running for Duration: a
	// run then does the same work however busy the machine is. Default:
	// 0, run for Duration.
	Requests int
	// Rounds interleaves the variants, so that drift on the machine is
	// shared by all of them. Default: 1.
	Rounds int
	// Warmup runs each variant unmeasured first. Default: none.
	Warmup time.Duration
	// Concurrency is the number of keep-alive clients, each with its own
	// username. Default: 2×GOMAXPROCS, since client and server share the
	// cores.
	Concurrency int
	// PageSize is the size of the page. Default: 64 KiB.
	PageSize int64
	// WriteSize is the size of the app's writes. Default: 4 KiB, as from
	// a template executed into a bufio.Writer.
	WriteSize int
	// Variants to run. Default: Bare, Context, Inject.
	Variants []string
}

// LoadResult is one variant's measurement.
type LoadResult struct {
	Variant   string
	Requests  int64
	Errors    int64 // failed, non-200, altered or unverifiable responses, log lines
	CrossTalk int64 // responses carrying another client's user object
	FirstErr  string
	Elapsed   time.Duration
	P50, P99  time.Duration
	// RoundRPS is the throughput of each measured round, in order.
	RoundRPS []float64
	// Check is the mean time the client spent on the clock checking a
	// response (the page, not yet the user object): CPU taken from the
	// cores the server runs on.
	Check time.Duration
}

// RPS is the variant's requests per second.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// LoadReport is the outcome of a load run.
type LoadReport struct {
	Results     []LoadResult
	Concurrency int
	GOMAXPROCS  int
	PageSize    int64
	Conns       int64 // connections the server accepted over the run
}

func (c *LoadConfig) defaults() {
	if c.Rounds <= 0 {
		c.Rounds = 1
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 2 * runtime.GOMAXPROCS(0)
	}
	if c.PageSize <= 0 {
		c.PageSize = 64 << 10
	}
	if c.WriteSize <= 0 {
		c.WriteSize = 4 << 10
	}
	if len(c.Variants) == 0 {
		c.Variants = []string{Bare, Context, Inject}
	}
}

// tally collects one variant's outcomes across rounds.
type tally struct {
	mu        sync.Mutex
	lat       []time.Duration
	elapsed   time.Duration
	rounds    []float64
	checkNs   atomic.Int64
	checked   atomic.Int64
	errors    atomic.Int64
	crossTalk atomic.Int64
	firstErr  string
}

func (t *tally) fail(err error) {
	if IsCrossTalk(err) {
		t.crossTalk.Add(1)
	} else {
		t.errors.Add(1)
	}
	t.mu.Lock()
	if t.firstErr == "" {
		t.firstErr = err.Error()
	}
	t.mu.Unlock()
}

// Load starts a server, drives every variant with concurrent keep-alive
// clients, each with its own username, and checks every response: the
// bare page untouched, the context page's rendered user object and the
// injected page's init user object verified for the client that asked.
func Load(ctx context.Context, cfg LoadConfig) (LoadReport, error) {
	cfg.defaults()
	doc := NewDoc(cfg.PageSize, cfg.WriteSize)
	srv, err := NewServer(doc)
	if err != nil {
		return LoadReport{}, err
	}
	tr := Transport(cfg.Concurrency)
	client := &http.Client{Transport: tr}
	tallies := map[string]*tally{}
	for _, v := range cfg.Variants {
		tallies[v] = &tally{}
	}
	if cfg.Warmup > 0 {
		for _, v := range cfg.Variants {
			round(ctx, client, srv, v, cfg.Concurrency, budget{d: cfg.Warmup}, tallies[v], false)
		}
	}
	per := budget{d: cfg.Duration / time.Duration(cfg.Rounds), n: cfg.Requests}
	for i := 0; i < cfg.Rounds && ctx.Err() == nil; i++ {
		// Rotate who goes first, so no variant always follows another.
		for j := range cfg.Variants {
			v := cfg.Variants[(i+j)%len(cfg.Variants)]
			round(ctx, client, srv, v, cfg.Concurrency, per, tallies[v], true)
		}
	}
	tr.CloseIdleConnections()
	closeErr := srv.Close()
	rep := LoadReport{Concurrency: cfg.Concurrency, GOMAXPROCS: runtime.GOMAXPROCS(0), PageSize: doc.Size(), Conns: srv.Conns.Load()}
	for _, v := range cfg.Variants {
		t := tallies[v]
		res := LoadResult{Variant: v, Requests: int64(len(t.lat)), Errors: t.errors.Load(), CrossTalk: t.crossTalk.Load(), FirstErr: t.firstErr, Elapsed: t.elapsed, RoundRPS: t.rounds}
		if n := t.checked.Load(); n > 0 {
			res.Check = time.Duration(t.checkNs.Load() / n)
		}
		if n := len(t.lat); n > 0 {
			slices.Sort(t.lat)
			res.P50 = t.lat[n/2]
			res.P99 = t.lat[(n*99+99)/100-1]
		}
		rep.Results = append(rep.Results, res)
	}
	// Any line the middleware logged means a request it could not serve.
	if n := srv.Logged.Load(); n > 0 {
		rep.Results[0].Errors += n
		if rep.Results[0].FirstErr == "" {
			rep.Results[0].FirstErr = fmt.Sprintf("middleware logged %d lines", n)
		}
	}
	return rep, closeErr
}

// budget is how long each client of a round keeps asking: n requests
// when n is positive, else for d.
type budget struct {
	d time.Duration
	n int
}

// round runs one variant with n clients, each for b, and adds to t.
func round(ctx context.Context, client *http.Client, srv *Server, variant string, n int, b budget, t *tally, measure bool) {
	url := srv.URL + "/" + variant
	var wg sync.WaitGroup
	var done atomic.Int64
	var vmu sync.Mutex
	var verifiers []func()
	start := time.Now()
	deadline := start.Add(b.d)
	more := func(sent int) bool {
		if b.n > 0 {
			return sent < b.n
		}
		return time.Now().Before(deadline)
	}
	for i := range n {
		wg.Go(func() {
			name := Username(i)
			var body bytes.Buffer
			body.Grow(int(srv.Doc.Size()) + 8<<10)
			var lat []time.Duration
			// The user objects, split from their pages as they come and
			// verified once the round is over: parsing them on the clock
			// would bill the clients' JSON decoding to the middleware.
			var held [][]byte
			for sent := 0; more(sent) && ctx.Err() == nil; sent++ {
				t0 := time.Now()
				err := get(ctx, client, url, name, &body)
				took := time.Since(t0)
				if err == nil {
					c0 := time.Now()
					var obj []byte
					obj, err = split(variant, body.Bytes(), srv.Doc)
					if obj != nil {
						held = append(held, bytes.Clone(obj))
					}
					t.checkNs.Add(int64(time.Since(c0)))
					t.checked.Add(1)
				}
				if err != nil {
					t.fail(err)
					continue
				}
				lat = append(lat, took)
			}
			done.Add(int64(len(lat)))
			if measure {
				t.mu.Lock()
				t.lat = append(t.lat, lat...)
				t.mu.Unlock()
			}
			vmu.Lock()
			defer vmu.Unlock()
			verifiers = append(verifiers, func() {
				for _, obj := range held {
					if err := verifyHeld(variant, obj, srv, name); err != nil {
						t.fail(err)
					}
				}
			})
		})
	}
	wg.Wait()
	if measure {
		took := time.Since(start)
		t.elapsed += took
		t.rounds = append(t.rounds, float64(done.Load())/took.Seconds())
	}
	for _, v := range verifiers {
		v()
	}
}

func get(ctx context.Context, client *http.Client, url, name string, body *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set(UserHeader, name)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body.Reset()
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, body.Bytes())
	}
	return nil
}

// split checks a page inline and returns the user object to verify later.
func split(variant string, body []byte, doc *Doc) ([]byte, error) {
	switch variant {
	case Bare:
		return nil, CheckBare(body, doc)
	case Context:
		return SplitContext(body, doc)
	case Inject:
		return SplitInjected(body, doc)
	}
	return nil, fmt.Errorf("unknown variant %q", variant)
}

func verifyHeld(variant string, obj []byte, srv *Server, name string) error {
	if variant == Context {
		return VerifyContextUser(obj, srv.Signer, name, time.Now())
	}
	return VerifySnippet(obj, srv.Signer, name, time.Now())
}

// RoundRatio is the median over rounds of r's throughput over base's in
// the same round: variants of one round ran back to back, so a burst of
// other work on the machine weighs on both sides of each ratio.
func RoundRatio(r, base LoadResult) float64 {
	n := min(len(r.RoundRPS), len(base.RoundRPS))
	if n == 0 {
		return 0
	}
	q := make([]float64, n)
	for i := range n {
		q[i] = r.RoundRPS[i] / base.RoundRPS[i]
	}
	slices.Sort(q)
	if n%2 == 1 {
		return q[n/2]
	}
	return (q[n/2-1] + q[n/2]) / 2
}
