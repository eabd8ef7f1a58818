// Command loadtest publishes the middleware's numbers under load and
// while streaming a huge page, measured in one run on this machine:
//
//	go run ./internal/loadtest            # load: bare vs context mode vs injection
//	go run ./internal/loadtest -memory    # heap while streaming a 1 GiB page
//
// Load runs a real http.Server on 127.0.0.1:0 and drives it with
// concurrent keep-alive clients, each its own user, checking every
// response (see package harness). It prints Markdown tables and exits
// non-zero on any error or cross-talk, or when injection falls below 0.9×
// the bare throughput.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/pfverify/productfruits/internal/loadtest/harness"
)

func main() {
	var (
		duration = flag.Duration("duration", 5*time.Second, "measured time per variant")
		requests = flag.Int("requests", 0, "requests per client, variant and round instead of -duration (0: use -duration)")
		rounds   = flag.Int("rounds", 10, "rounds the measured time is split into, variants interleaved")
		warmup   = flag.Duration("warmup", 500*time.Millisecond, "unmeasured time per variant first")
		conc     = flag.Int("concurrency", 0, "keep-alive clients (0: 2×GOMAXPROCS)")
		size     = flag.Int64("size", 64<<10, "page size in bytes")
		write    = flag.Int("write", 4<<10, "size of the app's writes")
		memory   = flag.Bool("memory", false, "measure the heap while streaming a -memsize page instead")
		memSize  = flag.Int64("memsize", 1<<30, "streamed page size for -memory")
		memWrite = flag.Int("memwrite", 32<<10, "size of the app's writes for -memory")
		cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of the whole run (client and server) to this file")
	)
	flag.Parse()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(2)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var ok bool
	if *memory {
		ok = runMemory(ctx, harness.MemoryConfig{Size: *memSize, WriteSize: *memWrite})
	} else {
		ok = runLoad(ctx, harness.LoadConfig{Duration: *duration, Requests: *requests, Rounds: *rounds, Warmup: *warmup,
			Concurrency: *conc, PageSize: *size, WriteSize: *write})
	}
	if !ok {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func runLoad(ctx context.Context, cfg harness.LoadConfig) bool {
	rep, err := harness.Load(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return false
	}
	per := fmt.Sprintf("%v per variant in %d interleaved rounds", cfg.Duration, cfg.Rounds)
	if cfg.Requests > 0 {
		per = fmt.Sprintf("%d requests per client and variant in each of %d interleaved rounds", cfg.Requests, cfg.Rounds)
	}
	fmt.Printf("Load: %d-byte HTML page, %d keep-alive clients, GOMAXPROCS=%d (%s %s/%s), %s; %d connections accepted.\n\n",
		rep.PageSize, rep.Concurrency, rep.GOMAXPROCS, runtime.Version(), runtime.GOOS, runtime.GOARCH, per, rep.Conns)
	fmt.Println("| variant | requests | req/s | vs bare | vs bare, median of rounds | p50 | vs bare | p99 | vs bare | errors | cross-talk |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var bare harness.LoadResult
	for _, r := range rep.Results {
		if r.Variant == harness.Bare {
			bare = r
		}
	}
	ok := true
	ratio := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	for _, r := range rep.Results {
		fmt.Printf("| %s | %d | %.0f | %s | %.2f× | %s | %s | %s | %s | %d | %d |\n", r.Variant, r.Requests, r.RPS(),
			ratio(r.RPS(), bare.RPS()), harness.RoundRatio(r, bare), ms(r.P50), ratio(float64(r.P50), float64(bare.P50)),
			ms(r.P99), ratio(float64(r.P99), float64(bare.P99)), r.Errors, r.CrossTalk)
		if r.Errors > 0 || r.CrossTalk > 0 {
			ok = false
			fmt.Fprintf(os.Stderr, "loadtest: %s: %d errors, %d cross-talk; first: %s\n", r.Variant, r.Errors, r.CrossTalk, r.FirstErr)
		}
	}
	fmt.Print("\nEvery response is checked: the page byte for byte by the client on the clock (mean per response")
	for _, r := range rep.Results {
		fmt.Printf(", %s %.1f µs", r.Variant, float64(r.Check)/float64(time.Microsecond))
	}
	fmt.Println("), the user object parsed as JSON and verified for the client that asked after each round, off the clock.")
	for _, r := range rep.Results {
		if r.Variant == harness.Inject && bare.RPS() > 0 {
			x, med := r.RPS()/bare.RPS(), harness.RoundRatio(r, bare)
			verdict := "met"
			if x < 0.9 {
				verdict, ok = "MISSED", false
			}
			fmt.Printf("Goal: injected throughput ≥ 0.90× bare: %.2f× overall, %.2f× median of the %d rounds (%s).\n", x, med, len(r.RoundRPS), verdict)
		}
	}
	return ok
}

func mib(b uint64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }

func runMemory(ctx context.Context, cfg harness.MemoryConfig) bool {
	res, err := harness.Memory(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return false
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
		verdict := "met"
		ok := res[1].PeakObjects <= res[0].PeakObjects+8<<20 && res[1].PeakInUse <= res[0].PeakInUse+8<<20
		if !ok {
			verdict = "MISSED"
		}
		fmt.Printf("\nInjected peak − bare peak: heap objects %s, heap in-use %s. Goal: within 8 MiB (%s).\n", objects, inUse, verdict)
		return ok
	}
	return true
}
