package productfruits

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInjectPlacement(t *testing.T) {
	const doc = "<!doctype html>"
	tests := []struct {
		name, body, want string
	}{
		{"before </head>", doc + "<html><head><title>t</title></head><body>x</body></html>",
			doc + "<html><head><title>t</title>@@</head><body>x</body></html>"},
		{"upper case", "<!DOCTYPE HTML><HTML><HEAD></HEAD><BODY></BODY></HTML>",
			"<!DOCTYPE HTML><HTML><HEAD>@@</HEAD><BODY></BODY></HTML>"},
		{"space before >", doc + "<head></head ><body>", doc + "<head>@@</head ><body>"},
		{"newline before >", doc + "<head></head\n>", doc + "<head>@@</head\n>"},
		{"mixed case, tab and attribute", doc + "<head></HeAd\t x=\">\">", doc + "<head>@@</HeAd\t x=\">\">"},
		{"self-closing slash", doc + "<head></head/>", doc + "<head>@@</head/>"},
		{"only first </head>", doc + "<head></head></head>", doc + "<head>@@</head></head>"},
		{"a longer name leaves the head", doc + "<head><header></header></head>", doc + "<head>@@<header></header></head>"},
		{"not </headx>", doc + "<head></headx></head>", doc + "<head></headx>@@</head>"},
		{"head as root", "<head><meta charset=utf-8></head><p>", "<head><meta charset=utf-8>@@</head><p>"},
		{"html as root", "<html><head></head>", "<html><head>@@</head>"},
		{"html with attributes", "<html lang=\"</head>\"><head></head>", "<html lang=\"</head>\"><head>@@</head>"},
		{"whitespace, comments and BOM first", "\xef\xbb\xbf \r\n\t<!-- </head> --><!----> " + doc + "<head></head>",
			"\xef\xbb\xbf \r\n\t<!-- </head> --><!----> " + doc + "<head>@@</head>"},
		{"comment", doc + "<head><!-- </head> <body> --></head>", doc + "<head><!-- </head> <body> -->@@</head>"},
		{"comment with dashes", doc + "<head><!-- a -- b --- </head> ---></head>", doc + "<head><!-- a -- b --- </head> --->@@</head>"},
		{"comment closed by --!>", doc + "<head><!-- x --!></head>", doc + "<head><!-- x --!>@@</head>"},
		{"abrupt comment <!-->", doc + "<head><!--></head>", doc + "<head><!-->@@</head>"},
		{"abrupt comment <!--->", doc + "<head><!---></head>", doc + "<head><!--->@@</head>"},
		{"comment not closed by -- >", doc + "<head><!-- -- ></head> --></head>", doc + "<head><!-- -- ></head> -->@@</head>"},
		{"bogus comment <?", doc + "<head><? </head> ?></head>", doc + "<head><? </head> @@?></head>"},
		{"bogus comment <!x", doc + "<head><!x </head> </head>", doc + "<head><!x </head> @@</head>"},
		{"script", doc + "<head><script>var s = \"</head>\" + '<body>';</script></head>",
			doc + "<head><script>var s = \"</head>\" + '<body>';</script>@@</head>"},
		{"script end tag look-alike", doc + "<head><script>x=\"</scriptx></head>\"</script ></head>",
			doc + "<head><script>x=\"</scriptx></head>\"</script >@@</head>"},
		{"script escaped", doc + "<head><script><!-- </head> --></script></head>",
			doc + "<head><script><!-- </head> --></script>@@</head>"},
		{"script double escaped", doc + "<head><script><!--<script></script></head>--></script></head>",
			doc + "<head><script><!--<script></script></head>--></script>@@</head>"},
		{"script escaped then closed", doc + "<head><script><!--</script></head>",
			doc + "<head><script><!--</script>@@</head>"},
		{"script <!--> is no escape", doc + "<head><script><!--></script></head>",
			doc + "<head><script><!--></script>@@</head>"},
		{"script self-closing is still raw", doc + "<head><script/></head></script></head>",
			doc + "<head><script/></head></script>@@</head>"},
		{"style", doc + "<head><style>/* </head> */</style></head>", doc + "<head><style>/* </head> */</style>@@</head>"},
		{"title", doc + "<head><title></head><!--</title></head>", doc + "<head><title></head><!--</title>@@</head>"},
		{"textarea leaves the head", doc + "<head><textarea></head></textarea></head>", doc + "<head>@@<textarea></head></textarea></head>"},
		{"noscript", doc + "<head><noscript></head></noscript></head>", doc + "<head><noscript></head></noscript>@@</head>"},
		{"noscript upper case end", doc + "<head><noscript></head></NOSCRIPT\n></head>", doc + "<head><noscript></head></NOSCRIPT\n>@@</head>"},
		{"template", doc + "<head><template></head><body></template></head>", doc + "<head><template></head><body></template>@@</head>"},
		{"nested template", doc + "<head><template><template></template></head></template></head>",
			doc + "<head><template><template></template></head></template>@@</head>"},
		{"double-quoted attribute", doc + "<head><meta content=\"</head><body>\"></head>", doc + "<head><meta content=\"</head><body>\">@@</head>"},
		{"single-quoted attribute", doc + "<head><meta content='</head>'></head>", doc + "<head><meta content='</head>'>@@</head>"},
		{"unquoted attribute", doc + "<head><meta content=a</head></head>", doc + "<head><meta content=a</head>@@</head>"},
		{"attribute without value", doc + "<head><meta x y = z></head>", doc + "<head><meta x y = z>@@</head>"},
		{"less-than as text", doc + "<head><title>a < b</title>< /head></head>", doc + "<head><title>a < b</title>@@< /head></head>"},
		{"empty end tag", doc + "<head></></head>", doc + "<head></>@@</head>"},
		{"body when no </head>", doc + "<html><head><title>x</title><body class=a>", doc + "<html><head><title>x</title>@@<body class=a>"},
		{"bare <body>", doc + "<body>", doc + "@@<body>"},
		{"<BODY/>", doc + "<BODY/>", doc + "@@<BODY/>"},
		{"<body> in a comment", doc + "<head><!--<body>--><body>", doc + "<head><!--<body>-->@@<body>"},
		{"<bodyx> leaves the head", doc + "<head><bodyx></head>", doc + "<head>@@<bodyx></head>"},
		{"body first wins over later </head>", doc + "<head><body></head>", doc + "<head>@@<body></head>"},
		{"marker outside script", doc + "<head><meta data-productfruits></head>", doc + "<head><meta data-productfruits>@@</head>"},
		{"loader global outside script", doc + "<head><title>$productFruits</title><!-- $productFruits --></head>",
			doc + "<head><title>$productFruits</title><!-- $productFruits -->@@</head>"},
		{"other script src", doc + "<head><script src=\"https://app.productfruits.com/static/script.js?v=2\"></script></head>",
			doc + "<head><script src=\"https://app.productfruits.com/static/script.js?v=2\"></script>@@</head>"},
		{"marker inside template", doc + "<head><template><script data-productfruits>$productFruits</script></template></head>",
			doc + "<head><template><script data-productfruits>$productFruits</script></template>@@</head>"},
		{"snippet after the insertion point", doc + "<head></head><body><script data-productfruits></script>",
			doc + "<head>@@</head><body><script data-productfruits></script>"},
		{"$ then loader global", doc + "<head><script>$$productFruit</script></head>", doc + "<head><script>$$productFruit</script>@@</head>"},
		{"names sharing a prefix", doc + "<head><titles><scripts><stylesheet><templatex><bodyy><noscripts></head>",
			doc + "<head>@@<titles><scripts><stylesheet><templatex><bodyy><noscripts></head>"},
		{"long names", doc + "<head><noframesxyz></noframesxyz><plaintextual></head>",
			doc + "<head>@@<noframesxyz></noframesxyz><plaintextual></head>"},
		{"plaintext leaves the head", doc + "<head><plaintext></head><body>", doc + "<head>@@<plaintext></head><body>"},
		{"xhtml", "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head></head>", "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head>@@</head>"},
	}
	m := newTestMiddleware(t, injectConfig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkInjection(t, m, http.MethodGet, respSpec{header: htmlHeader(), body: tt.body}, tt.want)
		})
	}
}

