#!/usr/bin/env bash
# Smoke test of the CoreDNS binary without Kubernetes: builds it (or takes the cached
# one), runs it in a private network namespace that has only loopback, with a Corefile
# that answers from the hosts plugin, and resolves names over UDP and TCP and reads
# /health and /ready with dnsq. Needs root (ip netns). Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/sbin:/sbin
bin=$("$here/../build-coredns.sh" | tail -n1)/coredns
ns=ndcd-smoke-$$
tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "coredns smoke: $*" >&2; echo "--- coredns log:" >&2; cat "$tmp/log" >&2; exit 1; }

cat > "$tmp/Corefile" <<'COREFILE'
.:1053 {
    errors
    log
    health :8080
    ready :8181
    hosts {
        10.1.2.3 web.example.test
        10.1.2.4 db.example.test
    }
    cache 30
    loop
    reload
}
COREFILE
(cd "$here" && go build -o "$tmp/dnsq" ./dnsq)
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
# ip netns exec execs coredns, so $! is coredns's PID.
ip netns exec "$ns" "$bin" -conf "$tmp/Corefile" > "$tmp/log" 2>&1 &
pid=$!
q() { ip netns exec "$ns" "$tmp/dnsq" -server 127.0.0.1:1053 "$@"; }
for _ in $(seq 50); do
  q -get http://127.0.0.1:8181/ready > /dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "coredns exited"
  sleep 0.2
done
"$bin" -version
q -get http://127.0.0.1:8080/health -get http://127.0.0.1:8181/ready web.example.test db.example.test || fail "lookups failed"
# No forward in this Corefile (nor in the cluster's): a name it does not know must fail,
# and fail fast, with nothing sent off the machine.
start=$(date +%s%N)
if q example.com > "$tmp/out" 2>&1; then cat "$tmp/out"; fail "example.com resolved"; fi
echo "example.com fails as expected in $(( ($(date +%s%N) - start) / 1000000 )) ms: $(head -n1 "$tmp/out")"
echo "--- coredns log:"; cat "$tmp/log"
echo "coredns smoke: ok"
