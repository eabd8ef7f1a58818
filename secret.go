package productfruits

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Secret holds the workspace's secret (the "Encryption key" in the
// workspace settings) for Config, where nothing prints it: fmt under
// every verb (%p and %x included), slog and encoding/json show REDACTED,
// and a Config held in an unexported field of another struct, which fmt
// prints field by field without calling any method, shows a pointer. A
// plain string field could not keep it out of those. Make one with
// NewSecret; the zero Secret is empty, which New refuses.
type Secret struct {
	v *string
}

// NewSecret returns a Secret holding s, as read from the environment or a
// secret store:
//
//	Secret: productfruits.NewSecret(os.Getenv("PRODUCTFRUITS_SECRET")),
//
// New refuses an empty secret and one with leading or trailing
// whitespace (a newline from a secrets file would make every hash wrong).
func NewSecret(s string) Secret { return Secret{&s} }

// value returns the secret itself; "" for the zero Secret.
func (s Secret) value() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// String returns REDACTED, or "" for an empty Secret.
func (s Secret) String() string {
	if s.value() == "" {
		return ""
	}
	return redacted
}

// Format implements fmt.Formatter: every verb prints String.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(s.String())) }

// GoString prints String, for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes String.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
