package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pfverify/productfruits"
)

// LoadConfig sets up one load measurement: Clients keep-alive clients of
// one protocol against a server that serves every variant.
type LoadConfig struct {
	// URL is the server's base URL (a Server or a Remote): variant v is
	// served at URL+"/"+v.
	URL string
	// Stats reads the server process's counters before and after each
	// round, for its CPU time and its log lines. Default: nil, no server
	// figures (a server in the clients' process would bill their CPU to
	// itself).
	Stats func(context.Context) (ServerStats, error)
	// Doc is the page the server serves, to check the responses against.
	Doc *Doc
	// Signer verifies the user objects. Default: a Signer for Secret.
	Signer *productfruits.Signer
	// Protocol is HTTP1 or H2C. Default: HTTP1.
	Protocol string
	// Clients is the number of clients, each its own user on its own
	// keep-alive connection, as browsers are. Default: 4.
	Clients int
	// Duration is the measured time per variant, split over Rounds.
	// Ignored when Requests is set.
	Duration time.Duration
	// Requests, when positive, is the number of requests each client
	// makes per variant and round, instead of running for Duration: a
	// run then does the same work however busy the machine is. Default:
	// 0, run for Duration.
	Requests int
	// Rounds interleaves the variants, in an order that changes from
	// round to round (Order), so that drift on the machine and what one
	// variant leaves behind in the server (its heap, its caches) weigh
	// on all of them alike. Default: 1.
	Rounds int
	// Warmup runs each variant unmeasured first, its responses checked
	// all the same. Default: none.
	Warmup time.Duration
	// Variants to run. Default: Bare, Context, Inject.
	Variants []string
}

// sampleEvery and sampleBudget decide which whole pages a client keeps
// for the byte-for-byte check after a round: its first response and
// then every sampleEvery-th, within sampleBudget bytes over all clients.
const (
	sampleEvery  = 16
	sampleBudget = 32 << 20
)

func (c *LoadConfig) defaults() error {
	if c.Doc == nil || c.URL == "" {
		return errors.New("load: URL and Doc are required")
	}
	if c.Signer == nil {
		s, err := productfruits.NewSigner(Secret)
		if err != nil {
			return err
		}
		c.Signer = s
	}
	if c.Protocol == "" {
		c.Protocol = HTTP1
	}
	if _, err := ClientTransport(c.Protocol); err != nil {
		return err
	}
	if c.Clients <= 0 {
		c.Clients = 4
	}
	if c.Rounds <= 0 {
		c.Rounds = 1
	}
	if len(c.Variants) == 0 {
		c.Variants = []string{Bare, Context, Inject}
	}
	for _, v := range c.Variants {
		if v != Bare && v != Context && v != Inject {
			return fmt.Errorf("unknown variant %q (want %s, %s or %s)", v, Bare, Context, Inject)
		}
	}
	return nil
}

// LoadResult is one variant's measurement over the rounds.
type LoadResult struct {
	Variant string
	// Requests counts the responses received whole, status 200, in the
	// protocol asked for.
	Requests int64
	// Errors counts failed requests and responses that failed a check,
	// and lines the middleware logged; CrossTalk the responses carrying
	// another client's user object.
	Errors, CrossTalk int64
	FirstErr          string
	// Pages counts the responses compared with the page byte for byte.
	Pages int64
	// Elapsed is the rounds' wall time; P50 and P99 the latency of a
	// request, from sending it to having its body whole.
	Elapsed  time.Duration
	P50, P99 time.Duration
	// ServerCPU is the server process's user+system CPU time over the
	// rounds (zero without LoadConfig.Stats); ClientCPU this process's.
	ServerCPU, ClientCPU time.Duration
	// RoundRPS and RoundCPU are each measured round's throughput and
	// server CPU per request, in nanoseconds, in order.
	RoundRPS, RoundCPU []float64
}

// RPS is the variant's requests per second.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// CPUPerRequest is the server's CPU time per response.
func (r LoadResult) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Requests)
}

