// Package redact masks credentials in strings a pod hands to netdiff: command lines,
// environment values, annotations, URLs (docs/security.md lists every class).
package redact

import (
	"encoding/base64"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Mask replaces anything that could be a credential. The report is attached to tickets
// and pasted into chats: when in doubt, a value is masked.
const Mask = "***"

// MaxValue bounds an environment value or argument in the report.
const MaxValue = 512

var (
	// secretName matches names (of variables, flags, options, query parameters) whose value
	// could be a credential.
	secretName = regexp.MustCompile(`(?i)(pass|pwd|(^|[^a-z])pw([^a-z]|$)|token|secret|key|auth|credential|cred|cookie|session|private|signature|\bsig\b|bearer|apikey|access)`)

	// secretWord is a word after which the next word is the secret: netrc's
	// "password X", "--secret X" inside an option string.
	secretWord = regexp.MustCompile(`(?i)^(-{0,2})(password|passwd|pass|pw|secret|token|apikey|api-key)$`)

	// tokenShapes are credentials recognisable by their shape whatever they are called:
	// JWTs and any base64 JSON object (a docker config, a service-account key), GitHub,
	// GitLab, Slack (tokens, app tokens, webhook URLs), Discord webhooks, AWS, Google,
	// Stripe, npm, SendGrid, Hugging Face, PyPI, DigitalOcean, Shopify keys, PEM and PGP
	// private-key blocks.
	tokenShapes = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*` +
		`|\bey[IJ][A-Za-z0-9+/_-]{16,}={0,2}` +
		`|\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\bglpat-[A-Za-z0-9_-]{20,}` +
		`|\bxox[abposre]-[A-Za-z0-9-]{10,}|\bxapp-[A-Za-z0-9-]{10,}|hooks\.slack\.com/(services|workflows|triggers)/[A-Za-z0-9/_-]+` +
		`|discord(app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]+` +
		`|\b(AKIA|ASIA)[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{35}|\bya29\.[A-Za-z0-9_-]{20,}` +
		`|\b[sr]k_(live|test)_[A-Za-z0-9]{10,}|\bnpm_[A-Za-z0-9]{20,}|\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}` +
		`|\bhf_[A-Za-z0-9]{20,}|\bpypi-[A-Za-z0-9_-]{40,}|\bdop_v1_[a-f0-9]{40,}|\bshp(at|ss|ca|pa)_[a-fA-F0-9]{20,}` +
		`|-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|$)`)

	// namedPair is "name = value" or "name: value" with any spacing (libpq's
	// "password = x", "Authorization:Bearer x"), where name is a word that does not
	// continue a host name or a path. The value is a quoted string, a {braced} ODBC
	// value, or a word; for a name about authorisation it is the rest of the value up to
	// a separator, whatever scheme word it starts with.
	namedPair = regexp.MustCompile(`(^|[\s;,&?{("'])([A-Za-z0-9_.\-]+)([ \t]*[=:][ \t]*)(\{[^}]*\}|'[^']*'|"(?:[^"\\]|\\.)*"|[^\s,;&'"]+)`)

	// authName names a header or option whose value is "scheme credentials".
	authName = regexp.MustCompile(`(?i)auth|api-?key|token|bearer`)

	// jsonSecret is a "name": "value" pair inside a JSON value whose name suggests a secret.
	jsonSecret = regexp.MustCompile(`"([^"]{1,64})"\s*:\s*"((?:[^"\\]|\\.)*)"`)

	// keyValue is a "name=value" or "name:value" pair inside a token
	// (-Dhttp.proxyPassword=x, ?token=x, password:x); the value runs to the token's end
	// and is searched again for pairs.
	keyValue = regexp.MustCompile(`([A-Za-z0-9_.\-]+)([=:])([^ \t\n,]*)`)
)

// Env returns the value to print for an environment variable: masked entirely when
// the name suggests a secret, else with every credential inside it masked.
func Env(name, value string) string {
	if secretName.MatchString(name) {
		return Mask
	}
	return Value(value)
}

// Value masks credentials inside a free-form value: token shapes, the user:password
// part of URLs (with or without a scheme, also protocol-relative //u:p@h), name=value
// and "name = value" pairs whose name suggests a secret (the whole "scheme credentials"
// after an authorisation name), JSON pairs, the word after "Bearer", "password:" and the
// like, and, when the value holds words (a shell string, JAVA_OPTS), each word as a
// command-line argument (Args). Long values are cut.
func Value(v string) string { return value(v, 0) }

// maxDepth bounds how often a value is split into words again (a shell string inside an
// option inside a shell string).
const maxDepth = 3

func value(v string, depth int) string {
	// The whole string first (a pair's value may hold blanks), then its words.
	v = tokenShapes.ReplaceAllString(v, Mask)
	v = maskURLUserinfo(v)
	v = maskSchemelessUserinfo(v)
	v = jsonSecret.ReplaceAllStringFunc(v, func(m string) string {
		sub := jsonSecret.FindStringSubmatch(m)
		if !secretName.MatchString(sub[1]) || sub[2] == "" {
			return m
		}
		return `"` + sub[1] + `":"` + Mask + `"`
	})
	v = maskNamedPairs(v)
	if depth < maxDepth && strings.ContainsAny(v, " \t\n") {
		v = redactWords(v, depth+1)
	}
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
			// "Bearer x", "password: x", "password x", "--secret x", "--opts=--token x":
			// the secret is the next word.
			last := t
			if k := strings.LastIndexByte(t, '='); k >= 0 && k+1 < len(t) && t[k+1] == '-' {
				last = t[k+1:]
			}
			if r == t && (bearer.MatchString(last) || secretWord.MatchString(last) ||
				(strings.HasSuffix(last, ":") || strings.HasSuffix(last, "=") || strings.HasPrefix(last, "-") && !strings.ContainsAny(last, "=:")) && secretName.MatchString(last)) {
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
	if len(out) > MaxValue {
		out = out[:MaxValue] + "…(truncated)"
	}
	return out
}

// maskNamedPairs masks the value of every "name = value" pair whose name suggests a
// secret: a word (or a quoted or braced string), or for an authorisation name
// everything up to the next separator.
func maskNamedPairs(v string) string {
	var b strings.Builder
	last := 0
	for _, m := range namedPair.FindAllStringSubmatchIndex(v, -1) {
		name := v[m[4]:m[5]]
		val := v[m[8]:m[9]]
		if !secretName.MatchString(name) || val == Mask || strings.HasPrefix(val, "//") {
			continue
		}
		end := m[9]
		if authName.MatchString(name) {
			// "Authorization: ApiKey x": the scheme and the credential, to a separator.
			if k := strings.IndexAny(v[end:], "\n,;&\"'"); k >= 0 {
				end += k
			} else {
				end = len(v)
			}
			end = m[8] + len(strings.TrimRight(v[m[8]:end], " \t"))
			// A known scheme word stays readable: "Authorization: Bearer ***". Alone, it
			// is not the secret (the word after it is, and is masked on its own).
			if sch, rest, ok := strings.Cut(v[m[8]:end], " "); ok && bearer.MatchString(sch) && strings.TrimSpace(rest) != "" {
				m[8] += len(sch) + 1 + len(rest) - len(strings.TrimLeft(rest, " \t"))
			} else if bearer.MatchString(v[m[8]:end]) {
				continue
			}
		}
		b.WriteString(v[last:m[8]])
		b.WriteString(Mask)
		last = end
	}
	if last == 0 {
		return v
	}
	b.WriteString(v[last:])
	return b.String()
}

// bearer: auth scheme words after which the credential follows.
var bearer = regexp.MustCompile(`(?i)^(bearer|basic|digest|token|apikey|api-key|negotiate|ntlm|ssws|hoba|mutual|key|splunk|aws4-hmac-sha256)$`)

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
	// Oracle's user/password@service (sqlplus scott/tiger@orcl), not an image digest.
	if m := userSlashPass.FindStringSubmatch(tok); m != nil && !strings.HasPrefix(m[3], "sha") {
		return m[1] + "/" + Mask + "@" + m[3]
	}
	if encodedSecret(tok) {
		return Mask
	}
	return redactPairs(tok)
}

// userSlashPass is Oracle's connect string user/password@service.
var userSlashPass = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_$#]*)/([^/@\s]+)@(\S+)$`)

// base64ish is a token that may be base64 (standard or URL alphabet) of something.
var base64ish = regexp.MustCompile(`^[A-Za-z0-9+/_-]{16,}={0,2}$`)

// encodedSecret reports whether tok is base64 of text that names a credential (a
// docker config's "auths", a netrc, "password=…"): the encoding hides the name.
func encodedSecret(tok string) bool {
	if !base64ish.MatchString(tok) {
		return false
	}
	t := strings.TrimRight(tok, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil && secretName.Match(b) {
			return true
		}
	}
	return false
}

// maskURLUserinfo masks the userinfo of every scheme://…@ URL in v, up to the last '@'
// before the next whitespace, before v is split into words: a password may hold ',', '/',
// '?', '#', ':' or '@' (invalid in a URL, accepted by clients), and a split there would
// leave part of it.
func maskURLUserinfo(v string) string {
	var b strings.Builder
	for {
		i := strings.Index(v, "//")
		if i < 0 {
			break
		}
		// scheme://, or a protocol-relative //user:pw@host at the start of a word.
		if i > 0 && v[i-1] != ':' && !strings.ContainsRune(" \t\n=\"'(,;", rune(v[i-1])) {
			b.WriteString(v[:i+2])
			v = v[i+2:]
			continue
		}
		start := i + 2
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

// maskSchemelessUserinfo masks user:password@host in every word without a scheme
// (https_proxy=u:p,w@h:3128): everything before the word's last '@', when it looks like
// user:password and what follows looks like a host.
func maskSchemelessUserinfo(v string) string {
	var b strings.Builder
	start := 0
	changed := false
	for i := 0; i <= len(v); i++ {
		if i < len(v) && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' {
			continue
		}
		w := v[start:i]
		if at := strings.LastIndexByte(w, '@'); at > 0 && !strings.Contains(w, "//") && hostLike.MatchString(w[at+1:]) {
			pre := w[:at]
			name := ""
			if k := strings.IndexByte(pre, '='); k >= 0 && k < strings.IndexByte(pre+":", ':') {
				name, pre = pre[:k+1], pre[k+1:]
			}
			if looksLikeUserinfo(pre) && pre != Mask && !strings.HasPrefix(pre, Mask) {
				w = name + Mask + w[at:]
				changed = true
			}
		}
		b.WriteString(w)
		if i < len(v) {
			b.WriteByte(v[i])
		}
		start = i + 1
	}
	if !changed {
		return v
	}
	return b.String()
}

// hostLike is what follows a userinfo's '@': a host, maybe a port and a path.
var hostLike = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+(/\S*)?$`)

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
// say so: curl -u user:pw, redis-cli -a pw, mysql -p pw, mosquitto_pub -P pw.
var credentialFlags = map[string]bool{"-u": true, "--user": true, "--proxy-user": true, "-U": true, "-a": true, "-p": true, "-P": true, "-k": true}

// notACredential: what follows a credential flag that is certainly something else
// (-p 8080 is a port, -k https://… is curl's insecure flag before a URL).
func notACredential(flag, next string) bool {
	return (flag == "-p" || flag == "-P") && isDigits(next) || flag == "-k" && (strings.HasPrefix(next, "-") || strings.Contains(next, "://"))
}

// attachedPassword: "-psecret" (mysql's password flag with the value attached), not
// "-p8080".
var attachedPassword = regexp.MustCompile(`^-p(.+)$`)

// userPass matches "user:password" (not "host:port", not a path or URL, not a header
// "Name: value", whose value redactValue has seen).
var userPass = regexp.MustCompile(`^[^/:@ \t\n]+:([^/@ \t\n][^/@]*)$`)

// Args masks credentials in a command line: inside each argument as Value does
// (an argument holding words, such as the script of sh -c "…" or --jvm-opts="…", is
// split with a shell word splitter and each word redacted as an argument), the argument
// after a flag that carries a credential ("--password x", "--password ” x", "-u u:pw",
// "--opts=--token x"), and anything shaped like user:password.
func Args(args []string) []string { return argsDepth(args, 0) }

func argsDepth(args []string, depth int) []string {
	out := make([]string, len(args))
	maskNext, flag := false, ""
	for i, a := range args {
		// A --name=value whose value is itself a flag ("--jvm-opts=--token") is that flag.
		f := a
		if k := strings.IndexByte(a, '='); k > 0 && strings.HasPrefix(a, "-") && strings.HasPrefix(a[k+1:], "-") {
			f = a[k+1:]
		}
		switch {
		case maskNext && (a == "--" || a == ""):
			out[i] = a // "--password -- X", "--password '' X": the secret may come next
		case maskNext && notACredential(flag, a):
			out[i] = maskUserPass(value(a, depth))
			maskNext = false
		case maskNext:
			out[i] = Mask
			maskNext = false
		case attachedPassword.MatchString(a) && !isDigits(a[2:]) && !strings.HasPrefix(a, "--"):
			out[i] = "-p" + Mask
		case strings.HasPrefix(f, "-") && !strings.ContainsAny(f, "=:") && (secretName.MatchString(f) || credentialFlags[f]) && !strings.ContainsAny(f, " \t\n"):
			out[i] = a
			maskNext, flag = true, f
		default:
			out[i] = maskUserPass(value(a, depth))
		}
	}
	return out
}

// redactWords splits s into shell words (mvdan.cc/sh's parser: quotes, escapes,
// several commands, assignments), redacts each command's words as a command line
// (Args) and writes every changed word back in place, single-quoted. A string the
// parser refuses is split at blanks instead.
func redactWords(s string, depth int) string {
	type word struct {
		start, end int
		value      string
		quoted     bool
	}
	var cmds [][]word
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(s), "")
	if err == nil {
		syntax.Walk(f, func(n syntax.Node) bool {
			call, ok := n.(*syntax.CallExpr)
			if !ok {
				return true
			}
			var ws []word
			for _, as := range call.Assigns {
				if as.Name != nil && as.Value != nil {
					ws = append(ws, word{int(as.Pos().Offset()), int(as.Value.End().Offset()), as.Name.Value + "=" + wordValue(s, as.Value), len(as.Value.Parts) != 1 || !isLit(as.Value.Parts[0])})
				}
			}
			for _, w := range call.Args {
				ws = append(ws, word{int(w.Pos().Offset()), int(w.End().Offset()), wordValue(s, w), len(w.Parts) != 1 || !isLit(w.Parts[0])})
			}
			cmds = append(cmds, ws)
			return true
		})
	} else {
		var ws []word
		for i := 0; i < len(s); {
			for i < len(s) && strings.ContainsRune(" \t\n", rune(s[i])) {
				i++
			}
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n", rune(s[j])) {
				j++
			}
			if j > i {
				ws = append(ws, word{i, j, s[i:j], false})
			}
			i = j
		}
		cmds = append(cmds, ws)
	}
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	for _, ws := range cmds {
		vals := make([]string, len(ws))
		for i, w := range ws {
			vals[i] = w.value
		}
		red := argsDepth(vals, depth)
		for i, w := range ws {
			if red[i] == w.value || w.start < 0 || w.end > len(s) || w.start >= w.end {
				continue
			}
			t := red[i]
			if w.quoted || strings.ContainsAny(t, " \t\n'\"\\$`") {
				t = "'" + strings.ReplaceAll(t, "'", `'\''`) + "'"
			}
			edits = append(edits, edit{w.start, w.end, t})
		}
	}
	if len(edits) == 0 {
		return s
	}
	// Apply from the end, skipping overlaps (a command substitution inside a word).
	var b strings.Builder
	last := len(s)
	out := make([]string, 0, 2*len(edits)+1)
	for k := len(edits) - 1; k >= 0; k-- {
		e := edits[k]
		if e.end > last {
			continue
		}
		out = append(out, s[e.end:last], e.text)
		last = e.start
	}
	b.WriteString(s[:last])
	for k := len(out) - 1; k >= 0; k-- {
		b.WriteString(out[k])
	}
	return b.String()
}

func isLit(p syntax.WordPart) bool { _, ok := p.(*syntax.Lit); return ok }

// wordValue is the text a shell word stands for: literals and quoted strings
// unquoted; expansions ($VAR, $(…)) as they are written.
func wordValue(src string, w *syntax.Word) string {
	var b strings.Builder
	var part func(p syntax.WordPart)
	part = func(p syntax.WordPart) {
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(x.Value)
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			for _, q := range x.Parts {
				part(q)
			}
		default:
			if s, e := int(p.Pos().Offset()), int(p.End().Offset()); s >= 0 && e <= len(src) && s <= e {
				b.WriteString(src[s:e])
			}
		}
	}
	for _, p := range w.Parts {
		part(p)
	}
	return b.String()
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
