package harness

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMemoryStreamingInjection streams a 64 MiB page generated on the fly
// in 32 KiB writes through the bare app and through injection, and bounds
// the injected heap's peak by the bare one's plus 8 MiB: the middleware
// must stream, never hold the page. `go -C bench run ./loadtest -memory`
// does the same with 1 GiB. The bound is on bytes, which a busy machine
// does not change; how fast the page streamed is only logged.
func TestMemoryStreamingInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 128 MiB over loopback")
	}
	res, err := Memory(context.Background(), MemoryConfig{Size: 64 << 20})
	require.NoError(t, err)
	require.Len(t, res, 2)
	bare, inj := res[0], res[1]
	for _, r := range res {
		t.Logf("%-6s %d bytes in %v: heap objects %.2f → peak %.2f MiB, heap in-use %.2f → peak %.2f MiB (%d samples)",
			r.Variant, r.Bytes, r.Elapsed, mib(r.BaseObjects), mib(r.PeakObjects), mib(r.BaseInUse), mib(r.PeakInUse), r.Samples)
	}
	require.Greater(t, inj.Bytes, int64(64<<20), "the injected stream carries the page and the snippet")
	const bound = 8 << 20
	require.LessOrEqual(t, inj.PeakObjects, bare.PeakObjects+bound, "heap objects peak: injected %.2f MiB, bare %.2f MiB", mib(inj.PeakObjects), mib(bare.PeakObjects))
	require.LessOrEqual(t, inj.PeakInUse, bare.PeakInUse+bound, "heap in-use peak: injected %.2f MiB, bare %.2f MiB", mib(inj.PeakInUse), mib(bare.PeakInUse))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
