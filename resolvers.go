package productfruits

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// ContextUsername returns a Config.Username resolver for apps whose own
// authentication middleware stores the username in the request context
// under key, as a string or as a fmt.Stringer.
func ContextUsername(key any) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		switch v := r.Context().Value(key).(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case fmt.Stringer:
			return v.String(), nil
		default:
			return "", fmt.Errorf("productfruits: context value for username is a %T, not a string", v)
		}
	}
}

// SessionUsername returns a Config.Username resolver that reads the
// username from the gorilla/sessions session sessionName in store, under
// key. A missing, expired or tampered session is anonymous, not an error,
// so a bad cookie never turns into an error page.
func SessionUsername(store sessions.Store, sessionName, key string) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		sess, err := store.Get(r, sessionName)
		var codecErr securecookie.Error
		if errors.As(err, &codecErr) && codecErr.IsDecode() {
			// A tampered, expired or foreign cookie: that visitor is
			// simply not logged in.
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("productfruits: session store: %w", err)
		}
		if sess == nil {
			return "", nil
		}
		switch v := sess.Values[key].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		default:
			return "", fmt.Errorf("productfruits: session value %q is a %T, not a string", key, v)
		}
	}
}
