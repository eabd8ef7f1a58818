package productfruits

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUserJSONMatchesEncodingJSON(t *testing.T) {
	u := User{Username: "a\"b\\c\n\t\r", Email: "e@x", Firstname: "F", Lastname: "L", Role: "r", SignUpAt: "2020-01-01T00:00:00Z",
		Props: map[string]any{"x": []int{1, 2}, "nested": map[string]any{"b": true}}, Group: &Group{GroupID: "g"},
		HMAC: &HMAC{Hash: "h", Expiration: "e"}}
	ours, err := appendSignedUser(nil, &u, nil)
	require.NoError(t, err)
	std, err := json.Marshal(u)
	require.NoError(t, err)
	assert.JSONEq(t, string(std), string(ours))

	var back User
	require.NoError(t, json.Unmarshal(ours, &back))
	assert.Equal(t, u.Username, back.Username)
}
