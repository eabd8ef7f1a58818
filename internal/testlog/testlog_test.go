package testlog

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	assert.Nil(t, b.Lines())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "%d-%d\n", i, j)
			}
		})
	}
	wg.Wait()
	assert.Len(t, b.Lines(), 800)
}
