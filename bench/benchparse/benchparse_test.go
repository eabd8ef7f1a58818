package benchparse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	out := `goos: linux
BenchmarkScan/tags-1KiB-2   	 2439481	       496.0 ns/op	2205.70 MB/s	       0 B/op	       0 allocs/op
BenchmarkInject/64KiB/middleware-2         	  662178	      1749 ns/op	37480.66 MB/s	     704 B/op	       4 allocs/op
BenchmarkScan/tags-1KiB-2   	 2380543	       505.2 ns/op	2165.48 MB/s
BenchmarkScan/tags-1KiB-2   	 2361426	       501.5 ns/op
PASS
`
	res, order := Read(strings.NewReader(out))
	assert.Equal(t, []string{"BenchmarkScan/tags-1KiB", "BenchmarkInject/64KiB/middleware"}, order)
	scan := res["BenchmarkScan/tags-1KiB"]
	require.NotNil(t, scan)
	assert.Equal(t, []float64{496.0, 505.2, 501.5}, scan.NS)
	assert.Equal(t, []float64{2205.70, 2165.48, 0}, scan.MBs)
	assert.Equal(t, 501.5, Median(scan.NS))
	inj := res["BenchmarkInject/64KiB/middleware"]
	assert.Equal(t, []float64{704}, inj.Bytes)
	assert.Equal(t, []float64{4}, inj.Allocs)
	assert.Zero(t, Median(nil))
}
