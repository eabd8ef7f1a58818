// Command loadtest publishes the middleware's numbers under load and
// while streaming a huge page, measured in one run on this machine:
//
//	go -C bench run ./loadtest            # load: bare vs context mode vs injection
//	go -C bench run ./loadtest -duration 1s -clients 256 -protocols h2c
//	go -C bench run ./loadtest -variants inject -clients 256 -protocols http1 -cpuprofile server.prof
//	go -C bench run ./loadtest -memory    # heap while streaming a 1 GiB page
//
// Load runs the server in a process of its own (this command
// re-executed with -serve, printing its URL on stdout) and the clients in
// this one, each on its own CPUs when it can (-pin): the server on the
// first half of the CPUs, the clients on the rest, with GOMAXPROCS to
// match. One server serves the three variants on three paths, over
// HTTP/1.1 and h2c. For each protocol and client count, the variants run
// in rounds whose order changes every round. On the clock a client only
// sends its request and reads the body whole; every response is checked
// after its round (see harness.Load). Server CPU is the server process's
// own user+system time, which it reports before and after each round.
//
// It prints Markdown tables and exits non-zero on any error or
// cross-talk, or when at the largest client count injection costs the
// server more than 1.05× the bare handler's CPU per page or serves fewer
// than 0.95× its requests per second.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pfverify/productfruits/bench/loadtest/harness"
)

// The goals, at the largest client count.
const (
	maxCPURatio = 1.05 // injected server CPU per page / bare
	minRPSRatio = 0.95 // injected requests per second / bare
)

