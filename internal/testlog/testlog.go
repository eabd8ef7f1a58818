// Package testlog holds the one log sink the project's tests share: slog
// handlers, http.Server.ErrorLog and a server's goroutines write to it
// while the test reads it.
package testlog

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a concurrency-safe bytes.Buffer. The zero value is ready to
// use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns what has been written so far, one element per line, or
// nil when nothing has been.
func (b *Buffer) Lines() []string {
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
