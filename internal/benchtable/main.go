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

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

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
		r.bytes = append(r.bytes, f(m[3]))
		r.allocs = append(r.allocs, f(m[4]))
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
		a, b := res[g.a], res[g.b]
		if a == nil || b == nil {
			continue
		}
		num := median(a.ns)
		if s := res[g.sub]; s != nil {
			num -= median(s.ns)
		}
		ratio := num / median(b.ns)
		met := "yes"
		if ratio > g.max {
			met = "NO"
		}
		fmt.Printf("| %s | %.2fx | %.2fx | %s |\n", g.text, ratio, g.max, met)
	}
}
