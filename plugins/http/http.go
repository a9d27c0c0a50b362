// Package http requests each http:// and https:// target once, directly (never through the
// target's proxy settings), and records the status, the TLS parameters, and whether the
// certificate would verify against the target's own CA bundle; it reports, never enforces.
package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/redact"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

const Name = "http"

// maxBody bounds how much of a response body is read: the status is the point, not the page.
const maxBody = 64 << 10

// caBundles are where distributions keep the CA bundle, looked up in the target's root.
var caBundles = []string{
	"etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
	"etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
	"etc/ssl/cert.pem",                  // Alpine (libressl/openssl), macOS-like
	"etc/ssl/ca-bundle.pem",             // openSUSE
}

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Active,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"outcome-differs": ruleOutcomeDiffers,
			"tls-differs":     ruleTLSDiffers,
		},
		Analysis: &analysis,
	})
}

// Plugin is the HTTP(S) probe.
type Plugin struct{}

// Section is the "http" section.
type Section struct {
	// VerifyRoots is the CA bundle certificates were checked against: a file in the
	// target's root, or "prober" (the prober's own system pool) when the target has none.
	VerifyRoots string         `json:"verifyRoots,omitempty"`
	Targets     []TargetResult `json:"targets"`
}

// TargetResult is one request.
type TargetResult struct {
	Target string `json:"target"`
	// Address is the remote address the request went to (first reachable in resolver order).
	Address   string        `json:"address,omitempty"`
	Status    int           `json:"status,omitempty"`
	Proto     string        `json:"proto,omitempty"`
	Location  string        `json:"location,omitempty"`
	TLS       *TLSInfo      `json:"tls,omitempty"`
	Error     *report.Error `json:"error,omitempty"`
	LatencyMs float64       `json:"latencyMs"`
	// ConnectMs, TLSMs and FirstByteMs split the latency.
	ConnectMs   float64 `json:"connectMs,omitempty"`
	TLSMs       float64 `json:"tlsMs,omitempty"`
	FirstByteMs float64 `json:"firstByteMs,omitempty"`
}