// LoadReport is the outcome of a load measurement.
type LoadReport struct {
	Protocol string
	Clients  int
	Results  []LoadResult
	// Orders is the order the variants ran in, round by round.
	Orders [][]string
	// Server is the server's last counters; Conns the connections it
	// accepted over the measurement. Both need LoadConfig.Stats.
	Server ServerStats
	Conns  int64
}

// Result returns variant's result.
func (rep LoadReport) Result(variant string) (LoadResult, bool) {
	for _, r := range rep.Results {
		if r.Variant == variant {
			return r, true
		}
	}
	return LoadResult{}, false
}

// failures counts what went wrong with responses, one count per
// response at most.
type failures struct {
	errors, crossTalk int64
	first             string
}

func (f *failures) add(err error) {
	if IsCrossTalk(err) {
		f.crossTalk++
	} else {
		f.errors++
	}
	if f.first == "" {
		f.first = err.Error()
	}
}

func (f *failures) merge(g failures) {
	f.errors += g.errors
	f.crossTalk += g.crossTalk
	if f.first == "" {
		f.first = g.first
	}
}

// loadClient is one user on one connection, and what it received in the
// current round, held for the checks after it.
type loadClient struct {
	name   string
	tr     *http.Transport
	client *http.Client
	body   bytes.Buffer

	lat     []time.Duration
	lens    []int    // each response's length
	idEnds  []int    // each response's identity is ids[idEnds[i-1]:idEnds[i]]
	ids     []byte   // the identities (Identity), back to back
	samples []int    // responses kept whole
	pages   [][]byte // their bodies; buffers reused from round to round
	fail    failures
}

func (c *loadClient) reset() {
	c.lat, c.lens, c.idEnds, c.ids, c.samples = c.lat[:0], c.lens[:0], c.idEnds[:0], c.ids[:0], c.samples[:0]
	c.fail = failures{}
}

func (c *loadClient) ident(i int) []byte {
	start := 0
	if i > 0 {
		start = c.idEnds[i-1]
	}
	return c.ids[start:c.idEnds[i]]
}

// loader runs the rounds of one LoadConfig.
type loader struct {
	cfg       LoadConfig
	clients   []*loadClient
	protoMaj  int
	sampleCap int
}

// Load drives every variant of the server at cfg.URL with cfg.Clients
// concurrent keep-alive clients, each its own user on its own
// connection, round after round, and checks every response once each
// round is over. On the clock, a client only sends its request, reads
// the body whole (the latency ends there), and copies out the bytes that
// say whose page it is (Identity). After the round, off the clock, every
// response's user object is parsed and verified for the client that
// asked (no cross-talk), every response's length is matched against the
// pages checked whole, and the first page of each client and every
// sampleEvery-th after it (within sampleBudget) is compared with the doc
// byte for byte around its verified user object (CheckPage).
func Load(ctx context.Context, cfg LoadConfig) (LoadReport, error) {
	if err := cfg.defaults(); err != nil {
		return LoadReport{}, err
	}
	l := &loader{cfg: cfg, protoMaj: 1}
	if cfg.Protocol == H2C {
		l.protoMaj = 2
	}
	l.sampleCap = max(1, sampleBudget/(cfg.Clients*int(cfg.Doc.Size()+8<<10)))
	for i := range cfg.Clients {
		tr, _ := ClientTransport(cfg.Protocol) // checked by defaults
		c := &loadClient{name: Username(i), tr: tr, client: &http.Client{Transport: tr}}
		c.body.Grow(int(cfg.Doc.Size()) + 16<<10)
		l.clients = append(l.clients, c)
	}
	defer func() {
		for _, c := range l.clients {
			c.tr.CloseIdleConnections()
		}
	}()

	rep := LoadReport{Protocol: cfg.Protocol, Clients: cfg.Clients}
	var first ServerStats
	if cfg.Stats != nil {
		var err error
		if first, err = cfg.Stats(ctx); err != nil {
			return rep, err
		}
	}
	acc := map[string]*accum{}
	for _, v := range cfg.Variants {
		acc[v] = &accum{}
	}
	if cfg.Warmup > 0 {
		for _, v := range Order(0, cfg.Variants) {
			if err := l.round(ctx, v, budget{d: cfg.Warmup}, acc[v], false); err != nil {
				return rep, err
			}
		}
	}
	per := budget{d: cfg.Duration / time.Duration(cfg.Rounds), n: cfg.Requests}
	for r := 0; r < cfg.Rounds && ctx.Err() == nil; r++ {
		order := Order(r, cfg.Variants)
		rep.Orders = append(rep.Orders, order)
		for _, v := range order {
			if err := l.round(ctx, v, per, acc[v], true); err != nil {
				return rep, err
			}
		}
	}
	if cfg.Stats != nil {
		last, err := cfg.Stats(context.WithoutCancel(ctx))
		if err != nil {
			return rep, err
		}
		rep.Server, rep.Conns = last, last.Conns-first.Conns
	}
	for _, v := range cfg.Variants {
		rep.Results = append(rep.Results, acc[v].result(v))
	}
	return rep, ctx.Err()
}

