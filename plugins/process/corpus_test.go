package process

import (
	"bytes"
	"net"
	"net/http"
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

	// Issue 30, class 2: flags inside one shell string (Kubernetes' $(VAR) in command:).
	{name: "sh -c -pX", args: []string{"sh", "-c", "mysql -pshA01 -h db"}, secret: "shA01"},
	{name: "sh -c -p X", args: []string{"sh", "-c", "mysql -u root -p shB02 -h db"}, secret: "shB02"},
	{name: "sh -c -u user:pw", args: []string{"sh", "-c", "curl -s -u alice:shC03 http://h/"}, secret: "shC03"},
	{name: "sh -c sshpass", args: []string{"bash", "-c", "sshpass -p shD04 ssh u@h true"}, secret: "shD04"},
	{name: "sh -c quoted", args: []string{"sh", "-ec", `exec app --password "shE 05" --x`}, secret: "shE 05"},
	{name: "sh -c several commands", args: []string{"sh", "-c", "cd /app && redis-cli -a shF06 ping; echo ok"}, secret: "shF06"},
	{name: "sh -c assignment", args: []string{"sh", "-c", "PGPASSWORD=shG07 psql -h db"}, secret: "shG07"},
	{name: "su -c", args: []string{"su", "app", "-c", "app --token shH08"}, secret: "shH08"},
	{name: "unparsable shell", args: []string{"sh", "-c", "x ( -p shI09"}, secret: "shI09"},
	// Class 3: authorisation schemes, any spacing, any scheme, ':' or '='.
	{name: "Authorization:Bearer", args: []string{"-H", "Authorization:Bearer auA10"}, secret: "auA10"},
	{name: "Authorization: ApiKey", args: []string{"-H", "Authorization: ApiKey auB11"}, secret: "auB11"},
	{name: "Authorization=Bearer", args: []string{"--header", "Authorization=Bearer auC12"}, secret: "auC12"},
	{name: "custom scheme", args: []string{"-H", "authorization :  Custom-Scheme auD13"}, secret: "auD13"},
	{name: "grpc default headers", env: [2]string{"GRPC_DEFAULT_HEADERS", "authorization=Bearer auE14,x-trace=1"}, secret: "auE14"},
	{name: "proxy-authorization", env: [2]string{"GRPC_EXTRA", "Proxy-Authorization: Basic auF15=="}, secret: "auF15=="},
	{name: "x-api-key header", args: []string{"-H", "X-Api-Key: auG16"}, secret: "auG16"},
	// Class 4: key=value DSNs with spaces.
	{name: "libpq spaced", args: []string{"host=db password = dsA17 dbname=x"}, secret: "dsA17"},
	{name: "libpq quoted", args: []string{"host=db password='dsB 18' dbname=x"}, secret: "dsB 18"},
	{name: "ODBC braces", args: []string{"Driver={x};Server=db;PWD={dsC;19};"}, secret: "dsC;19"},
	{name: "JDBC", args: []string{"jdbc:mysql://db/x?user=u&password=dsD20"}, secret: "dsD20"},
	{name: "DSN env spaced", env: [2]string{"PYTHONDSN", "dbname=x user=u pwd= dsE21"}, secret: "dsE21"},
	// Class 9: shapes the corpus lacked.
	{name: "schemeless , in password", env: [2]string{"ftp_proxy", "u:p,shJ22@h:3128"}, secret: "shJ22"},
	{name: "--password '' X", args: []string{"--password", "", "shK23"}, secret: "shK23"},
	{name: "--jvm-opts=--token X", args: []string{"--jvm-opts=--token", "shL24"}, secret: "shL24"},
	{name: "--jvm-opts='--token X'", args: []string{"--jvm-opts=--token shM25"}, secret: "shM25"},
	{name: "sqlplus", args: []string{"sqlplus", "scott/shN26@orcl"}, secret: "shN26"},
	{name: "protocol-relative", args: []string{"//u:shO27@h/x"}, secret: "shO27"},
	{name: "Slack webhook", args: []string{"https://hooks.slack.com/services/T0000/B0000/shP28abcdefgh"}, secret: "shP28abcdefgh"},
	{name: "-P X", args: []string{"mosquitto_pub", "-P", "shQ29"}, secret: "shQ29"},
	{name: "Stripe", args: []string{"sk_live_shR30abcdefghijkl"}, secret: "sk_live_shR30abcdefghijkl"},
	{name: "npm", env: [2]string{"JDK_JAVA_OPTIONS", "--x npm_shS31abcdefghijklmnopqrstuv"}, secret: "npm_shS31abcdefghijklmnopqrstuv"},
	{name: "Slack app", args: []string{"xapp-1-shT32abcdefghij"}, secret: "xapp-1-shT32abcdefghij"},
	{name: "SendGrid", args: []string{"SG.shU33abcdefghijklmn.opqrstuvwxyz0123456789"}, secret: "SG.shU33abcdefghijklmn.opqrstuvwxyz0123456789"},
	{name: "PGP block", env: [2]string{"SSL_CERT_DIR", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nshV34pgp\n-----END PGP PRIVATE KEY BLOCK-----"}, secret: "shV34pgp"},
	{name: "base64 docker config", args: []string{"--config=eyJhdXRocyI6eyJyZWciOnsiYXV0aCI6ImRYTmxjanB3In19fQ=="}, secret: "eyJhdXRocyI6eyJyZWciOnsiYXV0aCI6ImRYTmxjanB3In19fQ"},
	{name: "base64 without eyJ", args: []string{"ICJwYXNzd29yZCI6ICJzZWNyZXQiIA=="}, secret: "ICJwYXNzd29yZCI6ICJzZWNyZXQiIA"},
}

func TestSecretCorpusIsRedacted(t *testing.T) {
	if len(secretCorpus) < 80 {
		t.Fatalf("corpus of %d shapes, want at least 80", len(secretCorpus))
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
		"mysql -P 3306 -h db":                             "mysql -P 3306 -h db",
		"nginx -g daemon_off;":                            "nginx -g daemon_off;",
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

	// The user's own --target with userinfo and a token, and a redirect whose Location
	// carries a signed URL: the request is made, neither is echoed.
	var ln net.Listener
	if err := b.Do(func() (err error) { ln, err = net.Listen("tcp", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://u:locPw40@elsewhere.example/o?X-Amz-Signature=locSig41&token=locTok42", http.StatusFound)
		}))
	}()
	tgt := "http://alice:tgtPw43@" + ln.Addr().String() + "/x?access_token=tgtTok44"
	extra := []string{"locPw40", "locSig41", "locTok42", "tgtPw43", "tgtTok44"}
	ra := a.Collect("--pid", strconv.Itoa(pa), "--target", tgt)
	raw, errOut, rb := b.CollectOutput("--pid", strconv.Itoa(pb), "--target", tgt)
	// A build without the http plugin (hack/without-plugins.sh http) has no section to
	// hold the redirect; with it, the redirect must be there to be checked.
	if sec, ok := rb.Sections["http"]; ok && !bytes.Contains(sec, []byte(`"location"`)) {
		t.Fatalf("the redirect is not in the report: %.2000s", sec)
	}
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
	for _, s := range append(secretCorpus, func() (x []secretShape) {
		for _, e := range extra {
			x = append(x, secretShape{name: "target or redirect", secret: e})
		}
		return x
	}()...) {
		for where, out := range outputs {
			if bytes.Contains(out, []byte(s.secret)) {
				t.Errorf("%s: secret %q in %s", s.name, s.secret, where)
			}
		}
	}
	// Nothing raw that a terminal would hide or act on, in any output.
	for where, out := range outputs {
		if strings.HasPrefix(where, "-o ") && bytes.ContainsFunc(out, func(r rune) bool {
			return r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x200b || r == 0xfeff || r == 0x202e)
		}) {
			t.Errorf("a raw control or invisible rune in %s", where)
		}
	}
	t.Logf("%d secret shapes planted (%d in the environment), none printed in %d outputs", len(secretCorpus), len(seen), len(outputs))
}
