package process

import (
	"regexp"
	"strings"
)

// Mask replaces anything that could be a credential. The report is attached to tickets
// and pasted into chats: when in doubt, a value is masked.
const Mask = "***"

// maxValue bounds an environment value or argument in the report.
const maxValue = 512

var (
	// networkEnv picks the environment variables that change how a process connects,
	// resolves or verifies: proxies, preloads, runtime network knobs, CA bundles.
	networkEnv = regexp.MustCompile(`(?i)^(` +
		`(http|https|ftp|all|no|socks|socks5|grpc|ws|wss|rsync)_proxy` +
		`|LD_[A-Z_]+|GODEBUG|GOMAXPROCS|GOPROXY|GONOPROXY|GOPRIVATE|GOFLAGS|GOINSECURE` +
		`|RES_OPTIONS|LOCALDOMAIN|HOSTALIASES|RESOLV_[A-Z_]+|NSS_[A-Z_]+` +
		`|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|NODE_EXTRA_CA_CERTS|OPENSSL_CONF` +
		`|NODE_OPTIONS|NODE_TLS_REJECT_UNAUTHORIZED|UV_THREADPOOL_SIZE` +
		`|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|JAVA_OPTS` +
		`|PYTHON[A-Z0-9_]*|AIOHTTP_[A-Z_]+|GRPC_[A-Z_]+|DOTNET_SYSTEM_NET_[A-Z_]+` +
		`|NETRC|GAI_CONF` +
		`)$`)

	// secretName matches names (of variables, flags, options, query parameters) whose value
	// could be a credential.
	secretName = regexp.MustCompile(`(?i)(pass|pwd|(^|[^a-z])pw([^a-z]|$)|token|secret|key|auth|credential|cred|cookie|session|private|signature|\bsig\b|bearer|apikey|access)`)

	// secretWord is a word after which the next word is the secret: netrc's
	// "password X", "--secret X" inside an option string.
	secretWord = regexp.MustCompile(`(?i)^(-{0,2})(password|passwd|pass|pw|secret|token|apikey|api-key)$`)

	// tokenShapes are credentials recognisable by their shape whatever they are called:
	// JWTs, GitHub, GitLab, Slack, AWS and Google keys, PEM blocks.
	tokenShapes = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*` +
		`|\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\bglpat-[A-Za-z0-9_-]{20,}` +
		`|\bxox[abposr]-[A-Za-z0-9-]{10,}|\b(AKIA|ASIA)[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{35}` +
		`|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)`)

	// jsonSecret is a "name": "value" pair inside a JSON value whose name suggests a secret.
	jsonSecret = regexp.MustCompile(`"([^"]{1,64})"\s*:\s*"((?:[^"\\]|\\.)*)"`)

	// keyValue is a "name=value" or "name:value" pair inside a token
	// (-Dhttp.proxyPassword=x, ?token=x, password:x); the value runs to the token's end
	// and is searched again for pairs.
	keyValue = regexp.MustCompile(`([A-Za-z0-9_.\-]+)([=:])([^ \t\n,]*)`)
)

// IsNetworkEnv reports whether an environment variable is one this plugin reports.
func IsNetworkEnv(name string) bool { return networkEnv.MatchString(name) }

// RedactEnv returns the value to print for an environment variable: masked entirely when
// the name suggests a secret, else with every credential inside it masked.
func RedactEnv(name, value string) string {
	if secretName.MatchString(name) {
		return Mask
	}
	return RedactValue(value)
}

// RedactValue masks credentials inside a free-form value: the user:password part of URLs
// (with or without a scheme), the value of any name=value pair whose name suggests a
// secret, and the word after "Bearer", "password:" and the like. Long values are cut.
func RedactValue(v string) string {
	v = maskURLUserinfo(tokenShapes.ReplaceAllString(v, Mask))
	v = jsonSecret.ReplaceAllStringFunc(v, func(m string) string {
		sub := jsonSecret.FindStringSubmatch(m)
		if !secretName.MatchString(sub[1]) || sub[2] == "" {
			return m
		}
		return `"` + sub[1] + `":"` + Mask + `"`
	})
	var b strings.Builder
	maskNext := false
	tok := 0
	flush := func(end int) {
		t := v[tok:end]
		switch {
		case t == "":
		case maskNext && bearer.MatchString(t):
			b.WriteString(t) // "Authorization: Bearer x": the secret is after the scheme word
		case maskNext:
			b.WriteString(Mask)
			maskNext = false
		default:
			r := redactToken(t)
			b.WriteString(r)
			// "Bearer x", "password: x", "password x", "--secret x": the secret is the next word.
			if r == t && (bearer.MatchString(t) || secretWord.MatchString(t) ||
				(strings.HasSuffix(t, ":") || strings.HasSuffix(t, "=") || strings.HasPrefix(t, "-") && !strings.ContainsAny(t, "=:")) && secretName.MatchString(t)) {
				maskNext = true
			}
		}
	}
	for i, r := range v {
		if r == ' ' || r == '\t' || r == ',' || r == '\n' {
			flush(i)
			b.WriteRune(r)
			tok = i + 1
		}
	}
	flush(len(v))
	out := b.String()
	if len(out) > maxValue {
		out = out[:maxValue] + "…(truncated)"
	}
	return out
}

var bearer = regexp.MustCompile(`(?i)^(bearer|basic|digest|token)$`)

func redactToken(tok string) string {
	// userinfo: everything between the scheme (if any) and the last '@' before the path,
	// or before the last '@' at all when the part before it starts like user:password (a
	// password may hold '/', '?' or '#': when in doubt, mask).
	start := 0
	if i := strings.Index(tok, "://"); i >= 0 {
		start = i + 3
	}
	at := strings.LastIndex(beforePath(tok), "@")
	if last := strings.LastIndex(tok, "@"); last > at && last > start && looksLikeUserinfo(tok[start:last]) {
		at = last
	}
	// Without a scheme only user:password@ is userinfo ("--password=@x" is a pair).
	if at >= 0 && start == 0 && !looksLikeUserinfo(tok[:at]) {
		at = -1
	}
	if at >= start && at >= 0 {
		tok = tok[:start] + Mask + tok[at:]
	}
	return redactPairs(tok)
}

// maskURLUserinfo masks the userinfo of every scheme://…@ URL in v, up to the last '@'
// before the next whitespace, before v is split into words: a password may hold ',', '/',
// '?', '#', ':' or '@' (invalid in a URL, accepted by clients), and a split there would
// leave part of it.
func maskURLUserinfo(v string) string {
	var b strings.Builder
	for {
		i := strings.Index(v, "://")
		if i < 0 {
			break
		}
		start := i + 3
		end := start + strings.IndexAny(v[start:]+" ", " \t\n")
		at := strings.LastIndex(v[start:end], "@")
		if at > 0 && v[start:start+at] != Mask && (looksLikeUserinfo(v[start:start+at]) || !strings.ContainsAny(v[start:start+at], "/?#")) {
			b.WriteString(v[:start] + Mask)
			v = v[start+at:]
			continue
		}
		b.WriteString(v[:start])
		v = v[start:]
	}
	return b.String() + v
}

// looksLikeUserinfo: "user:secret…" (anything after the colon), not a path.
func looksLikeUserinfo(s string) bool {
	user, _, ok := strings.Cut(s, ":")
	return ok && user != "" && !strings.ContainsAny(user, "/?#@=")
}

func redactPairs(s string) string {
	return keyValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := keyValue.FindStringSubmatch(m)
		// "http://h/p?token=x" matches as name "http", ":", value "//h/p?token=x": not a
		// pair, but pairs may follow in the rest.
		if rest, ok := strings.CutPrefix(sub[3], "//"); ok {
			return sub[1] + sub[2] + "//" + redactPairs(rest)
		}
		if sub[3] == "" || sub[3] == Mask {
			return m
		}
		// A secret's value runs to the end of the token: "&" or ";" may be part of it.
		if secretName.MatchString(sub[1]) {
			return sub[1] + sub[2] + Mask
		}
		return sub[1] + sub[2] + redactPairs(sub[3])
	})
}

// beforePath is the part of a URL-like token before its path, query or fragment, where a
// userinfo '@' can be.
func beforePath(tok string) string {
	rest := tok
	if i := strings.Index(tok, "://"); i >= 0 {
		rest = tok[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			return tok[:i+3+j]
		}
		return tok
	}
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		return tok[:j]
	}
	return tok
}

// credentialFlags take a credential as their next argument although their name does not
// say so: curl -u user:pw, redis-cli -a pw.
var credentialFlags = map[string]bool{"-u": true, "--user": true, "--proxy-user": true, "-U": true, "-a": true, "-p": true, "-k": true}

// notACredential: what follows a credential flag that is certainly something else
// (-p 8080 is a port, -k https://… is curl's insecure flag before a URL).
func notACredential(flag, next string) bool {
	return flag == "-p" && isDigits(next) || flag == "-k" && (strings.HasPrefix(next, "-") || strings.Contains(next, "://"))
}

// attachedPassword: "-psecret" (mysql's password flag with the value attached), not
// "-p8080".
var attachedPassword = regexp.MustCompile(`^-p(.+)$`)

// userPass matches "user:password" (not "host:port", not a path or URL).
var userPass = regexp.MustCompile(`^[^/:@]+:([^/@]+)$`)

// RedactArgs masks credentials in a command line: inside each argument as RedactValue
// does, the argument after a flag that carries a credential ("--password x", "-u u:pw"),
// and anything shaped like user:password.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	maskNext, flag := false, ""
	for i, a := range args {
		switch {
		case maskNext && a == "--":
			out[i] = a // "--password -- X": the secret is after the end of options
		case maskNext && notACredential(flag, a):
			out[i] = maskUserPass(RedactValue(a))
			maskNext = false
		case maskNext:
			out[i] = Mask
			maskNext = false
		case attachedPassword.MatchString(a) && !isDigits(a[2:]) && !strings.HasPrefix(a, "--"):
			out[i] = "-p" + Mask
		case strings.HasPrefix(a, "-") && !strings.ContainsAny(a, "=:") && (secretName.MatchString(a) || credentialFlags[a]):
			out[i] = a
			maskNext, flag = true, a
		default:
			out[i] = maskUserPass(RedactValue(a))
		}
	}
	return out
}

// maskUserPass masks an argument (or a --flag=value's value) shaped like user:password.
func maskUserPass(a string) string {
	prefix, v := "", a
	if strings.HasPrefix(a, "-") {
		if k, val, ok := strings.Cut(a, "="); ok {
			prefix, v = k+"=", val
		}
	}
	m := userPass.FindStringSubmatch(v)
	if m == nil || isDigits(m[1]) || m[1] == Mask {
		return a
	}
	return prefix + Mask
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
