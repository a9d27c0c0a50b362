package netpol

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Felix (Calico's policy agent, iptables mode) programs each policy as two chains,
// cali-pi-<id> (ingress) and cali-po-<id> (egress), and each profile (Calico's per
// namespace and per service account defaults) as cali-pri-/cali-pro-<id>, where <id> is
// the policy's identity, or a hash of it when the chain name would be longer than
// iptables allows. What follows is Felix's naming as in the calico module netdiff's
// local cluster pins (felix/rules/policy.go PolicyChainName, felix/hashutils
// GetLengthLimitedID, libcalico-go's TierFromPolicyName and its v3 to v1 policy keys),
// checked against the chains Felix made on that cluster (testdata/felix-iptables-save.txt).
const (
	felixMaxChainName = 28 // felix/iptables MaxChainNameLength
	felixShortened    = "_"
	// FelixIngressPrefix and the others are Felix's chain name prefixes.
	FelixIngressPrefix        = "cali-pi-"
	FelixEgressPrefix         = "cali-po-"
	FelixProfileIngressPrefix = "cali-pri-"
	FelixProfileEgressPrefix  = "cali-pro-"
	// knpPrefix: a Kubernetes NetworkPolicy is a Calico policy of this name to Felix.
	knpPrefix = "knp.default."
)

// FelixID is the identity Felix hashes for a policy: its tier, "/", and its v1 name
// (namespace/name for namespaced policies, a Kubernetes NetworkPolicy named
// knp.default.<name>; the name alone for a GlobalNetworkPolicy). ok=false for a kind
// Felix does not program as a policy chain.
func FelixID(r Ref) (string, bool) {
	switch r.Kind {
	case "NetworkPolicy":
		return "default/" + r.Namespace + "/" + knpPrefix + r.Name, r.Namespace != ""
	case "Calico NetworkPolicy":
		return felixTier(r.Name) + "/" + r.Namespace + "/" + r.Name, r.Namespace != ""
	case "Calico GlobalNetworkPolicy":
		return felixTier(r.Name) + "/" + r.Name, true
	}
	return "", false
}

// felixTier is libcalico-go's TierFromPolicyName for Calico's own policies: the word
// before the first dot, "default" for a name without one.
func felixTier(name string) string {
	if t, _, ok := strings.Cut(name, "."); ok {
		return t
	}
	return "default"
}

// FelixChain is the name of the chain Felix programs policy r as for direction d
// ("" for a kind it does not program).
func FelixChain(r Ref, d Direction) string {
	id, ok := FelixID(r)
	if !ok {
		return ""
	}
	prefix := FelixEgressPrefix
	if d == Ingress {
		prefix = FelixIngressPrefix
	}
	return LengthLimitedID(prefix, id, felixMaxChainName)
}

// LengthLimitedID is Felix's hashutils.GetLengthLimitedID: prefix+suffix, or, where that
// is longer than max (or exactly max and the suffix starts with the mark of a shortened
// name), prefix, "_" and the start of the URL-safe base64 of the suffix's SHA-256.
func LengthLimitedID(prefix, suffix string, max int) string {
	n := len(prefix) + len(suffix)
	if n > max || n == max && strings.HasPrefix(suffix, felixShortened) {
		sum := sha256.Sum256([]byte(suffix))
		h := base64.RawURLEncoding.EncodeToString(sum[:])
		return prefix + felixShortened + h[:max-1-len(prefix)]
	}
	return prefix + suffix
}
