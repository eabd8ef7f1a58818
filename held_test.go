package productfruits

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHeldBytes runs random appends, ranges, copies and drops against a
// plain byte slice doing the same.
func TestHeldBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var h heldBytes
		var model []byte
		next := byte(0)
		for range 40 {
			switch op := rng.IntN(4); {
			case op <= 1 && len(model) < lookAhead:
				n := rng.IntN(3 * chunkSize / 2)
				if rng.IntN(4) == 0 {
					n = rng.IntN(8)
				}
				n = min(n, lookAhead-len(model))
				p := make([]byte, n)
				for i := range p {
					p[i] = next
					next++
				}
				h.Append(p)
				model = append(model, p...)
			case op == 2 && len(model) > 0:
				from := rng.IntN(len(model) + 1)
				to := from + rng.IntN(len(model)-from+1)
				var got bytes.Buffer
				require.NoError(t, h.WriteTo(&got, from, to))
				require.Equal(t, string(model[from:to]), got.String(), "round %d: WriteTo(%d, %d)", round, from, to)
				dst := make([]byte, rng.IntN(prescanLen))
				n := h.Copy(dst, from)
				require.Equal(t, string(model[from:from+n]), string(dst[:n]))
				require.Equal(t, min(len(dst), len(model)-from), n)
			case op == 3:
				n := rng.IntN(len(model) + 1)
				h.Drop(n)
				model = model[n:]
			}
			require.Equal(t, len(model), h.Len())
			require.LessOrEqual(t, h.k, maxChunks)
			require.Equal(t, (h.off+h.n+chunkSize-1)/chunkSize, h.k, "no chunk held beyond the bytes")
		}
		h.Reset()
		require.Zero(t, h.Len())
		require.Zero(t, h.k)
		require.Equal(t, [maxChunks]*chunk{}, h.chunks, "every chunk handed back")
	}
}

// TestHeldBytesStopsAtFirstError: Range reports fn's first error and calls
// it no more.
func TestHeldBytesStopsAtFirstError(t *testing.T) {
	var h heldBytes
	h.Append(make([]byte, 3*chunkSize))
	calls := 0
	errStop := errors.New("stop")
	err := h.Range(0, h.Len(), func([]byte) error {
		calls++
		return errStop
	})
	require.ErrorIs(t, err, errStop)
	require.Equal(t, 1, calls)
	h.Reset()
}
