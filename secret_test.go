package productfruits

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrinted(t *testing.T) {
	const secret = "s3cr3t-Encryption-Key"
	s, err := NewSigner(secret)
	require.NoError(t, err)
	cfg := Config{WorkspaceCode: "ws", Secret: NewSecret(secret), Username: func(*http.Request) (string, error) { return "", nil }}
	m, err := New(cfg)
	require.NoError(t, err)
	// Structs that hold them in unexported fields: fmt prints those field
	// by field, calling no method of theirs.
	type holder struct {
		cfg  Config
		pcfg *Config
		m    *Middleware
		s    *Signer
		sec  Secret
	}
	h := holder{cfg, &cfg, m, s, cfg.Secret}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%p", "%d", "%T %v"} {
		for name, v := range map[string]any{"signer": s, "config": cfg, "config pointer": &cfg, "middleware": m,
			"secret": cfg.Secret, "holder": h, "holder pointer": &h, "slice": []Config{cfg}, "map": map[string]Config{"c": cfg}} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, secret, "%s printed with %s", name, verb)
			assert.NotContains(t, out, fmt.Sprintf("%x", secret), "%s printed with %s", name, verb)
		}
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret)
	assert.Contains(t, fmt.Sprint(cfg), "REDACTED")
	var logs logBuffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "cfg", cfg, "secret", cfg.Secret, "holder", &h)
	assert.NotContains(t, logs.String(), secret)
}
