// Command scantable reads the output of the scanner's benchmarks,
//
//	go test -run '^$' -bench 'Scan' -benchtime 100ms -count 6 ./internal/htmlscan | go -C bench run ./scantable
//
// and prints Markdown tables: BenchmarkScanStates per state, each
// pattern's cost per byte as a multiple of its state's plain baseline and
// of the slowest plain baseline, and the scanner's speed goals from
// BenchmarkScan, all taken from the same run (the median of each
// benchmark over its runs). It exits 1 when a speed goal is missed or a
// pattern costs more than 3x the slowest plain baseline. The ratio to a
// state's own plain baseline is shown but not held to 3x: where plain
// content is skipped by bytes.IndexByte (tens of GB/s), content thick with
// the bytes that matter must be looked at byte by byte and cannot come
// within 3x of it.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pfverify/productfruits/bench/benchparse"
)

// maxRatio is how many times the cost per byte of plain content a pattern
// may cost.
const maxRatio = 3

// speedGoal is a goal of BenchmarkScan: the scanner's speed as a share of
// a reference's speed on the same bytes, at least min. One marked info is
// a figure shown beside the goals and held to nothing.
type speedGoal struct {
	text            string
	scanner, versus string
	min             float64
	info            bool
}

var speedGoals = []speedGoal{
	{text: "tags-1KiB: scanner speed / bytes.Index speed", scanner: "BenchmarkScan/tags-1KiB", versus: "BenchmarkScan/tags-1KiB/bytes.Index", min: 0.40},
	{text: "css-30KiB: scanner speed / bytes.Index speed", scanner: "BenchmarkScan/css-30KiB", versus: "BenchmarkScan/css-30KiB/bytes.Index", min: 0.65},
	{text: "tags-1KiB-implicit speed / tags-1KiB speed", scanner: "BenchmarkScan/tags-1KiB-implicit", versus: "BenchmarkScan/tags-1KiB", min: 0.90},
	// Not a goal but its floor: the cheapest loop that still finds where
	// each tag ends (no names, no states) against the same reference.
	{text: "tags-1KiB: quote-hop floor speed / bytes.Index speed", scanner: "BenchmarkScan/tags-1KiB/quote-hop", versus: "BenchmarkScan/tags-1KiB/bytes.Index", info: true},
}

func main() {
	res, order := benchparse.Read(os.Stdin)
	ok := states(os.Stdout, res, order)
	if !speed(os.Stdout, res) || !ok {
		os.Exit(1)
	}
}

// states prints BenchmarkScanStates and reports whether every pattern
// stays within maxRatio of the slowest plain baseline. The ratios compare
// costs per byte (MB/s), as the pages of a state differ a little in length.
func states(w io.Writer, res map[string]*benchparse.Result, order []string) bool {
	const prefix = "BenchmarkScanStates/"
	type row struct {
		state, pattern string
		ns, mbs        float64
	}
	var rows []row
	plain := map[string]float64{}
	slowest, slowestState := 0.0, ""
	for _, name := range order {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		state, pattern, _ := strings.Cut(rest, "/")
		r := row{state, pattern, benchparse.Median(res[name].NS), benchparse.Median(res[name].MBs)}
		rows = append(rows, r)
		if pattern == "plain" {
			plain[state] = r.mbs
			if slowest == 0 || r.mbs < slowest {
				slowest, slowestState = r.mbs, state
			}
		}
	}
	if len(rows) == 0 {
		return true
	}
	fmt.Fprintf(w, "| state | pattern | ns/op | MB/s | × plain | ≤%dx | × slowest plain (%s) | ≤%dx |\n", maxRatio, slowestState, maxRatio)
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---:|---|")
	var over, overSlowest int
	for _, r := range rows {
		x, xs := plain[r.state]/r.mbs, slowest/r.mbs
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.2f | %s | %.2f | %s |\n",
			r.state, strings.ReplaceAll(r.pattern, "|", `\|`), r.ns, r.mbs, x, yes(x <= maxRatio), xs, yes(xs <= maxRatio))
		if x > maxRatio {
			over++
		}
		if xs > maxRatio {
			overSlowest++
		}
	}
	fmt.Fprintf(w, "\n%d of %d patterns over %dx their state's plain baseline; %d over %dx the slowest plain baseline.\n\n",
		over, len(rows), maxRatio, overSlowest, maxRatio)
	if f := res["BenchmarkScanStatesFloor/script/\"<\"/bytes.Index"]; f != nil && plain["script"] > 0 {
		mbs := benchparse.Median(f.MBs)
		fmt.Fprintf(w, "Floor: bytes.Index searching the script page of \"<\" for \"</\" (vectorised, deciding nothing) costs %.0f ns, %.0f MB/s: %.2fx the script's plain baseline.\n\n",
			benchparse.Median(f.NS), mbs, plain["script"]/mbs)
	}
	return overSlowest == 0
}

// speed prints the goals of BenchmarkScan and reports whether all are met.
func speed(w io.Writer, res map[string]*benchparse.Result) bool {
	fmt.Fprintln(w, "| goal | scanner ns/op | reference ns/op | speed | at least | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	met := true
	for _, g := range speedGoals {
		a, b := res[g.scanner], res[g.versus]
		if a == nil || b == nil {
			continue
		}
		ns, ref := benchparse.Median(a.NS), benchparse.Median(b.NS)
		share := ref / ns
		if g.info {
			fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f%% | | |\n", g.text, ns, ref, 100*share)
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f%% | %.0f%% | %s |\n", g.text, ns, ref, 100*share, 100*g.min, yes(share >= g.min))
		met = met && share >= g.min
	}
	return met
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}