// accum gathers one variant's rounds.
type accum struct {
	LoadResult
	lat  []time.Duration
	fail failures
}

func (a *accum) result(v string) LoadResult {
	r := a.LoadResult
	r.Variant, r.Errors, r.CrossTalk, r.FirstErr = v, a.fail.errors, a.fail.crossTalk, a.fail.first
	if n := len(a.lat); n > 0 {
		slices.Sort(a.lat)
		r.P50 = a.lat[n/2]
		r.P99 = a.lat[(n*99+99)/100-1]
	}
	return r
}

// budget is how long each client of a round keeps asking: n requests
// when n is positive, else for d.
type budget struct {
	d time.Duration
	n int
}

// Order is the order in which round r runs vs: rotated by r, and
// reversed in every other cycle of len(vs) rounds. Over 2×len(vs) rounds
// of three variants that makes all six orders: each variant runs first,
// second and last, and right after each other one, equally often.
func Order(r int, vs []string) []string {
	n := len(vs)
	out := make([]string, n)
	for i := range n {
		out[i] = vs[(r+i)%n]
	}
	if (r/max(n, 1))%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// round runs variant with every client for b, then checks what they
// received, and adds both to a (the measurements only when measure).
func (l *loader) round(ctx context.Context, variant string, b budget, a *accum, measure bool) error {
	var before, after ServerStats
	if l.cfg.Stats != nil {
		var err error
		if before, err = l.cfg.Stats(ctx); err != nil {
			return err
		}
	}
	cpu0, cpuErr := ProcessCPU()
	url := l.cfg.URL + "/" + variant
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(b.d)
	for _, c := range l.clients {
		c.reset()
		wg.Go(func() { l.run(ctx, c, url, variant, b, deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := ProcessCPU()
	if l.cfg.Stats != nil {
		var err error
		if after, err = l.cfg.Stats(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}

	// Off the clock: the server is idle while its answers are checked.
	now := time.Now()
	var requests, pages int64
	for _, f := range l.check(variant, now) {
		a.fail.merge(f)
	}
	for _, c := range l.clients {
		a.fail.merge(c.fail)
		requests += int64(len(c.lat))
		pages += int64(len(c.samples))
	}
	if n := after.Logged - before.Logged; n > 0 {
		a.fail.add(fmt.Errorf("middleware logged %d lines", n))
		a.fail.errors += n - 1
	}
	if !measure {
		return nil
	}
	a.Requests += requests
	a.Pages += pages
	a.Elapsed += elapsed
	a.ServerCPU += after.CPU - before.CPU
	if cpuErr == nil {
		a.ClientCPU += cpu1 - cpu0
	}
	a.RoundRPS = append(a.RoundRPS, float64(requests)/elapsed.Seconds())
	if requests > 0 {
		a.RoundCPU = append(a.RoundCPU, float64(after.CPU-before.CPU)/float64(requests))
	}
	for _, c := range l.clients {
		a.lat = append(a.lat, c.lat...)
	}
	return nil
}

// run is one client's part of a round: requests, each timed from
// sending it to having its body whole, and the least that must be kept
// from each response for its checks.
func (l *loader) run(ctx context.Context, c *loadClient, url, variant string, b budget, deadline time.Time) {
	for sent := 0; ctx.Err() == nil; sent++ {
		if b.n > 0 && sent >= b.n || b.n <= 0 && !time.Now().Before(deadline) {
			return
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			c.fail.add(err)
			return
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		req.Header.Set(UserHeader, c.name)
		t0 := time.Now()
		resp, err := c.client.Do(req)
		if err == nil {
			c.body.Reset()
			_, err = c.body.ReadFrom(resp.Body)
			resp.Body.Close()
		}
		took := time.Since(t0)

		if err != nil {
			c.fail.add(err)
			continue
		}
		body := c.body.Bytes()
		if resp.StatusCode != http.StatusOK {
			c.fail.add(fmt.Errorf("status %d: %.200s", resp.StatusCode, body))
			continue
		}
		if resp.ProtoMajor != l.protoMaj {
			c.fail.add(fmt.Errorf("response in %s, asked for %s", resp.Proto, l.cfg.Protocol))
			continue
		}
		id, err := Identity(variant, body, l.cfg.Doc)
		if err != nil {
			c.fail.add(err)
			continue
		}
		i := len(c.lat)
		c.lat = append(c.lat, took)
		c.lens = append(c.lens, len(body))
		c.ids = append(c.ids, id...)
		c.idEnds = append(c.idEnds, len(c.ids))
		if i%sampleEvery == 0 && len(c.samples) < l.sampleCap {
			k := len(c.samples)
			if k == len(c.pages) {
				c.pages = append(c.pages, nil)
			}
			c.pages[k] = append(c.pages[k][:0], body...)
			c.samples = append(c.samples, i)
		}
	}
}

// check verifies, after a round, every response the clients received:
// the whole pages kept first, byte for byte, which also fixes what every
// response's length less its identity must be; then each response's
// identity and that length. It returns each client's failures.
func (l *loader) check(variant string, now time.Time) []failures {
	out := make([]failures, len(l.clients))
	failed := make([]map[int]bool, len(l.clients))
	overhead := -1
	for ci, c := range l.clients {
		for k, i := range c.samples {
			if err := CheckPage(variant, c.pages[k], l.cfg.Doc, l.cfg.Signer, c.name, now); err != nil {
				out[ci].add(fmt.Errorf("%s, response %d: %w", c.name, i, err))
				if failed[ci] == nil {
					failed[ci] = map[int]bool{}
				}
				failed[ci][i] = true
			} else if overhead < 0 {
				overhead = c.lens[i] - len(c.ident(i))
			}
		}
	}
	for ci, c := range l.clients {
		for i := range c.lat {
			if failed[ci][i] {
				continue
			}
			err := VerifyIdentity(variant, c.ident(i), l.cfg.Signer, c.name, now)
			if err == nil && overhead >= 0 && c.lens[i]-len(c.ident(i)) != overhead {
				err = fmt.Errorf("%d bytes, %d more than the pages checked whole", c.lens[i], c.lens[i]-len(c.ident(i))-overhead)
			}
			if err != nil {
				out[ci].add(fmt.Errorf("%s, response %d: %w", c.name, i, err))
			}
		}
	}
	return out
}

// MedianRatio is the median over rounds of a[i]/b[i]: the variants of
// one round ran back to back, so a burst of other work on the machine
// weighs on both sides of each ratio.
func MedianRatio(a, b []float64) float64 {
	n := min(len(a), len(b))
	q := make([]float64, 0, n)
	for i := range n {
		if b[i] != 0 {
			q = append(q, a[i]/b[i])
		}
	}
	if len(q) == 0 {
		return 0
	}
	slices.Sort(q)
	if m := len(q); m%2 == 1 {
		return q[m/2]
	}
	return (q[len(q)/2-1] + q[len(q)/2]) / 2
}
