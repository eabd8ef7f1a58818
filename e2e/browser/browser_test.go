package browser

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTB records how a test would have ended instead of ending it.
type fakeTB struct {
	testing.TB
	fatal, skip bool
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.fatal = true }
func (f *fakeTB) Skipf(format string, a ...any)  { f.skip = true }

func TestMissingBrowser(t *testing.T) {
	for _, tc := range []struct {
		ci          string
		fatal, skip bool
	}{
		{ci: "true", fatal: true},
		{ci: "", skip: true},
		{ci: "false", skip: true},
		{ci: "1", skip: true}, // only CI=true, as the CI runner sets it
	} {
		f := &fakeTB{TB: t}
		missing(f, tc.ci)
		assert.Equal(t, tc.fatal, f.fatal, "CI=%q fails", tc.ci)
		assert.Equal(t, tc.skip, f.skip, "CI=%q skips", tc.ci)
	}
}

func TestPathFromEnv(t *testing.T) {
	t.Setenv(PathEnv, "/opt/my/chrome")
	p, ok := Path()
	assert.True(t, ok)
	assert.Equal(t, "/opt/my/chrome", p)
}

func TestStartAndTab(t *testing.T) {
	b := Start(t)
	tab := NewTab(t, b, 20*time.Second)
	require.NoError(t, OnNewDocument(tab, `window.__early = document.readyState`))
	console := Record(tab)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(`data:text/html,<script>console.log("hi from the page")</script>`)))
	early, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.__early`))
	require.NoError(t, err)
	assert.Equal(t, "loading", early, "OnNewDocument runs before the page's scripts")
	require.Eventually(t, func() bool { return len(console.Matching("hi from the page")) == 1 }, 5*time.Second, 20*time.Millisecond)
	assert.Empty(t, console.Exceptions())

	// The browser runs headless.
	ua, err := chromedp.Run(tab, chromedp.Evaluate[string](`navigator.userAgent`))
	require.NoError(t, err)
	assert.Contains(t, ua, "Headless")
}
