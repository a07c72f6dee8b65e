module github.com/xinling/xinling

go 1.26

require (
	github.com/gorilla/websocket v1.5.3
	go.etcd.io/bbolt v1.4.3
	go.uber.org/goleak v1.3.0
	golang.org/x/time v0.14.0
)

require golang.org/x/sys v0.29.0 // indirect
