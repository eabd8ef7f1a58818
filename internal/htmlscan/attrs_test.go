package htmlscan

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAttr(t *testing.T) {
	for _, tt := range []struct {
		tag, name, want string
		ok              bool
	}{
		{`<meta http-equiv="Content-Security-Policy" content="script-src 'nonce-a'">`, "content", "script-src 'nonce-a'", true},
		{`<META HTTP-EQUIV=csp CONTENT='x y'>`, "http-equiv", "csp", true},
		{`<meta content="a" content="b">`, "content", "a", true},
		{`<meta/content=a/>`, "content", "a/", true},
		{`<meta data-content="a" content = "b">`, "content", "b", true},
		{`<meta contentx="a">`, "content", "", false},
		{`<meta content>`, "content", "", true},
		{`<meta =x content=y>`, "content", "y", true},
		{`<meta content="a`, "content", "", false},
		{`<meta a="content=x">`, "content", "", false},
	} {
		v, ok := Attr([]byte(tt.tag), tt.name)
		assert.Equal(t, tt.ok, ok, tt.tag)
		assert.Equal(t, tt.want, string(v), tt.tag)
	}
}

func TestPrescanFinds(t *testing.T) {
	for _, tt := range []struct {
		page string
		want bool
	}{
		{`<!doctype html><html><head><meta charset="utf-8">`, true},
		{`<meta charset=windows-1250>`, true},
		{`<META CHARSET=UTF-8>`, true},
		{`<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2">`, true},
		{`<meta content="text/html; charset='utf-8'" http-equiv=content-type>`, true},
		{`<meta content="text/html; charset=utf-8">`, false}, // no pragma
		{`<meta charset="no-such-encoding">`, false},         // unknown: not settled
		{`<!-- <meta charset=utf-8> -->`, false},             // in a comment
		{`<!--><meta charset=utf-8>`, true},                  // <!--> is a whole comment
		{`<div title="<meta charset=utf-8>">`, false},        // an attribute value
		{`<title>x</title><meta name=x><meta charset=utf-8>`, true},
		{`<meta charset=utf-8`, false}, // cut before the end of its value
		{`<html><head><title>Žluťoučký</title>`, false},
		{`<script>"<meta charset=utf-8>"</script>`, true}, // the prescan does not know scripts
		{`<meta charset="utf-8" http-equiv=content-type>`, true},
	} {
		assert.Equal(t, tt.want, PrescanFinds([]byte(tt.page)), tt.page)
	}
}

// TestPrescanAffected: what the snippet must not push out of the
// browser's prescan window.
func TestPrescanAffected(t *testing.T) {
	for window, want := range map[string]bool{
		"":                         false,
		"</head><body>":            false,
		"<title>t</title>":         false,
		"<meta charset=utf-8>":     true,
		"<META\tcharset=utf-8>":    true,
		"<meta/charset=utf-8>":     true,
		"<meta":                    true, // cut at the window's end
		"<metadata>":               false,
		"<title>Žluťoučký</title>": true,
		"</head><body>kůň":         true,
	} {
		assert.Equal(t, want, PrescanAffected([]byte(window)), "%q", window)
	}
}
