module github.com/xinling/xinling

go 1.26

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	go.etcd.io/bbolt v1.4.3 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.29.0 // indirect
	golang.org/x/time v0.14.0 // indirect
)
