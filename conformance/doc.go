// Package conformance holds tests that judge the library against code
// nobody here wrote, golang.org/x/net/html first among them. It is a
// module of its own so that these test-only oracles never enter the
// go.mod of the library's users.
package conformance