// TLSInfo describes the negotiated session. The handshake never fails on the certificate
// (InsecureSkipVerify); Verify says whether it would have.
type TLSInfo struct {
	Version   string `json:"version"`
	Cipher    string `json:"cipher"`
	ALPN      string `json:"alpn,omitempty"`
	Subject   string `json:"subject,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
	NotAfter  string `json:"notAfter,omitempty"`
	Insecure  bool   `json:"insecureSkipVerify"`
	Verify    string `json:"verify"`
	ServerSNI string `json:"serverName,omitempty"`
}

// Collect requests every http(s) target concurrently within the window.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	deadline := netprobe.Deadline(ctx, time.Now(), env.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	sec := &Section{Targets: []TargetResult{}}
	var roots *x509.CertPool
	var rootsOnce sync.Once
	loadRoots := func() *x509.CertPool {
		rootsOnce.Do(func() { roots, sec.VerifyRoots = targetRoots(env) })
		return roots
	}
	var targets []target.Target
	for _, t := range env.Targets {
		if t.Scheme == target.HTTP || t.Scheme == target.HTTPS {
			targets = append(targets, t)
			sec.Targets = append(sec.Targets, TargetResult{Target: t.String()})
		}
	}
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func(tr *TargetResult, t target.Target) {
			defer wg.Done()
			var pool *x509.CertPool
			if t.Scheme == target.HTTPS {
				pool = loadRoots()
			}
			request(ctx, t, pool, tr)
		}(&sec.Targets[i], t)
	}
	wg.Wait()
	return sec, nil
}

// targetRoots loads the CA bundle the target process would use.
func targetRoots(env *probe.Env) (*x509.CertPool, string) {
	root := filepath.Join(env.Proc, strconv.Itoa(env.PID), "root")
	for _, p := range caBundles {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		pool := x509.NewCertPool()
		if pool.AppendCertsFromPEM(b) {
			return pool, "/" + p
		}
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		return nil, "none: " + err.Error()
	}
	return pool, "prober"
}

func request(ctx context.Context, t target.Target, roots *x509.CertPool, out *TargetResult) {
	// The transport dials and handshakes on its own goroutines, which may still be running
	// when a cancelled request returns: they write through mu into a private copy.
	var mu sync.Mutex
	tr := &TargetResult{Target: out.Target}
	defer func() {
		mu.Lock()
		*out = *tr
		mu.Unlock()
	}()
	start := time.Now()
	var connStart, tlsStart time.Time
	dialer := &net.Dialer{}
	transport := &nethttp.Transport{
		// Direct on purpose: the section records what the network does, not the proxy.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			res := netprobe.Resolve(ctx, t.Host)
			if res.Error != nil {
				return nil, fmt.Errorf("resolve %s: %s", t.Host, res.Error.Message)
			}
			var last error = fmt.Errorf("resolve %s: no addresses", t.Host)
			for _, a := range res.Addrs() {
				connStart = time.Now()
				c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(a.IP.String(), strconv.Itoa(t.Port)))
				if err == nil {
					mu.Lock()
					tr.Address = a.IP.String()
					tr.ConnectMs = ms(time.Since(connStart))
					mu.Unlock()
					return c, nil
				}
				last = err
			}
			return nil, last
		},
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true,
			ServerName:         t.Host,
			VerifyConnection: func(cs tls.ConnectionState) error {
				ti := tlsInfo(cs, t.Host, roots)
				mu.Lock()
				tr.TLS = ti
				mu.Unlock()
				return nil
			},
		},
		ForceAttemptHTTP2:   true,
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: 0,
	}
	defer transport.CloseIdleConnections()
	client := &nethttp.Client{
		Transport:     transport,
		CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse },
	}
	trace := &httptrace.ClientTrace{
		TLSHandshakeStart: func() { mu.Lock(); tlsStart = time.Now(); mu.Unlock() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			mu.Lock()
			defer mu.Unlock()
			if !tlsStart.IsZero() {
				tr.TLSMs = ms(time.Since(tlsStart))
			}
		},
		GotFirstResponseByte: func() { mu.Lock(); tr.FirstByteMs = ms(time.Since(start)); mu.Unlock() },
	}
	req, err := nethttp.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), nethttp.MethodGet, t.URL, nil)
	if err != nil {
		tr.Error = report.ErrorOf(err)
		return
	}
	req.Header.Set("User-Agent", "netdiff-prober")
	resp, err := client.Do(req)
	mu.Lock()
	defer mu.Unlock()
	tr.LatencyMs = ms(time.Since(start))
	if err != nil {
		tr.Error = report.ErrorOf(err)
		tr.Error.Message = redact.Value(tr.Error.Message) // the error quotes the URL
		if tr.Error.Errno == "" && errors.Is(err, io.EOF) {
			tr.Error.Errno = "EOF"
		}
		return
	}
	defer resp.Body.Close()
	// The body is read under mu, which only costs the late writers a wait.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	// A redirect's target may carry a signed URL or a token: masked like any value.
	tr.Status, tr.Proto, tr.Location = resp.StatusCode, resp.Proto, redact.Value(resp.Header.Get("Location"))
}

func tlsInfo(cs tls.ConnectionState, host string, roots *x509.CertPool) *TLSInfo {
	ti := &TLSInfo{
		Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite),
		ALPN: cs.NegotiatedProtocol, Insecure: true, ServerSNI: host,
	}
	if len(cs.PeerCertificates) == 0 {
		ti.Verify = "no certificate"
		return ti
	}
	leaf := cs.PeerCertificates[0]
	ti.Subject, ti.Issuer = leaf.Subject.String(), leaf.Issuer.String()
	ti.NotAfter = leaf.NotAfter.UTC().Format(time.RFC3339)
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	ti.Verify = VerifyResult(err)
	return ti
}

// VerifyResult names a verification outcome in a few stable words.
func VerifyResult(err error) string {
	if err == nil {
		return "ok"
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "unknown authority"
	case errors.As(err, &hn):
		return "name mismatch"
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			return "expired or not yet valid"
		default:
			return "invalid: " + ci.Error()
		}
	}
	return err.Error()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Outcome is the fact value of a request: "status 200" or the error's errno/message.
func (tr TargetResult) Outcome() string {
	if tr.Error != nil {
		return "error " + tr.Error.Name()
	}
	return "status " + strconv.Itoa(tr.Status)
}

// facts: outcome, TLS and verification (Exact), latency (Info).
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	for _, t := range s.Targets {
		out = append(out, probe.Fact{Key: t.Target, Value: t.Outcome()})
		if t.TLS != nil {
			tlsv := t.TLS.Version + " " + t.TLS.Cipher
			if t.TLS.ALPN != "" {
				tlsv += " " + t.TLS.ALPN
			}
			out = append(out,
				probe.Fact{Key: t.Target + "/tls", Value: tlsv},
				probe.Fact{Key: t.Target + "/verify", Value: t.TLS.Verify})
		}
		out = append(out, probe.Fact{Key: t.Target + "/latency", Value: strconv.FormatFloat(t.LatencyMs, 'f', -1, 64) + "ms", Kind: probe.ShowOnly})
	}
	return out
}
