// Package target parses active-probe destinations, with the same syntax in the prober
// (--target) and the plugin (--target), so one validates what the other will run.
package target

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/redact"
)

// Scheme is the probe method a target asks for.
type Scheme string

const (
	TCP   Scheme = "tcp"
	UDP   Scheme = "udp"
	ICMP  Scheme = "icmp"
	HTTP  Scheme = "http"
	HTTPS Scheme = "https"
	DNS   Scheme = "dns"
)

// Target is one destination. Host is an IP literal or a name; Port is 0 where the scheme has none.
type Target struct {
	Scheme Scheme `json:"scheme"`
	Host   string `json:"host"`
	Port   int    `json:"port,omitempty"`
	// URL is the full URL for http and https targets.
	URL string `json:"url,omitempty"`
}

// String is the canonical spelling, also used as the target's key in facts and in the
// report. A URL's credentials (userinfo, a token in the query) are masked
// (pkg/redact): the request uses URL, the report and every output only this.
func (t Target) String() string {
	switch t.Scheme {
	case HTTP, HTTPS:
		return redact.Value(t.URL)
	case ICMP, DNS:
		return string(t.Scheme) + "://" + t.Host
	default:
		return string(t.Scheme) + "://" + net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	}
}

// Parse reads one target: HOST:PORT (TCP), tcp://HOST:PORT, udp://HOST:PORT, icmp://HOST,
// http://…, https://…, dns://NAME. IPv6 literals are bracketed: [::1]:80, icmp://[::1].
func Parse(s string) (Target, error) {
	bad := func(why string) (Target, error) {
		return Target{}, fmt.Errorf("invalid target %q: %s (forms: HOST:PORT, tcp://HOST:PORT, udp://HOST:PORT, icmp://HOST, http(s)://URL, dns://NAME)", redact.Value(s), redact.Value(why))
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return bad("empty")
	}
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		scheme, rest = string(TCP), s
	}
	switch Scheme(strings.ToLower(scheme)) {
	case TCP, UDP:
		host, port, err := hostPort(rest)
		if err != nil {
			return bad(err.Error())
		}
		return Target{Scheme: Scheme(strings.ToLower(scheme)), Host: host, Port: port}, nil
	case ICMP, DNS:
		host := strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
		if err := checkHost(host); err != nil {
			return bad(err.Error())
		}
		if Scheme(strings.ToLower(scheme)) == ICMP && strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return bad("icmp takes a host, not HOST:PORT")
		}
		return Target{Scheme: Scheme(strings.ToLower(scheme)), Host: host}, nil
	case HTTP, HTTPS:
		u, err := url.Parse(s)
		if err != nil {
			return bad(err.Error())
		}
		if err := checkHost(u.Hostname()); err != nil {
			return bad(err.Error())
		}
		port := 80
		if u.Scheme == string(HTTPS) {
			port = 443
		}
		if p := u.Port(); p != "" {
			if port, err = parsePort(p); err != nil {
				return bad(err.Error())
			}
		}
		return Target{Scheme: Scheme(u.Scheme), Host: u.Hostname(), Port: port, URL: u.String()}, nil
	default:
		return bad(fmt.Sprintf("unknown scheme %q", scheme))
	}
}

// ParseAll parses every target, failing on the first malformed one.
func ParseAll(ss []string) ([]Target, error) {
	out := make([]Target, 0, len(ss))
	for _, s := range ss {
		t, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func hostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("want HOST:PORT with IPv6 in brackets: %v", err)
	}
	if err := checkHost(host); err != nil {
		return "", 0, err
	}
	port, err := parsePort(p)
	return host, port, err
}

func parsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number in 1-65535", p)
	}
	return n, nil
}

func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("missing host")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if strings.ContainsAny(h, " /?#@[]") || strings.Contains(h, ":") {
		return fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
	}
	return nil
}
