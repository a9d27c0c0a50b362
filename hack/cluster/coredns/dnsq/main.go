// Command dnsq is smoke.sh's client: it resolves names against one DNS server over UDP
// and TCP, and GETs HTTP URLs (CoreDNS's /health and /ready), with the standard library
// only. It exits non-zero if any lookup or GET fails.
//
//	dnsq -server 127.0.0.1:5353 [-get http://127.0.0.1:8080/health]... NAME...
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

type urls []string

func (u *urls) String() string     { return strings.Join(*u, ",") }
func (u *urls) Set(s string) error { *u = append(*u, s); return nil }

func main() {
	server := flag.String("server", "127.0.0.1:53", "DNS server host:port")
	var gets urls
	flag.Var(&gets, "get", "URL to GET, expecting 200 (repeatable)")
	flag.Parse()
	failed := false
	for _, u := range gets {
		body, err := get(u)
		if err != nil {
			fmt.Printf("GET %s: %v\n", u, err)
			failed = true
			continue
		}
		fmt.Printf("GET %s: 200 %q\n", u, body)
	}
	for _, network := range []string{"udp", "tcp"} {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, *server)
		}}
		for _, name := range flag.Args() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			addrs, err := r.LookupHost(ctx, name)
			cancel()
			if err != nil {
				fmt.Printf("%s %s: %v\n", network, name, err)
				failed = true
				continue
			}
			fmt.Printf("%s %s: %s\n", network, name, strings.Join(addrs, " "))
		}
	}
	if failed {
		os.Exit(1)
	}
}

func get(u string) (string, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %q", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}