func TestInjectKeepsPrescanEncoding(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	pad := strings.Repeat(" ", 1100) // pushes what follows out of the prescan window
	tests := []struct {
		name, contentType, page string
		injected                bool
	}{
		{"meta charset in the head", "text/html", `<html><head><meta charset="iso-8859-2"><title>t</title></head><body>`, true},
		{"meta charset after </head>", "text/html", `<html><head></head><meta charset="iso-8859-2"><body>`, false},
		{"http-equiv after the head ends", "text/html", `<html><head><title>t</title><p><META HTTP-EQUIV="Content-Type" content="text/html; charset=iso-8859-2">`, false},
		{"meta beyond the first 1024 bytes", "text/html", `<html><head></head><body>` + pad + `<meta charset="iso-8859-2">`, true},
		{"non-ASCII text after the insertion point", "text/html", "<html><head></head><body>Žluťoučký kůň", false},
		{"non-ASCII text before it", "text/html", "<html><head><title>Žluťoučký kůň</title></head><body>", true},
		{"ASCII page without a meta", "text/html", "<html><head></head><body>plain", true},
		{"charset in Content-Type", "text/html; charset=iso-8859-2", `<html><head></head><meta charset="utf-8"><body>Žluť`, true},
		{"byte order mark", "text/html", "\ufeff<html><head></head><meta charset=\"iso-8859-2\"><body>", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snip := snippetFor(t, m, http.Header{"Content-Type": {tt.contentType}})
			for name, cuts := range splits(len(tt.page)) {
				got := serveRec(m, respSpec{header: map[string][]string{"Content-Type": {tt.contentType}}, body: tt.page, cuts: cuts}.handler(),
					httptest.NewRequest("GET", "/", nil))
				_, _, body := got.result()
				if !tt.injected {
					require.Equal(t, tt.page, body, name)
					continue
				}
				require.Equal(t, 1, strings.Count(body, snip), name)
				require.Equal(t, tt.page, strings.Replace(body, snip, "", 1), name)
			}
		})
	}
	t.Run("a Flush decides on what was written", func(t *testing.T) {
		rw := newRecWriter()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><head><title>t</title></head><body>")
			w.(http.Flusher).Flush()
			assert.Contains(t, rw.body.String(), "</head><body>", "the head goes out at the Flush")
			_, _ = io.WriteString(w, "<p>rest</p>")
		})).ServeHTTP(rw, httptest.NewRequest("GET", "/", nil))
		_, _, body := rw.result()
		assert.Equal(t, 1, strings.Count(body, pushData))
		assert.True(t, strings.HasSuffix(body, "</head><body><p>rest</p>"))
	})
}

// TestInjectMetaCharsetSettles: on a page served without a charset, a
// <meta charset> before the insertion point settles the encoding, so
// non-ASCII text or another <meta> after it no longer keeps the snippet
// out; without one the page stays as written.
func TestInjectMetaCharsetSettles(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	snip := snippetFor(t, m, nil)
	for _, tt := range []struct {
		name, page string
		injected   bool
	}{
		{"meta charset first, Czech text after", `<!doctype html><html><head><meta charset="utf-8"><title>Žluťoučký kůň</title></head><body>`, true},
		{"http-equiv content-type first, a meta after", `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>t</title></head><body><meta name=x>`, true},
		{"no meta, Czech text after", `<!doctype html><html><head><title>t</title></head><body>Žluťoučký kůň`, false},
		{"a meta charset after the insertion point", `<!doctype html><html><head><title>t</title></head><body><meta charset="utf-8">`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := serveRec(m, respSpec{header: map[string][]string{"Content-Type": {"text/html"}}, body: tt.page}.handler(), httptest.NewRequest("GET", "/", nil))
			_, _, body := got.result()
			assert.Equal(t, tt.injected, strings.Contains(body, snip), body)
			if !tt.injected {
				assert.Equal(t, tt.page, body)
			}
		})
	}
}
