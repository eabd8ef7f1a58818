module github.com/pfverify/productfruits/bench

go 1.26

replace github.com/pfverify/productfruits => ../

require (
	github.com/gorilla/sessions v1.4.0
	github.com/pfverify/productfruits v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gorilla/securecookie v1.1.2 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
