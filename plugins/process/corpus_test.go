package process

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// secretShape is one way a credential reaches a process's command line or environment.
// Each secret is unique, so finding it anywhere in output is a leak of that shape.
type secretShape struct {
	name   string
	env    [2]string // a network variable and its value, or
	args   []string  // a command line (after argv[0])
	secret string
}

// secretCorpus: the leaks a review reproduced, and more.
var secretCorpus = []secretShape{
	{name: "-p next", args: []string{"-p", "pw8zz"}, secret: "pw8zz"},
	{name: "-p attached", args: []string{"-psecret44"}, secret: "secret44"},
	{name: "--pw next", args: []string{"--pw", "pwNext01"}, secret: "pwNext01"},
	{name: "--pw=", args: []string{"--pw=pwEq02"}, secret: "pwEq02"},
	{name: "-k next", args: []string{"-k", "kKey03"}, secret: "kKey03"},
	{name: "sshpass -p", args: []string{"sshpass", "-p", "sshpw04", "ssh", "h"}, secret: "sshpw04"},
	{name: "--password --", args: []string{"--password", "--", "dashpw05"}, secret: "dashpw05"},
	{name: "--password next", args: []string{"--password", "pwd06"}, secret: "pwd06"},
	{name: "--PASSWORD=", args: []string{"--PASSWORD=Upper07"}, secret: "Upper07"},
	{name: "--db-password next", args: []string{"--db-password", "dbpw08"}, secret: "dbpw08"},
	{name: "--token next", args: []string{"--token", "tok09"}, secret: "tok09"},
	{name: "--api-key=", args: []string{"--api-key=apik10"}, secret: "apik10"},
	{name: "curl -u", args: []string{"curl", "-u", "alice:curlpw11", "http://h/"}, secret: "curlpw11"},
	{name: "redis-cli -a", args: []string{"redis-cli", "-a", "redis12"}, secret: "redis12"},
	{name: "user:pass arg", args: []string{"alice:userpass13"}, secret: "userpass13"},
	{name: "URL in arg", args: []string{"--db=postgres://u:pgpw14@db/x"}, secret: "pgpw14"},
	{name: "URL with / in password", args: []string{"mongodb://u:se/cr15@h:27017"}, secret: "se/cr15"},
	{name: "query token in arg", args: []string{"http://h/x?token=qtok16&a=1"}, secret: "qtok16"},
	{name: "connection string", args: []string{"Server=db;Database=x;Password=conn17;"}, secret: "conn17"},
	{name: "Bearer arg", args: []string{"-H", "Authorization: Bearer bear18"}, secret: "bear18"},
	{name: "JWT arg", args: []string{"--header=x-id: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.jwtSig19abc"}, secret: "jwtSig19abc"},
	{name: "GitHub token arg", args: []string{"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}, secret: "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
	{name: "AWS key arg", args: []string{"--aws=AKIAIOSFODNN7EXAMPL2"}, secret: "AKIAIOSFODNN7EXAMPL2"},
	{name: "Slack token arg", args: []string{"xoxb-1234567890-slack21abc"}, secret: "xoxb-1234567890-slack21abc"},
	{name: "JSON in arg", args: []string{`{"user":"u","password":"json22"}`}, secret: "json22"},
	{name: "-D property", args: []string{"-Djavax.net.ssl.keyStorePassword=ks23"}, secret: "ks23"},
	{name: "proxy URL", env: [2]string{"HTTP_PROXY", "http://user:proxy24@h:3128"}, secret: "proxy24"},
	{name: "proxy URL with /#", env: [2]string{"HTTPS_PROXY", "http://u:se/cr#et41@h:3128"}, secret: "se/cr#et41"},
	{name: "proxy URL with ?", env: [2]string{"ALL_PROXY", "socks5://u:a?b25@h:1080"}, secret: "a?b25"},
	{name: "proxy URL with @", env: [2]string{"http_proxy", "http://u:p@ss26@h:3128"}, secret: "p@ss26"},
	{name: "proxy without scheme", env: [2]string{"https_proxy", "u:noscheme27@h:3128"}, secret: "noscheme27"},
	{name: "JAVA_TOOL_OPTIONS pw", env: [2]string{"JAVA_TOOL_OPTIONS", "-Ddb.pw=secret42 -Xmx1g"}, secret: "secret42"},
	{name: "JAVA_OPTS password", env: [2]string{"JAVA_OPTS", "-Dhttp.proxyPassword=jpw28"}, secret: "jpw28"},
	{name: "NODE_OPTIONS --secret", env: [2]string{"NODE_OPTIONS", "--secret secret43"}, secret: "secret43"},
	{name: "_JAVA_OPTIONS JWT", env: [2]string{"_JAVA_OPTIONS", "--x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.nodeJwt29"}, secret: "nodeJwt29"},
	{name: "NETRC password", env: [2]string{"NETRC", "machine h login u password netrc30"}, secret: "netrc30"},
	{name: "GOPROXY userinfo", env: [2]string{"GOPROXY", "https://u:goproxy31@proxy.example/,direct"}, secret: "goproxy31"},
	{name: "GRPC token value", env: [2]string{"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "/x?access_token=grpc32"}, secret: "grpc32"},
	{name: "PYTHON JSON", env: [2]string{"PYTHONSTARTUP_ARGS", `{"api_key":"pyjson33"}`}, secret: "pyjson33"},
	{name: "ghp in env", env: [2]string{"GOFLAGS", "-x ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}, secret: "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"},
	{name: "AWS in env", env: [2]string{"GOPRIVATE", "AKIAABCDEFGHIJKLMNOP"}, secret: "AKIAABCDEFGHIJKLMNOP"},
	{name: "PEM in env", env: [2]string{"NODE_EXTRA_CA_CERTS", "-----BEGIN RSA PRIVATE KEY-----\nMIIBpem34secret\n-----END RSA PRIVATE KEY-----"}, secret: "MIIBpem34secret"},
	{name: "Slack in env", env: [2]string{"GODEBUG", "x=xoxp-9876543210-slack35zz"}, secret: "xoxp-9876543210-slack35zz"},
	{name: "password= in env", env: [2]string{"LD_LIBRARY_PATH", "/lib:password=ldpw36"}, secret: "ldpw36"},
	{name: "Basic auth in env", env: [2]string{"GRPC_ARG", "Authorization: Basic YmFzaWMzNw=="}, secret: "YmFzaWMzNw=="},
	{name: "secret-named variable", env: [2]string{"GRPC_AUTH_TOKEN", "named38"}, secret: "named38"},
	{name: "lowercase pass", env: [2]string{"no_proxy", "localhost,pass=lower39"}, secret: "lower39"},
}

func TestSecretCorpusIsRedacted(t *testing.T) {
	if len(secretCorpus) < 40 {
		t.Fatalf("corpus of %d shapes, want at least 40", len(secretCorpus))
	}
	for _, s := range secretCorpus {
		var out string
		if s.env[0] != "" {
			out = RedactEnv(s.env[0], s.env[1])
		} else {
			out = strings.Join(RedactArgs(append([]string{"app"}, s.args...)), " ")
		}
		if strings.Contains(out, s.secret) {
			t.Errorf("%s: %q keeps the secret %q", s.name, out, s.secret)
		}
	}
	// What is not a secret stays readable: ports, paths, plain URLs and flags.
	for in, want := range map[string]string{
		"nginx -p 8080 -k https://h/ --addr 0.0.0.0:8080": "nginx -p 8080 -k https://h/ --addr 0.0.0.0:8080",
		"app --listen :8080 --dir /var/lib/app -v":        "app --listen :8080 --dir /var/lib/app -v",
		"app http://h:8080/path --pool 10":                "app http://h:8080/path --pool 10",
	} {
		if got := strings.Join(RedactArgs(strings.Fields(in)), " "); got != want {
			t.Errorf("RedactArgs(%q) = %q, want it unchanged", in, got)
		}
	}
}

// The corpus planted in a real process, collected by the real prober in a network
// namespace, diffed against a plain process and printed in every format: no secret is in
// the prober's output (what --save writes) or in any rendering.
func TestSecretCorpusNeverPrinted(t *testing.T) {
	a, b := netnstest.New(t, "seca"), netnstest.New(t, "secb")
	pa := a.Start("sleep", "300").Process.Pid
	cmd := []string{"env"}
	args := []string{"sh", "-c", "sleep 302; :", "app"}
	seen := map[string]bool{}
	for _, s := range secretCorpus {
		if s.env[0] != "" {
			if seen[s.env[0]] {
				t.Fatalf("%s: variable %s twice in the corpus", s.name, s.env[0])
			}
			seen[s.env[0]] = true
			cmd = append(cmd, s.env[0]+"="+s.env[1])
		} else {
			args = append(args, s.args...)
		}
	}
	pb := b.Start(append(cmd, args...)...).Process.Pid
	waitExec(t, pa, "sleep")
	waitExec(t, pb, "sh")

	ra := a.Collect("--pid", strconv.Itoa(pa))
	raw, errOut, rb := b.CollectOutput("--pid", strconv.Itoa(pb))
	outputs := map[string][]byte{"prober stdout (the saved report)": raw, "prober stderr": errOut}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{ra, rb}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "wide", "json", "yaml"} {
		var buf bytes.Buffer
		if err := render.Render(&buf, res, format, render.Options{All: true}); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		outputs["-o "+format+" --all"] = buf.Bytes()
	}
	var sb Section
	netnstest.Section(t, rb, "process", &sb)
	if len(sb.Target.Cmdline) < 40 || len(sb.Target.Env) < len(seen)-2 {
		t.Fatalf("the planted process was not read whole: cmdline %d words, %d network variables of %d", len(sb.Target.Cmdline), len(sb.Target.Env), len(seen))
	}
	for _, s := range secretCorpus {
		for where, out := range outputs {
			if bytes.Contains(out, []byte(s.secret)) {
				t.Errorf("%s: secret %q in %s", s.name, s.secret, where)
			}
		}
	}
	t.Logf("%d secret shapes planted (%d in the environment), none printed in %d outputs", len(secretCorpus), len(seen), len(outputs))
}
