package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		name, page, identity, src, want string
	}{
		{name: "page data names it", page: "https://a.example/app/x", identity: "/app/productfruits/identity", src: "/app/productfruits/identity/lifecycle.0123456789ab.js", want: "https://a.example/app/productfruits/identity"},
		{name: "from a root runtime path", page: "https://a.example/x", src: "/pre/productfruits/identity/lifecycle.0123456789ab.js", want: "https://a.example/pre/productfruits/identity"},
		{name: "from a router group's query form", page: "https://a.example/app/page?x=1", src: "/app/page?productfruits=lifecycle.0123456789ab.js", want: "https://a.example/app/page?productfruits=identity"},
		{name: "from a relative query form", page: "https://a.example/app/page", src: "?productfruits=lifecycle.0123456789ab.js", want: "https://a.example/app/page?productfruits=identity"},
		{name: "nothing to go by", page: "https://a.example/x", src: "/js/app.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &doctorRun{
				page: &fetched{url: mustURL(t, tt.page)},
				scan: &pageScan{runtime: []element{{src: tt.src}}},
				data: &pageData{Identity: tt.identity},
			}
			u, _ := d.endpointURL()
			if tt.want == "" {
				assert.Nil(t, u)
				return
			}
			require.NotNil(t, u)
			assert.Equal(t, tt.want, u.String())
		})
	}
}
