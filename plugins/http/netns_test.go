package http

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	nethttp "net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// S serves plain HTTP on :8080 and HTTPS on :8443 with a certificate from a test CA.
// A trusts that CA (its /etc/ssl, as the target process sees it, holds the CA) and has a
// route to everything; B has the host's CA bundle and no route to 10.10.9.1.
func TestHTTPInNamespaces(t *testing.T) {
	a, b, s := netnstest.TwoClients(t, "http")
	s.IP("addr", "add", "10.10.9.1/32", "dev", "lo")

	caPEM, cert := testCA(t, "10.10.2.2")
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/ok", func(w nethttp.ResponseWriter, _ *nethttp.Request) { w.Write([]byte("ok")) })
	serve(t, s, ":8080", mux, nil)
	serve(t, s, ":8443", mux, &tls.Config{Certificates: []tls.Certificate{cert}})

	a.WriteEtc("ssl/certs/ca-certificates.crt", string(caPEM))
	// Own resolv.conf for both: the DNS probes ask S, never the host's nameserver.
	for _, ns := range []*netnstest.NS{a, b} {
		ns.WriteEtc("resolv.conf", "nameserver 10.10.2.2\n")
	}
	// The target process: its root (and so its /etc/ssl) is what the prober reads.
	appA, appB := a.Start("sleep", "60"), b.Start("sleep", "60")

	targets := []string{"http://10.10.9.1:8080/ok", "http://10.10.2.2:8080/missing", "https://10.10.2.2:8443/ok"}
	args := func(pid int) []string {
		out := []string{"--quiet", "--timeout", "2s", "--pid", strconv.Itoa(pid)}
		for _, tg := range targets {
			out = append(out, "--target", tg)
		}
		return out
	}
	ra, rb := a.Collect(args(appA.Process.Pid)...), b.Collect(args(appB.Process.Pid)...)
	fa, fb := plugintest.Facts(t, Name, ra), plugintest.Facts(t, Name, rb)
	plugintest.CheckFacts(t, map[string]map[string]string{"A": fa, "B": fb}, [][3]string{
		{"A", "http://10.10.9.1:8080/ok", "status 200"},
		{"B", "http://10.10.9.1:8080/ok", "error ENETUNREACH"},
		{"A", "http://10.10.2.2:8080/missing", "status 404"},
		{"B", "http://10.10.2.2:8080/missing", "status 404"},
		{"A", "https://10.10.2.2:8443/ok", "status 200"},
		{"B", "https://10.10.2.2:8443/ok", "status 200"},
		{"A", "https://10.10.2.2:8443/ok/tls", "TLS 1.3 TLS_AES_128_GCM_SHA256 h2"},
		{"A", "https://10.10.2.2:8443/ok/verify", "ok"},
		{"B", "https://10.10.2.2:8443/ok/verify", "unknown authority"},
	})
	var sec Section
	netnstest.Section(t, ra, Name, &sec)
	if sec.VerifyRoots != "/etc/ssl/certs/ca-certificates.crt" {
		t.Errorf("A: verifyRoots = %q, want the target's bundle", sec.VerifyRoots)
	}

	c := &contract.Comparison{Subjects: []string{"A", "B"}, Reports: []*report.Report{ra, rb}}
	got := ruleOutcomeDiffers(c)
	if len(got) != 1 || got[0].Severity != contract.High || got[0].Message != "GET http://10.10.9.1:8080/ok differs: error ENETUNREACH in B; status 200 in A" {
		t.Errorf("outcome-differs = %+v", got)
	}
	got = ruleTLSDiffers(c)
	if len(got) != 1 || !strings.Contains(got[0].Message, "ok in A; unknown authority in B") {
		t.Errorf("tls-differs = %+v", got)
	}
}

func serve(t *testing.T, ns *netnstest.NS, addr string, h nethttp.Handler, cfg *tls.Config) {
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		cfg.NextProtos = []string{"h2", "http/1.1"}
		ln = tls.NewListener(ln, cfg)
	}
	srv := &nethttp.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if cfg != nil {
		srv.TLSConfig = cfg
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// testCA makes a CA and a leaf for ip, returning the CA's PEM and the leaf for serving.
func testCA(t *testing.T, ip string) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netdiff test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
}

func TestVerifyResult(t *testing.T) {
	if got := VerifyResult(nil); got != "ok" {
		t.Errorf("VerifyResult(nil) = %q", got)
	}
	if got := VerifyResult(x509.UnknownAuthorityError{}); got != "unknown authority" {
		t.Errorf("unknown authority = %q", got)
	}
	if got := VerifyResult(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}); got != "name mismatch" {
		t.Errorf("hostname = %q", got)
	}
	if got := VerifyResult(x509.CertificateInvalidError{Reason: x509.Expired}); got != "expired or not yet valid" {
		t.Errorf("expired = %q", got)
	}
}
