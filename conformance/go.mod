module github.com/pfverify/productfruits/conformance

go 1.26

replace github.com/pfverify/productfruits => ../

require (
	github.com/pfverify/productfruits v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.56.0
)

require (
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/gorilla/sessions v1.4.0 // indirect
	golang.org/x/text v0.38.0 // indirect
)
