package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScanPage(t *testing.T) {
	const data = `<script nonce="n1" data-productfruits="">//<![CDATA[
(window.__productfruitsGo=window.__productfruitsGo||[]).push({"workspace":"ws","language":"en","user":{"username":"a\u003cb","hmac":{"hash":"x"}}});
//]]></script><script async="async" src="/productfruits/identity/lifecycle.0123456789ab.js" nonce="n1" data-productfruits=""></script>`
	tests := []struct {
		name       string
		doc        string
		data, anon int
		runtimeSrc string
		inHead     bool
		follows    string
		headEndBy  string
		base       string
		loaderSrc  string
		metaCSP    int
	}{
		{name: "before </head>", doc: "<!DOCTYPE html><HTML><HEAD><TITLE>x</TITLE>" + data + "</HEAD><body>", data: 1, runtimeSrc: "/productfruits/identity/lifecycle.0123456789ab.js", inHead: true, follows: "</head>", headEndBy: "</head>"},
		{name: "head closed implicitly", doc: "<html><meta charset=utf-8>" + data + "<div>x</div>", data: 1, inHead: true, follows: "<div>", headEndBy: "<div>"},
		{name: "after body content", doc: "<html><head></head><body><p>x</p>" + data, data: 1, follows: "", headEndBy: "</head>"},
		{name: "text ends the head", doc: "<html><head>hello " + data, data: 1, headEndBy: "text"},
		{name: "template contents keep the head", doc: "<head><template><div>x</div></template>" + data + "<link rel=x></head>", data: 1, inHead: true, follows: "<link>", headEndBy: "</head>"},
		{name: "markup in comments and script text is not markup", doc: "<head><!-- " + data + " --><script>var s = '<script data-productfruits=\"\">';</script><noscript><script data-productfruits=anonymous></script></noscript></head>"},
		{name: "anonymous", doc: `<head><script data-productfruits="anonymous">(window.__productfruitsGo=window.__productfruitsGo||[]).push(0)</script></head>`, anon: 1, inHead: true, follows: "</head>", headEndBy: "</head>"},
		{name: "twice", doc: "<head>" + data + data + "</head>", data: 2, inHead: true, follows: "</head>", headEndBy: "</head>"},
		{
			name: "base, meta and loader template",
			doc: `<head><base href='https://cdn.example/' target=_top><META HTTP-EQUIV="content-security-policy" CONTENT="script-src 'nonce-n1'">` + data +
				`<template data-productfruits="loader"><script async="async" src="https://loader.example/s.js?a=1&amp;b=2" data-productfruits=""></script></template><title>t</title></head>`,
			data: 1, inHead: true, follows: "<title>", headEndBy: "</head>", base: "https://cdn.example/", loaderSrc: "https://loader.example/s.js?a=1&b=2", metaCSP: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scanPage([]byte(tt.doc))
			assert.Len(t, sc.data, tt.data)
			assert.Len(t, sc.anonymous, tt.anon)
			if tt.runtimeSrc != "" {
				require.Len(t, sc.runtime, 1)
				assert.Equal(t, tt.runtimeSrc, sc.runtime[0].src)
				assert.Equal(t, "n1", sc.runtime[0].nonce)
			}
			if !sc.hasSnippet() {
				return
			}
			assert.Equal(t, tt.inHead, sc.first < sc.headEnd, "first %d, head ends at %d", sc.first, sc.headEnd)
			assert.Equal(t, tt.follows, sc.follows)
			assert.Equal(t, tt.headEndBy, sc.headEndBy)
			if tt.base != "" {
				require.NotNil(t, sc.base)
				assert.Equal(t, tt.base, sc.base.href)
			}
			if tt.loaderSrc != "" {
				require.NotNil(t, sc.loader)
				assert.Equal(t, tt.loaderSrc, sc.loader.src)
				assert.Len(t, sc.runtime, 1, "the loader's script is not the runtime's")
			}
			assert.Len(t, sc.metaCSP, tt.metaCSP)
			if tt.data > 0 {
				pd, err := parsePageData(sc.data[0].text)
				require.NoError(t, err)
				assert.Equal(t, "a<b", pd.User.Username)
			}
		})
	}
}