func main() {
	// A server process started with -pin syscall pins itself here first.
	if err := harness.PinSelf(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: pin:", err)
		os.Exit(2)
	}
	var (
		duration  = flag.Duration("duration", 6*time.Second, "measured time per variant, protocol and client count, split over -rounds")
		requests  = flag.Int("requests", 0, "requests per client, variant and round instead of -duration (0: use -duration)")
		rounds    = flag.Int("rounds", 6, "rounds per protocol and client count, the variants' order changing every round (6: all six orders)")
		warmup    = flag.Duration("warmup", 500*time.Millisecond, "unmeasured time per variant, protocol and client count first")
		clientsF  = flag.String("clients", "4,32,256", "comma-separated counts of keep-alive clients; the goals are checked at the largest")
		variantsF = flag.String("variants", "bare,context,inject", "comma-separated variants to run (the goals need bare and inject)")
		protosF   = flag.String("protocols", "http1,h2c", "comma-separated protocols: http1, h2c (HTTP/2 cleartext, prior knowledge)")
		pin       = flag.String("pin", "auto", "keep server and clients on separate CPUs: auto (taskset if on PATH, else sched_setaffinity), taskset, syscall, off")
		size      = flag.Int64("size", 64<<10, "page size in bytes")
		write     = flag.Int("write", 4<<10, "size of the app's writes")
		serve     = flag.Bool("serve", false, "run as the load test's server process (started by the load test itself)")
		memory    = flag.Bool("memory", false, "measure the heap while streaming a -memsize page instead")
		memSize   = flag.Int64("memsize", 1<<30, "streamed page size for -memory")
		memWrite  = flag.Int("memwrite", 32<<10, "size of the app's writes for -memory")
		cpuProf   = flag.String("cpuprofile", "", "write a CPU profile of the server process to this file")
	)
	flag.Parse()
	// The server process ignores an interrupt too: it stops when the load
	// process, interrupted, closes its input.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch {
	case *serve:
		err = runServe(*size, *write, *cpuProf)
	case *memory:
		err = runMemory(ctx, harness.MemoryConfig{Size: *memSize, WriteSize: *memWrite})
	default:
		var opts loadOptions
		opts, err = parseLoad(*clientsF, *protosF)
		if err == nil {
			opts.pin, opts.cpuProf = *pin, *cpuProf
			opts.cfg = harness.LoadConfig{Duration: *duration, Requests: *requests, Rounds: *rounds, Warmup: *warmup,
				Doc: harness.NewDoc(*size, *write), Variants: strings.Split(*variantsF, ",")}
			err = runLoad(ctx, opts)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// runServe is the server process: its URL on stdout, served until stdin
// ends.
func runServe(size int64, write int, cpuProf string) error {
	if cpuProf != "" {
		f, err := os.Create(cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return harness.Serve(os.Stdin, os.Stdout, size, write)
}

type loadOptions struct {
	cfg       harness.LoadConfig
	clients   []int
	protocols []string
	pin       string
	cpuProf   string
}

func parseLoad(clients, protocols string) (loadOptions, error) {
	var o loadOptions
	for f := range strings.SplitSeq(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("-clients %q: want positive counts, comma-separated", clients)
		}
		o.clients = append(o.clients, n)
	}
	for f := range strings.SplitSeq(protocols, ",") {
		switch strings.TrimSpace(f) {
		case "http1":
			o.protocols = append(o.protocols, harness.HTTP1)
		case "h2c":
			o.protocols = append(o.protocols, harness.H2C)
		default:
			return o, fmt.Errorf("-protocols %q: want http1 and/or h2c", protocols)
		}
	}
	return o, nil
}

// commandLine is how this run was started, as a reader would type it.
func commandLine() string {
	args := make([]string, 0, len(os.Args))
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t'\"\\$*?") {
			a = strconv.Quote(a)
		}
		args = append(args, a)
	}
	name := os.Args[0]
	if strings.Contains(name, "go-build") { // the binary `go run` built
		name = "go -C bench run ./loadtest"
	}
	return strings.TrimSpace(name + " " + strings.Join(args, " "))
}

func runLoad(ctx context.Context, o loadOptions) error {
	p, planned, err := harness.Planned()
	if err != nil {
		return err
	}
	if !planned {
		if p, err = harness.PlanPinning(o.pin); err != nil {
			return err
		}
		if p.Pinned() {
			// Start again on the clients' CPUs, same arguments; never
			// returns unless it failed.
			return fmt.Errorf("re-executing on CPU %s: %w", harness.CPUList(p.Clients), p.ExecSelf())
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-serve", "-size", strconv.FormatInt(o.cfg.Doc.Size(), 10), "-write", strconv.Itoa(o.cfg.Doc.WriteSize)}
	if o.cpuProf != "" {
		args = append(args, "-cpuprofile", o.cpuProf)
	}
	remote, err := harness.StartRemote(p.Command(p.Server, exe, args...))
	if err != nil {
		return fmt.Errorf("server process: %w", err)
	}
	defer remote.Close()
	st, err := remote.Stats(ctx)
	if err != nil {
		return err
	}
	printLoadHeader(o, p, st)

	var reports []harness.LoadReport
	ok := true
	for _, proto := range o.protocols {
		for _, n := range o.clients {
			fmt.Fprintf(os.Stderr, "loadtest: %s, %d clients…\n", proto, n)
			cfg := o.cfg
			cfg.URL, cfg.Stats, cfg.Protocol, cfg.Clients = remote.URL, remote.Stats, proto, n
			rep, err := harness.Load(ctx, cfg)
			if err != nil {
				return err
			}
			ok = printLoadTable(rep) && ok
			reports = append(reports, rep)
		}
	}
	printChecks(reports)
	ok = printGoals(reports, slices.Max(o.clients)) && ok
	if err := remote.Close(); err != nil {
		return fmt.Errorf("server process: %w", err)
	}
	if !ok {
		return errors.New("errors, cross-talk or a goal missed (see above)")
	}
	return nil
}

func printLoadHeader(o loadOptions, p harness.Pinning, st harness.ServerStats) {
	cfg := o.cfg
	per := fmt.Sprintf("%v per variant in %s", cfg.Duration, plural(cfg.Rounds, "round"))
	if cfg.Requests > 0 {
		per = fmt.Sprintf("%s per client and variant in each of %s", plural(cfg.Requests, "request"), plural(cfg.Rounds, "round"))
	}
	counts := make([]string, len(o.clients))
	for i, n := range o.clients {
		counts[i] = strconv.Itoa(n)
	}
	clientCPUs, err := harness.AllowedCPUs()
	where := "CPU " + harness.CPUList(clientCPUs)
	if err != nil {
		where = "CPUs unknown"
	}
	fmt.Printf("Load: %d-byte HTML page in %d-byte writes; %s keep-alive clients, each its own user on its own connection, over %s; "+
		"%s (the variants' order rotated every round and reversed every 3 rounds, so that none always follows another), after %v unmeasured per variant.\n\n",
		cfg.Doc.Size(), cfg.Doc.WriteSize, strings.Join(counts, ", "), strings.Join(o.protocols, " and "), per, cfg.Warmup)
	fmt.Printf("Command: `%s`, %s %s/%s. Server: its own process (pid %d, this command with -serve), CPU %s, GOMAXPROCS=%d; "+
		"clients: %s, GOMAXPROCS=%d; %s.\n\n",
		commandLine(), runtime.Version(), runtime.GOOS, runtime.GOARCH, st.PID, harness.CPUList(st.CPUs), st.GOMAXPROCS,
		where, runtime.GOMAXPROCS(0), p)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }
func pct(x float64) string      { return fmt.Sprintf("%.0f%%", 100*x) }

// busy is the share of procs CPUs that cpu, spent over r's rounds, kept
// busy.
func busy(r harness.LoadResult, cpu time.Duration, procs int) float64 {
	if r.Elapsed <= 0 || procs <= 0 {
		return 0
	}
	return float64(cpu) / float64(r.Elapsed) / float64(procs)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// printLoadTable prints one protocol and client count; false on any
// error or cross-talk.
func printLoadTable(rep harness.LoadReport) bool {
	bare, _ := rep.Result(harness.Bare)
	procs := rep.Server.GOMAXPROCS
	fmt.Printf("**%s, %d clients** (%d connections accepted)\n\n", rep.Protocol, rep.Clients, rep.Conns)
	fmt.Println("| variant | requests | req/s | vs bare | server CPU/req | vs bare | server busy | clients busy | p50 | vs bare | p99 | vs bare | errors | cross-talk |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	ok := true
	for _, r := range rep.Results {
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", r.Variant, r.Requests,
			r.RPS(), ratio(r.RPS(), bare.RPS()),
			us(r.CPUPerRequest()), ratio(float64(r.CPUPerRequest()), float64(bare.CPUPerRequest())),
			pct(busy(r, r.ServerCPU, procs)), pct(busy(r, r.ClientCPU, runtime.GOMAXPROCS(0))),
			ms(r.P50), ratio(float64(r.P50), float64(bare.P50)), ms(r.P99), ratio(float64(r.P99), float64(bare.P99)),
			r.Errors, r.CrossTalk)
		if r.Errors > 0 || r.CrossTalk > 0 {
			ok = false
			fmt.Fprintf(os.Stderr, "loadtest: %s, %d clients, %s: %d errors, %d cross-talk; first: %s\n",
				rep.Protocol, rep.Clients, r.Variant, r.Errors, r.CrossTalk, r.FirstErr)
		}
	}
	fmt.Println()
	return ok
}

func printChecks(reports []harness.LoadReport) {
	var responses, pages int64
	for _, rep := range reports {
		for _, r := range rep.Results {
			responses += r.Requests
			pages += r.Pages
		}
	}
	fmt.Printf("Server CPU/req is the server process's user+system CPU time (getrusage RUSAGE_SELF, read from it before and after each round) "+
		"over the round's responses; busy is CPU time over wall time and GOMAXPROCS, for the server and for the clients' process. "+
		"Latency runs from sending a request to having its body whole. Checks, off the clock (after each round, the server idle): "+
		"every response's user object (%d measured responses) parsed and its HMAC verified for the client that asked, "+
		"its length matched against the pages checked whole, and %d pages (each client's first of each round, then every 16th, "+
		"within 32 MiB per round) compared with the page byte for byte.\n\n", responses, pages)
}

// printGoals checks the goals at the largest client count, for each
// protocol; false when one is missed.
func printGoals(reports []harness.LoadReport, clients int) bool {
	fmt.Printf("Goals at %d clients (the verdict on the overall figures; the median over rounds of each round's ratio for comparison):\n\n", clients)
	fmt.Println("| protocol | goal | overall | median of rounds | rounds, min–max | limit | met |")
	fmt.Println("|---|---|---:|---:|---:|---:|---|")
	ok := true
	var notes []string
	for _, rep := range reports {
		if rep.Clients != clients {
			continue
		}
		bare, okB := rep.Result(harness.Bare)
		inj, okI := rep.Result(harness.Inject)
		if !okB || !okI || bare.ServerCPU <= 0 || bare.RPS() <= 0 {
			fmt.Printf("| %s | - | not measured | | | MISSED |\n", rep.Protocol)
			ok = false
			continue
		}
		cpu := float64(inj.CPUPerRequest()) / float64(bare.CPUPerRequest())
		rps := inj.RPS() / bare.RPS()
		verdict := func(met bool) string {
			if met {
				return "yes"
			}
			ok = false
			return "MISSED"
		}
		fmt.Printf("| %s | injected server CPU per page / bare | %.3f× | %.3f× | %s | ≤ %.2f× | %s |\n", rep.Protocol, cpu,
			harness.MedianRatio(inj.RoundCPU, bare.RoundCPU), spread(inj.RoundCPU, bare.RoundCPU), maxCPURatio, verdict(cpu <= maxCPURatio))
		fmt.Printf("| %s | injected throughput / bare | %.3f× | %.3f× | %s | ≥ %.2f× | %s |\n", rep.Protocol, rps,
			harness.MedianRatio(inj.RoundRPS, bare.RoundRPS), spread(inj.RoundRPS, bare.RoundRPS), minRPSRatio, verdict(rps >= minRPSRatio))
		if sb := busy(bare, bare.ServerCPU, rep.Server.GOMAXPROCS); sb < 0.9 {
			what := "neither process kept its CPUs busy, so other work on the machine bounded throughput: " +
				"the throughput ratio measures the machine more than the middleware"
			if cb := busy(bare, bare.ClientCPU, runtime.GOMAXPROCS(0)); cb >= 0.9 {
				what = fmt.Sprintf("the clients were busy %s, so they, not the server, bounded throughput: "+
					"the throughput ratio understates the server's cost", pct(cb))
			}
			notes = append(notes, fmt.Sprintf("%s: the server was busy %s of the bare rounds' time; %s (CPU per page depends less on it).",
				rep.Protocol, pct(sb), what))
		}
	}
	fmt.Println()
	for _, n := range notes {
		fmt.Println("Note:", n)
	}
	if len(notes) > 0 {
		fmt.Println()
	}
	return ok
}

// spread is the range of the rounds' ratios a[i]/b[i]: how much the
// machine moved the figures during the run.
func spread(a, b []float64) string {
	var q []float64
	for i := range min(len(a), len(b)) {
		if b[i] != 0 {
			q = append(q, a[i]/b[i])
		}
	}
	if len(q) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f–%.2f×", slices.Min(q), slices.Max(q))
}

func mib(b uint64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }

func runMemory(ctx context.Context, cfg harness.MemoryConfig) error {
	res, err := harness.Memory(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("Memory: one %d-byte HTML page streamed over loopback in %d-byte writes, heap sampled every 1 ms (runtime/metrics; in-use = objects + unused = MemStats.HeapInuse); %s %s/%s, GOMAXPROCS=%d.\n\n",
		cfg.Size, cfg.WriteSize, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Println("| variant | bytes received | MiB/s | heap objects: base | peak | heap in-use: base | peak | samples |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range res {
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %s | %d |\n", r.Variant, r.Bytes, r.MiBps(),
			mib(r.BaseObjects), mib(r.PeakObjects), mib(r.BaseInUse), mib(r.PeakInUse), r.Samples)
	}
	if len(res) == 2 {
		d := func(a, b uint64) string { return fmt.Sprintf("%+.2f MiB", (float64(a)-float64(b))/(1<<20)) }
		objects, inUse := d(res[1].PeakObjects, res[0].PeakObjects), d(res[1].PeakInUse, res[0].PeakInUse)
		met := res[1].PeakObjects <= res[0].PeakObjects+8<<20 && res[1].PeakInUse <= res[0].PeakInUse+8<<20
		verdict := "met"
		if !met {
			verdict = "MISSED"
		}
		fmt.Printf("\nInjected peak − bare peak: heap objects %s, heap in-use %s. Goal: within 8 MiB (%s).\n", objects, inUse, verdict)
		if !met {
			return errors.New("memory goal missed")
		}
	}
	return nil
}
