package process

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
)

func TestParseStatus(t *testing.T) {
	s, err := ParseStatus(bytes.NewReader(plugintest.Fixture(t, "status-root")))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "cat" || s.Uid != [4]int{0, 0, 0, 0} || s.Seccomp != 0 || s.NoNewPrivs != 0 || s.has&hasCaps == 0 {
		t.Errorf("status = %+v", s)
	}
	eff := CapNames(s.CapEff)
	if !slices.Contains(eff, "CAP_NET_RAW") || !slices.Contains(eff, "CAP_NET_ADMIN") || slices.Contains(eff, "CAP_SYS_RESOURCE") {
		t.Errorf("CapEff 000001fffeffffff decoded to %v", eff)
	}
	if len(eff) != 40 || eff[len(eff)-1] != "CAP_CHECKPOINT_RESTORE" {
		t.Errorf("%d caps, last %s", len(eff), eff[len(eff)-1])
	}
	if got := CapNames(1<<13 | 1<<45); !reflect.DeepEqual(got, []string{"CAP_NET_RAW", "CAP_45"}) {
		t.Errorf("CapNames = %v", got)
	}
}

func TestParseLimits(t *testing.T) {
	l, err := ParseLimits(bytes.NewReader(plugintest.Fixture(t, "limits")))
	if err != nil {
		t.Fatal(err)
	}
	if l["nofile"] != (Limit{"20000", "20000"}) || l["stack"] != (Limit{"8388608", "unlimited"}) || l["rttime"] != (Limit{"unlimited", "unlimited"}) {
		t.Errorf("limits = %v", l)
	}
	if len(l) != 16 {
		t.Errorf("%d limits, want 16", len(l))
	}
}

func TestLibcFromMaps(t *testing.T) {
	for file, want := range map[string]string{"maps-glibc": "glibc", "maps-musl": "musl", "maps-static": ""} {
		fl, ev, err := LibcFromMaps(bytes.NewReader(plugintest.Fixture(t, file)))
		if err != nil || fl != want {
			t.Errorf("%s: %q (%s), %v; want %q", file, fl, ev, err, want)
		}
	}
}

func TestParseEnvironAndRedact(t *testing.T) {
	env := ParseEnviron(plugintest.Fixture(t, "environ-planted"))
	got := map[string]string{}
	for _, kv := range env {
		if IsNetworkEnv(kv[0]) {
			got[kv[0]] = RedactEnv(kv[0], kv[1])
		}
	}
	want := map[string]string{
		"HTTP_PROXY":        "http://***@127.0.0.1:3128",
		"no_proxy":          "localhost,.svc",
		"LD_PRELOAD":        "/lib/libfake.so",
		"JAVA_TOOL_OPTIONS": "-Dhttp.proxyPassword=*** -Xmx1g",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("network env = %v\nwant %v", got, want)
	}
	if len(env) != 6 {
		t.Errorf("%d variables, want 6", len(env))
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://proxy:3128", "http://proxy:3128"},
		{"http://user:pw@proxy:3128/", "http://***@proxy:3128/"},
		{"http://user:p@ss@proxy:3128", "http://***@proxy:3128"},
		{"user:pw@proxy:3128", "***@proxy:3128"},
		{"socks5h://u@h:1080", "socks5h://***@h:1080"},
		{"http://h/path@x?token=abc&x=1", "http://h/path@x?token=***"},
		{"a,http://u:p@h,b", "a,http://***@h,b"},
		{"--password=hunter2", "--password=***"},
		{"Authorization: Bearer abc.def", "Authorization: Bearer ***"},
		{"password: hunter2", "password: ***"},
		{"-Xmx1g -Dfoo=bar", "-Xmx1g -Dfoo=bar"},
		{"?x=1&token=abc", "?x=1&token=***"},
		{"--password=&0000", "--password=***"},
		{"/usr/lib/libjemalloc.so", "/usr/lib/libjemalloc.so"},
	} {
		if got := RedactValue(tt.in); got != tt.want {
			t.Errorf("RedactValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if RedactEnv("PROXY_PASSWORD", "x") != Mask || RedactEnv("GRPC_AUTH_TOKEN", "x") != Mask {
		t.Error("secret-named variables must be masked whole")
	}
	for in, want := range map[string]string{
		"app --token abc --db=postgres://u:pw@db/x -p 8080":   "app --token *** --db=postgres://***@db/x -p 8080",
		"curl -u alice:hunter2 http://h/":                     "curl -u *** http://h/",
		"curl --proxy-user=alice:hunter2 --addr 0.0.0.0:8080": "curl --proxy-user=*** --addr 0.0.0.0:8080",
		"redis-cli -a hunter2 -h localhost:6379":              "redis-cli -a *** -h localhost:6379",
		"app alice:hunter2 /config":                           "app *** /config",
	} {
		if got := strings.Join(RedactArgs(strings.Fields(in)), " "); got != want {
			t.Errorf("RedactArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	plugintest.Seed(f, "status-root", "status-sleep")
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseStatus(bytes.NewReader(b)) })
}

func FuzzParseLimits(f *testing.F) {
	plugintest.Seed(f, "limits")
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseLimits(bytes.NewReader(b)) })
}

func FuzzLibcFromMaps(f *testing.F) {
	plugintest.Seed(f, "maps-glibc", "maps-musl", "maps-static")
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = LibcFromMaps(bytes.NewReader(b)) })
}

// FuzzRedactEnviron: whatever the environment, a password inside a proxy URL never survives.
func FuzzRedactEnviron(f *testing.F) {
	plugintest.Seed(f, "environ-planted")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kv := range ParseEnviron(b) {
			_ = RedactEnv(kv[0], kv[1])
		}
		secret := string(b)
		// Any byte but whitespace (a space ends a word, and no client takes one in a URL)
		// and NUL (it ends an environ entry); '/', '@', '?', '#', ':' and ',' are fuzzed.
		if len(secret) < 4 || strings.ContainsAny(secret, " \t\n\r\x00") || strings.Contains("http://user:@proxy:3128/", secret) ||
			strings.Contains(secret, Mask) || !utf8.ValidString(secret) {
			return
		}
		for _, v := range []string{"http://user:" + secret + "@proxy:3128/", "--password=" + secret} {
			if out := RedactValue(v); strings.Contains(out, secret) {
				t.Fatalf("RedactValue(%q) = %q keeps the secret", v, out)
			}
		}
		if strings.ContainsAny(secret, "/@?#:,") || isDigits(secret) {
			return // scheme-less user:password@host and the command-line forms need a plain word
		}
		if v := "user:" + secret + "@proxy:3128"; strings.Contains(RedactValue(v), secret) {
			t.Fatalf("RedactValue(%q) = %q keeps the secret", v, RedactValue(v))
		}
		for _, args := range [][]string{{"app", "-u", "user:" + secret}, {"app", "--password", secret}, {"app", "user:" + secret}, {"app", "--db=http://u:" + secret + "@h/"}} {
			if out := strings.Join(RedactArgs(args), " "); strings.Contains(out, secret) {
				t.Fatalf("RedactArgs(%q) = %q keeps the secret", args, out)
			}
		}
	})
}
