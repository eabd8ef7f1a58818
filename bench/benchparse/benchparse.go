// Package benchparse reads `go test -bench` output for the commands that
// turn one benchmark run into the tables of docs/PERFORMANCE.md
// (benchtable, scantable).
package benchparse

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
)

var (
	line   = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)
	mbsM   = regexp.MustCompile(`\s([\d.]+) MB/s`)
	bytesM = regexp.MustCompile(`\s([\d.]+) B/op`)
	allocM = regexp.MustCompile(`\s([\d.]+) allocs/op`)
)

// Result holds one benchmark's runs, one value per run for each metric
// (0 where a run did not report it).
type Result struct{ NS, MBs, Bytes, Allocs []float64 }

// Read returns the runs of every benchmark in r by name (without the
// -GOMAXPROCS suffix), and the names in the order they first appear.
func Read(r io.Reader) (map[string]*Result, []string) {
	res := map[string]*Result{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		text := sc.Text()
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		x := res[m[1]]
		if x == nil {
			x = &Result{}
			res[m[1]] = x
			order = append(order, m[1])
		}
		// The metrics follow ns/op in an order that depends on the flags.
		metric := func(re *regexp.Regexp) float64 {
			if mm := re.FindStringSubmatch(text); mm != nil {
				return number(mm[1])
			}
			return 0
		}
		x.NS = append(x.NS, number(m[2]))
		x.MBs = append(x.MBs, metric(mbsM))
		x.Bytes = append(x.Bytes, metric(bytesM))
		x.Allocs = append(x.Allocs, metric(allocM))
	}
	return res, order
}

func number(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// Median returns the median of v, 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
