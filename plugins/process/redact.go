package process

import (
	"regexp"

	"github.com/netdiff/kubectl-netdiff/pkg/redact"
)

// The redactor itself is pkg/redact, shared with the pod facts (annotations), the http
// probe (redirect targets) and the targets netdiff echoes (docs/security.md).

// Mask replaces anything that could be a credential.
const Mask = redact.Mask

// networkEnv picks the environment variables that change how a process connects,
// resolves or verifies: proxies, preloads, runtime network knobs, CA bundles.
var networkEnv = regexp.MustCompile(`(?i)^(` +
	`(http|https|ftp|all|no|socks|socks5|grpc|ws|wss|rsync)_proxy` +
	`|LD_[A-Z_]+|GODEBUG|GOMAXPROCS|GOPROXY|GONOPROXY|GOPRIVATE|GOFLAGS|GOINSECURE` +
	`|RES_OPTIONS|LOCALDOMAIN|HOSTALIASES|RESOLV_[A-Z_]+|NSS_[A-Z_]+` +
	`|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|NODE_EXTRA_CA_CERTS|OPENSSL_CONF` +
	`|NODE_OPTIONS|NODE_TLS_REJECT_UNAUTHORIZED|UV_THREADPOOL_SIZE` +
	`|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|JAVA_OPTS` +
	`|PYTHON[A-Z0-9_]*|AIOHTTP_[A-Z_]+|GRPC_[A-Z_]+|DOTNET_SYSTEM_NET_[A-Z_]+` +
	`|NETRC|GAI_CONF` +
	`)$`)

// IsNetworkEnv reports whether an environment variable is one this plugin reports.
func IsNetworkEnv(name string) bool { return networkEnv.MatchString(name) }

// RedactEnv is redact.Env: the value to print for an environment variable.
func RedactEnv(name, value string) string { return redact.Env(name, value) }

// RedactValue is redact.Value: credentials inside a free-form value masked.
func RedactValue(v string) string { return redact.Value(v) }

// RedactArgs is redact.Args: credentials in a command line masked.
func RedactArgs(args []string) []string { return redact.Args(args) }

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
