// Command browserbench measures, in headless Chromium, how long a page
// takes until Product Fruits is ready: with the product's own install
// snippet, and with the snippet the middleware injects (and, for
// comparison, the same with Config.NoPreload: no preload of the loader).
// It serves one realistic page over HTTPS with HTTP/2 from an app origin,
// and a stand-in for the product's loader (about 300 KiB, the HMAC checked
// by its origin's server) from a second origin 40 ms further away; the
// browser emulates 80 ms of latency and 10 Mbit/s (-mbps). Each round
// visits a variant cold (a fresh browser context: empty cache, no
// connection), warm (again, same context), and Turbo-style (a fresh
// context on the variant's anonymous page, then the logged-in page fetched
// and merged into the same document); each variant takes each place in a
// round equally often. Times are the browser's own: performance.now() at
// the productfruits_ready event, the loader's Resource Timing entry and
// the cold page's first contentful paint.
//
//	cd browserbench && go run .
//
// It prints every round, then the table of medians, ratios and same-round
// differences (with -phases, also the warm visit's phases, each counted
// from the page's data script: when the runtime ran, the loader was
// appended and ran, and the product got ready), and the goals,
// and exits 1 when a goal is missed or a visit went wrong (not exactly
// one verified init, the loader fetched twice, a console warning about a
// preload).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 15, "rounds (each variant is visited once per round, cold, warm and Turbo-style)")
	chromium := flag.String("chromium", "/usr/bin/chromium", "the Chromium to run")
	size := flag.Int("loader-size", 300<<10, "the stand-in loader's size in bytes")
	cache := flag.String("loader-cache", "public, max-age=300", "the stand-in loader's Cache-Control")
	nopre := flag.Bool("nopreload", true, "also measure the library with Config.NoPreload (no preload of the loader)")
	mbps := flag.Float64("mbps", defaultMbps, "the emulated link's speed in Mbit/s, both ways")
	phases := flag.Bool("phases", false, "also time the phases of each warm visit: when the data script, the runtime and the loader ran, and when the loader was appended")
	flag.Parse()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" && !isFlagSet("chromium") {
		*chromium = p
	}
	b, err := newBench(options{chromium: *chromium, loaderSize: *size, loaderCC: *cache, noPreload: *nopre, mbps: *mbps, phases: *phases, log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "browserbench:", err)
		os.Exit(1)
	}
	lines, err := b.runChecks()
	for _, l := range lines {
		if l != "" {
			fmt.Println("check:", l)
		}
	}
	if err == nil {
		fmt.Println()
		err = b.run(*n)
	}
	if err == nil {
		fmt.Printf("Chromium %s; loader %d bytes, Cache-Control %q; %d ms latency, %g Mbit/s; the product's origin %v further\n\n",
			b.version(), len(b.product.script), *cache, latencyMS, *mbps, loaderDelay)
		b.table(os.Stdout, *n)
		fmt.Println()
		if *phases {
			b.phaseTable(os.Stdout, *n)
			fmt.Println()
		}
		err = b.goals(os.Stdout)
	}
	b.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "browserbench:", err)
		os.Exit(1)
	}
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
