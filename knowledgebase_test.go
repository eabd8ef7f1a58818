package productfruits

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKnowledgeBaseURL(t *testing.T) {
	signed := User{Username: "testUser", HMAC: &HMAC{Hash: "vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA=", Expiration: "2026-11-24T14:00:00.000Z"}}
	const param = "hmac=%7B%22username%22%3A%22testUser%22%2C%22hmac%22%3A%7B%22hash%22%3A%22vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA%3D%22%2C%22expiration%22%3A%222026-11-24T14%3A00%3A00.000Z%22%7D%7D"
	tests := []struct {
		name, base, want string
	}{
		{"bare host", "https://kb.example.com", "https://kb.example.com?" + param},
		{"path", "https://kb.example.com/", "https://kb.example.com/?" + param},
		{"own query kept verbatim", "https://kb.example.com/a?lang=cs&q=%C5%BE+x", "https://kb.example.com/a?lang=cs&q=%C5%BE+x&" + param},
		{"fragment kept after the query", "http://kb.example.com/a?x=1#intro", "http://kb.example.com/a?x=1&" + param + "#intro"},
		{"a ? in the fragment is no query", "https://kb.example.com/#a?b", "https://kb.example.com/?" + param + "#a?b"},
		{"empty fragment kept", "https://kb.example.com/#", "https://kb.example.com/?" + param + "#"},
		{"empty query", "https://kb.example.com/?", "https://kb.example.com/?" + param},
		{"empty parameters dropped", "https://kb.example.com/?&a=1&&", "https://kb.example.com/?a=1&" + param},
		{"an old hmac is replaced", "https://kb.example.com/?hmac=old&keep=1&hm%61c&HMAC=2", "https://kb.example.com/?keep=1&HMAC=2&" + param},
		{"port and user info", "https://u@kb.example.com:8443/x", "https://u@kb.example.com:8443/x?" + param},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KnowledgeBaseURL(tt.base, signed)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("no expiration: the key is left out", func(t *testing.T) {
		got, err := KnowledgeBaseURL("https://kb.example.com/", User{Username: "testUser", HMAC: &HMAC{Hash: "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="}})
		require.NoError(t, err)
		assert.Equal(t, "https://kb.example.com/?hmac=%7B%22username%22%3A%22testUser%22%2C%22hmac%22%3A%7B%22hash%22%3A%22LZGb1SPNlIIk0XBPWhCXc7boAxE%2Fpmul4Mrzt23ZfEg%3D%22%7D%7D", got)
		assert.NotContains(t, got, "expiration")
	})
	t.Run("other user fields stay out", func(t *testing.T) {
		u := signed
		u.Email, u.Role, u.Props = "e@example.com", "admin", map[string]any{"plan": "pro"}
		got, err := KnowledgeBaseURL("https://kb.example.com/", u)
		require.NoError(t, err)
		assert.Equal(t, "https://kb.example.com/?"+param, got)
	})

	errs := []struct {
		name string
		base string
		user User
	}{
		{"empty base", "", signed},
		{"relative base", "/kb", signed},
		{"host without scheme", "kb.example.com/a", signed},
		{"ftp", "ftp://kb.example.com/", signed},
		{"javascript", "javascript:alert(1)//", signed},
		{"no host", "https:///kb", signed},
		{"unparseable", "http://[::1", signed},
		{"unsigned user", "https://kb.example.com/", User{Username: "testUser"}},
		{"empty hash", "https://kb.example.com/", User{Username: "testUser", HMAC: &HMAC{}}},
		{"no username", "https://kb.example.com/", User{HMAC: signed.HMAC}},
		{"invalid UTF-8 username", "https://kb.example.com/", User{Username: "a\xff", HMAC: signed.HMAC}},
		{"invalid UTF-8 expiration", "https://kb.example.com/", User{Username: "a", HMAC: &HMAC{Hash: "h", Expiration: "\xff"}}},
	}
	for _, tt := range errs {
		t.Run("error: "+tt.name, func(t *testing.T) {
			got, err := KnowledgeBaseURL(tt.base, tt.user)
			assert.Error(t, err)
			assert.Empty(t, got)
		})
	}
}

// kbCase is one link checked against the product's JavaScript.
type kbCase struct {
	Base       string  `json:"base"`
	Username   string  `json:"username"`
	Hash       string  `json:"hash"`
	Expiration *string `json:"expiration"`
	Link       string  `json:"link"`
}

// kbReference computes the hmac parameter with the code of the product's
// help page ("Enable access only for users from your application"),
//
//	encodeURIComponent(JSON.stringify({ username, hmac: { hash, expiration: expirationIfUsed ?? undefined } }))
//
// where a case without an expiration has expirationIfUsed null (the
// reference computation's answer), and reads each link back with the
// WHATWG URL parser, as a browser opens it: one hmac parameter holding
// exactly that JSON, the base's other parameters, origin, path and
// fragment unchanged.
const kbReference = `
const chunks = [];
process.stdin.on('data', d => chunks.push(d));
process.stdin.on('end', () => {
  const out = JSON.parse(Buffer.concat(chunks).toString('utf8')).map(c => {
    const expirationIfUsed = c.expiration;
    const json = JSON.stringify({ username: c.username, hmac: { hash: c.hash, expiration: expirationIfUsed ?? undefined } });
    const value = encodeURIComponent(json);
    const base = new URL(c.base), link = new URL(c.link);
    const others = (u) => JSON.stringify([...u.searchParams].filter(([k]) => k !== 'hmac'));
    const problems = [];
    if (!c.link.includes('hmac=' + value)) problems.push('the parameter is not encodeURIComponent(JSON.stringify(...))');
    const got = link.searchParams.getAll('hmac');
    if (got.length !== 1 || got[0] !== json) problems.push('hmac reads back as ' + JSON.stringify(got));
    if (others(link) !== others(base)) problems.push('other parameters ' + others(link) + ' != ' + others(base));
    for (const k of ['origin', 'pathname', 'hash', 'username', 'port']) {
      if (link[k] !== base[k]) problems.push(k + ' ' + link[k] + ' != ' + base[k]);
    }
    return problems.join('; ');
  });
  process.stdout.write(JSON.stringify(out));
});`

func TestKnowledgeBaseURLMatchesProductPage(t *testing.T) {
	lookNode(t) // skip early where node is missing, before building the cases
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(6, seed))
	bases := []string{
		"https://kb.example.com", "https://kb.example.com/", "https://help.example.com/en/articles?lang=cs&x=1",
		"http://kb.example.com/a?b=%C5%BE#top", "https://kb.example.com/?hmac=old&keep=1", "https://kb.example.com/#frag?notquery",
		"https://kb.example.com/path?", "https://kb.example.com/path?&&a=1&", "https://u@kb.example.com:8443/x?y=1#z",
		"HTTPS://KB.EXAMPLE.COM/x", "https://kb.example.com/a%20b?q=a+b&r=%26", "https://kb.example.com/?e=&e=2#",
	}
	signer, err := NewSigner(vectorSecret)
	require.NoError(t, err)
	var cases []kbCase
	for i := range 400 {
		c := kbCase{Base: bases[i%len(bases)], Username: randomString(r, 30)}
		var exp time.Time
		if i%3 != 0 {
			exp = time.UnixMilli(r.Int64N(253402300799999))
		}
		h, err := signer.Sign(c.Username, exp)
		require.NoError(t, err)
		if i%5 == 1 {
			// Another ISO form, as a .NET backend signs it.
			h.Expiration = exp.UTC().Format("2006-01-02T15:04:05.0000000Z")
		}
		c.Hash = h.Hash
		if h.Expiration != "" {
			c.Expiration = &h.Expiration
		}
		c.Link, err = KnowledgeBaseURL(c.Base, User{Username: c.Username, HMAC: &h})
		require.NoError(t, err)
		cases = append(cases, c)
	}
	cases[0].Username = "Žluťoučký kůň"
	cases[1].Username = "日本語 😀 </script> \"q\" \\ \u2028 \x00\x1f\x7f"
	for _, i := range []int{0, 1} {
		cases[i].Link, err = KnowledgeBaseURL(cases[i].Base, User{Username: cases[i].Username, HMAC: &HMAC{Hash: cases[i].Hash}})
		require.NoError(t, err)
		cases[i].Expiration = nil
	}

	var problems []string
	runNodeJSON(t, kbReference, cases, &problems)
	require.Len(t, problems, len(cases))
	for i, p := range problems {
		assert.Empty(t, p, "case %d: base %q, username %q: %s", i, cases[i].Base, cases[i].Username, cases[i].Link)
	}
}
