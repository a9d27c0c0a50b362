// Command testapp is the app container of the e2e and demo pods: a tiny HTTP server that
// answers "ok". busybox httpd listens with a backlog of 9 and forks per connection, so
// the prober's connect bursts overflowed its queue (TcpExt ListenDrops) and healthy twins
// differed; Go listens with the kernel's full somaxconn and accepts at once.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", ":8080", "address to serve HTTP on")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	log.Fatal(http.ListenAndServe(*addr, nil))
}
