// Command benchtable turns `go test -bench` output on stdin into the
// Markdown tables of docs/PERFORMANCE.md: the median of each benchmark
// over its runs, the added time per head size, and the goals the project's
// speed and memory targets are stated in, all taken from the same run. It
// exits 1 when a goal is missed.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pfverify/productfruits/bench/benchparse"
)

// goal is one bound the issues set: (a - asub) / (b - bsub) must stay at
// or under max; without b the bound is on a - asub itself. A goal marked
// info is a figure shown beside the goals and held to nothing.
type goal struct {
	text             string
	a, asub, b, bsub string
	max              float64
	info             bool
}

var goals = []goal{
	{text: "Sign / its floor (two SHA-256 compressions + base64)", a: "BenchmarkSign/Sign", b: "BenchmarkSign/floor", max: 2},
	{text: "Sign with expiration / its floor", a: "BenchmarkSign/Sign-expiration", b: "BenchmarkSign/floor-expiration", max: 2},
	{text: "signing into the snippet: allocs/op", a: "allocs:BenchmarkSign/into-snippet-expiration", max: 0},
	{text: "Sign / naive hmac.New per call", a: "BenchmarkSign/Sign", b: "BenchmarkSign/naive", max: 0.55},
	{text: "context mode: added time / one naive HMAC", a: "BenchmarkMiddlewareContext/middleware", asub: "BenchmarkMiddlewareContext/bare", b: "BenchmarkMiddlewareContext/naive-hmac", max: 2},
	{text: "context mode + TemplateScript: allocs/op over context mode", a: "allocs:BenchmarkMiddlewareContext/middleware-TemplateScript", asub: "allocs:BenchmarkMiddlewareContext/middleware", max: 2},
	// Issue 20 retired the goal of 1.75x: its floor (signing and finding
	// the insertion point alone, 1.14x) plus the request's necessary HTTP
	// work sits above it. The figure stays, beside its floor; the load
	// test's server-CPU goal (at most 1.05x bare) is what holds injection.
	{text: "injection, 64 KiB page: added time / one naive HMAC (goal retired, issue 20)", a: "BenchmarkInject/64KiB/middleware", asub: "BenchmarkInject/64KiB/bare", b: "BenchmarkInject/naive-hmac", info: true},
	{text: "its floor: signing and finding the insertion point alone / one naive HMAC", a: "BenchmarkInject/64KiB/scan+sign", b: "BenchmarkInject/naive-hmac", info: true},
	{text: "injection, 64 KiB page: allocs/op", a: "allocs:BenchmarkInject/64KiB/middleware", max: 4},
	{text: "injection, 1 MiB page / buffer-and-replace injector", a: "BenchmarkInject/1024KiB/middleware", b: "BenchmarkInject/1024KiB/buffer-replace", max: 0.5},
	{text: "injection allocs/op, 1 MiB / 64 KiB page", a: "allocs:BenchmarkInject/1024KiB/middleware", b: "allocs:BenchmarkInject/64KiB/middleware", max: 1},
	{text: "200 KiB head: added time / buffer-and-replace's added time", a: "BenchmarkInjectHead/200KiB/middleware", asub: "BenchmarkInjectHead/200KiB/bare",
		b: "BenchmarkInjectHead/200KiB/buffer-replace", bsub: "BenchmarkInjectHead/200KiB/bare", max: 0.1},
	{text: "200 KiB head: B/op", a: "bytes:BenchmarkInjectHead/200KiB/middleware", max: 4096},
}

// value is the median ns/op of a benchmark, or with an "allocs:" or
// "bytes:" prefix its allocations or bytes per op; -1 when absent.
func value(res map[string]*benchparse.Result, key string) float64 {
	kind, name, found := strings.Cut(key, ":")
	if !found {
		kind, name = "ns", key
	}
	r := res[name]
	if r == nil {
		return -1
	}
	switch kind {
	case "allocs":
		return benchparse.Median(r.Allocs)
	case "bytes":
		return benchparse.Median(r.Bytes)
	}
	return benchparse.Median(r.NS)
}

func main() {
	res, order := benchparse.Read(os.Stdin)
	fmt.Println("| benchmark | ns/op | B/op | allocs/op |")
	fmt.Println("|---|---:|---:|---:|")
	for _, name := range order {
		r := res[name]
		fmt.Printf("| %s | %.0f | %.0f | %.0f |\n", strings.TrimPrefix(name, "Benchmark"), benchparse.Median(r.NS), benchparse.Median(r.Bytes), benchparse.Median(r.Allocs))
	}
	fmt.Println()
	heads(res)
	missed := 0
	fmt.Println("| goal | measured | limit | met |")
	fmt.Println("|---|---:|---:|---|")
	for _, g := range goals {
		num := value(res, g.a)
		if num < 0 {
			continue
		}
		if g.asub != "" {
			num -= value(res, g.asub)
		}
		den, unit := 1.0, ""
		if g.b != "" {
			if den = value(res, g.b); g.bsub != "" {
				den -= value(res, g.bsub)
			}
			if den <= 0 {
				continue
			}
			unit = "x"
		}
		if g.info {
			fmt.Printf("| %s | %s | | |\n", g.text, number(num/den, unit))
			continue
		}
		met := "yes"
		if num/den > g.max {
			met = "NO"
			missed++
		}
		fmt.Printf("| %s | %s | %s | %s |\n", g.text, number(num/den, unit), number(g.max, unit), met)
	}
	if missed > 0 {
		os.Exit(1)
	}
}

// number prints a ratio with two decimals, a count or size as an integer.
func number(v float64, unit string) string {
	if unit == "" {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f%s", v, unit)
}

// heads prints BenchmarkInjectHead's added time per head size, to show it
// grows linearly: the added time over bare, and per KiB of head.
func heads(res map[string]*benchparse.Result) {
	var sizes []int
	for name := range res {
		var kib int
		if _, err := fmt.Sscanf(name, "BenchmarkInjectHead/%dKiB/middleware", &kib); err == nil {
			sizes = append(sizes, kib)
		}
	}
	if len(sizes) == 0 {
		return
	}
	slices.Sort(sizes)
	fmt.Println("| head | added by the middleware | per KiB of head | added by buffer-and-replace | ratio | middleware B/op |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|")
	for _, kib := range sizes {
		p := fmt.Sprintf("BenchmarkInjectHead/%dKiB/", kib)
		bare := value(res, p+"bare")
		mw, br := value(res, p+"middleware")-bare, value(res, p+"buffer-replace")-bare
		fmt.Printf("| %d KiB | %.1f µs | %.2f µs | %.1f µs | %.3fx | %.0f |\n", kib, mw/1000, mw/1000/float64(kib), br/1000, mw/br, value(res, "bytes:"+p+"middleware"))
	}
	fmt.Println()
}
