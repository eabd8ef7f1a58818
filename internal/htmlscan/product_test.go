package htmlscan

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProductWatchAttributes: a script is the snippet's when it has the
// marker or the loader's src, raw or as an attribute writes it, with the
// whitespace around it that browsers strip.
func TestProductWatchAttributes(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		marked      bool
	}{
		{MarkerAttr, "", true},
		{"data-productfruit", "", false},
		{"src", testLoader, true},
		{"src", " \n" + testLoaderAttr + "\t", true},
		{"src", testLoader + "x", false},
		{"src", testLoader[:len(testLoader)-1], false},
		{"src", "", false},
		{"href", testLoader, false},
	} {
		var w productWatch
		w.urls = [2]string{testLoader, testLoaderAttr}
		if w.attrName([]byte(tt.name)) {
			w.valueStart()
			for _, c := range []byte(tt.value) {
				if !w.valueByte(c) {
					break
				}
			}
			w.valueEnd()
		}
		assert.Equal(t, tt.marked, w.marked, "%s=%q", tt.name, tt.value)
	}
}

// TestProductWatchValue: valueByte stops wanting a value as soon as it
// differs from both forms of the loader URL.
func TestProductWatchValue(t *testing.T) {
	var w productWatch
	w.urls = [2]string{testLoader, testLoaderAttr}
	w.valueStart()
	for _, c := range []byte("https://cdn.") {
		require.True(t, w.valueByte(c))
	}
	assert.False(t, w.valueByte('x'))
}

// TestProductWatchScript: a script that mentions the loader's global runs
// the loader, even when the global is split across pieces; a script's
// text ends with its end tag's name, so no match runs on into the next
// script.
func TestProductWatchScript(t *testing.T) {
	var w productWatch
	assert.False(t, w.mentionsLoader([]byte("var a = $product")))
	assert.True(t, w.mentionsLoader([]byte("Fruits")))

	w = productWatch{}
	assert.False(t, w.mentionsLoader([]byte("$product")))
	assert.False(t, w.mentionsLoader([]byte("</script")))
	assert.False(t, w.mentionsLoader([]byte("Fruits")), "another script")

	w = productWatch{}
	assert.False(t, w.mentionsLoader([]byte("$pro")))
	assert.False(t, w.mentionsLoader([]byte("duct")))
	assert.False(t, w.mentionsLoader([]byte("</script")))
	assert.Zero(t, w.loader, "the end tag ends any match")
}

// TestContainsLoader holds containsLoader to bytes.Contains on pieces
// built of the global's own bytes, where false starts of every kind come
// thick, at every offset and length.
func TestContainsLoader(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"$", "F", "p", "x", "$product", "Fruits", "$productFruit", "productFruits", loaderGlobal}
	for range 20000 {
		var b []byte
		for range rng.IntN(40) {
			p := parts[rng.IntN(len(parts)-1)] // the global itself rarely
			if rng.IntN(200) == 0 {
				p = loaderGlobal
			}
			b = append(b, p...)
		}
		require.Equal(t, bytes.Contains(b, loaderGlobalBytes), containsLoader(b), "%q", b)
	}
	for n := range 3 * len(loaderGlobal) {
		b := bytes.Repeat([]byte("F"), n)
		for k := 0; k+len(loaderGlobal) <= n; k++ {
			c := append(slices.Clone(b[:k]), loaderGlobal...)
			c = append(c, b[k+len(loaderGlobal):]...)
			require.True(t, containsLoader(c), "%q", c)
			for _, cut := range [][]byte{c[1:], c[:len(c)-1]} {
				require.Equal(t, bytes.Contains(cut, loaderGlobalBytes), containsLoader(cut), "%q", cut)
			}
		}
	}
}
