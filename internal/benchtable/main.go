// Command benchtable turns `go test -bench` output on stdin into the
// README's Markdown table: the median of each benchmark over its runs, and
// the ratios that the project's speed goals are stated in, all taken from
// the same run.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	line   = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)
	bytesM = regexp.MustCompile(`\s([\d.]+) B/op`)
	allocM = regexp.MustCompile(`\s([\d.]+) allocs/op`)
)

type result struct{ ns, bytes, allocs []float64 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// goal is one ratio the issues set: (a - sub) / b must stay at or under max.
type goal struct {
	text      string
	a, sub, b string
	max       float64
}

var goals = []goal{
	{"Sign / naive hmac.New per call", "BenchmarkSign/Sign", "", "BenchmarkSign/naive", 0.55},
	{"Sign with expiration / naive", "BenchmarkSign/Sign-expiration", "", "BenchmarkSign/naive-expiration", 0.55},
	{"context mode: added time / one naive HMAC", "BenchmarkMiddlewareContext/middleware", "BenchmarkMiddlewareContext/bare", "BenchmarkMiddlewareContext/naive-hmac", 2},
	{"injection, 64 KiB page: added time / one naive HMAC", "BenchmarkInject/64KiB/middleware", "BenchmarkInject/64KiB/bare", "BenchmarkInject/naive-hmac", 3},
	{"injection, 1 MiB page / buffer-and-replace injector", "BenchmarkInject/1024KiB/middleware", "", "BenchmarkInject/1024KiB/buffer-replace", 0.5},
	{"injection allocs/op, 1 MiB / 64 KiB page", "allocs:BenchmarkInject/1024KiB/middleware", "", "allocs:BenchmarkInject/64KiB/middleware", 1},
	{"injection B/op, 1 MiB / 64 KiB page", "bytes:BenchmarkInject/1024KiB/middleware", "", "bytes:BenchmarkInject/64KiB/middleware", 1},
}

// value is the median ns/op of a benchmark, or with an "allocs:" or
// "bytes:" prefix its allocations or bytes per op; -1 when absent.
func value(res map[string]*result, key string) float64 {
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
		return median(r.allocs)
	case "bytes":
		return median(r.bytes)
	}
	return median(r.ns)
}

func main() {
	res := map[string]*result{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := res[m[1]]
		if r == nil {
			r = &result{}
			res[m[1]] = r
			order = append(order, m[1])
		}
		f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
		r.ns = append(r.ns, f(m[2]))
		// Other metrics (MB/s) may stand between ns/op and B/op.
		metric := func(re *regexp.Regexp) float64 {
			if mm := re.FindStringSubmatch(sc.Text()); mm != nil {
				return f(mm[1])
			}
			return 0
		}
		r.bytes = append(r.bytes, metric(bytesM))
		r.allocs = append(r.allocs, metric(allocM))
	}
	fmt.Println("| benchmark | ns/op | B/op | allocs/op |")
	fmt.Println("|---|---:|---:|---:|")
	for _, name := range order {
		r := res[name]
		fmt.Printf("| %s | %.0f | %.0f | %.0f |\n", strings.TrimPrefix(name, "Benchmark"), median(r.ns), median(r.bytes), median(r.allocs))
	}
	fmt.Println()
	fmt.Println("| goal | measured | limit | met |")
	fmt.Println("|---|---:|---:|---|")
	for _, g := range goals {
		num, den, ok := value(res, g.a), value(res, g.b), true
		if num < 0 || den <= 0 {
			ok = false
		}
		if s := value(res, g.sub); s >= 0 && g.sub != "" {
			num -= s
		}
		if !ok {
			continue
		}
		ratio := num / den
		met := "yes"
		if ratio > g.max {
			met = "NO"
		}
		fmt.Printf("| %s | %.2fx | %.2fx | %s |\n", g.text, ratio, g.max, met)
	}
}
