package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSmoke runs the harness once, briefly: the checks (one verified
// init, the loader fetched once, no console warning, under each policy;
// the control that proves the console is watched) and one round of each
// variant. It asserts no time: times are the browser's, on a machine
// shared with other work.
func TestSmoke(t *testing.T) {
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s and CI=true", chromium)
		}
		t.Skipf("no Chromium at %s", chromium)
	}
	b, err := newBench(options{chromium: chromium, loaderSize: 300 << 10, loaderCC: "public, max-age=300", noPreload: true, phases: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	lines, err := b.runChecks()
	for _, l := range lines {
		t.Log(l)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := b.run(1); err != nil {
		t.Fatal(err)
	}
	for _, v := range b.variants {
		for k, s := range b.samples[v.name] {
			if len(s) != 1 || s[0] <= 0 {
				t.Errorf("%s, %s: samples %v, want one positive time", v.name, kindNames[k], s)
			}
		}
		// The phases of the warm visit come in their order; only the
		// official snippet has no runtime.
		p := b.phases[v.name]
		last := 0.0
		for k := range nPhases + 1 {
			times := b.samples[v.name][warmReady] // after the last phase, the product ready
			if k < nPhases {
				times = p[k]
			}
			if len(times) != 1 {
				t.Fatalf("%s: phase %d: samples %v, want one", v.name, k, times)
			}
			at := times[0]
			if k == phaseRuntime && v == official {
				if at != 0 {
					t.Errorf("official snippet: a runtime ran at %.1f ms", at)
				}
				continue
			}
			if at <= 0 || at < last {
				t.Errorf("%s: phase %d at %.1f ms, want a positive time not before %.1f ms (phases %v)", v.name, k, at, last, p)
			}
			last = at
		}
	}
	var out strings.Builder
	b.phaseTable(&out, 1)
	t.Log("\n" + out.String())
}
