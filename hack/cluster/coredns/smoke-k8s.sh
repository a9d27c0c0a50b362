#!/usr/bin/env bash
# The cluster's own Corefile and RBAC against a real kube-apiserver, without nodes: a
# private etcd + kube-apiserver (build-kube.sh's) in a network namespace that has only
# loopback and a veth pair (inside it), coredns.yaml applied to it (server-side validation), a
# token of the coredns ServiceAccount (so the ClusterRole is what lets it list/watch),
# Services and EndpointSlices made by hand (no controller-manager), and CoreDNS running
# the ConfigMap's Corefile with that token. Needs root (ip netns), etcd and kubectl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../env.sh"
bin=$("$here/../build-coredns.sh" | tail -n1)/coredns
kube=$("$here/../build-kube.sh" | tail -n1)
ns=ndcd-k8s-$$
tmp=$(mktemp -d)
pids=()
# Newest first (coredns, the apiserver, then etcd, which the apiserver needs to stop
# gracefully); SIGKILL what has not exited 10 s after SIGTERM.
stop() {
  local i
  kill "$1" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local i
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do stop "${pids[i]}"; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "coredns smoke-k8s: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f:" >&2; tail -n 30 "$f" >&2; done; exit 1; }
inns() { ip netns exec "$ns" "$@"; }
# Daemons start with ip netns exec itself, not inns: it execs them, so $! is the daemon.
export KUBECACHEDIR=$tmp/kubecache

ip netns add "$ns"
inns ip link set lo up
inns ip link add ndcd0 type veth peer name ndcd1
inns ip addr add 10.123.0.1/32 dev ndcd0
inns ip link set ndcd0 up
openssl genrsa -out "$tmp/sa.key" 2048 2>/dev/null
openssl rsa -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub" 2>/dev/null
echo "admin-token,admin,admin,system:masters" > "$tmp/tokens.csv"

ip netns exec "$ns" etcd --name n --data-dir "$tmp/etcd" --log-level warn \
  --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
  --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
  --initial-cluster n=http://127.0.0.1:23800 > "$tmp/etcd.log" 2>&1 &
pids+=($!)
ip netns exec "$ns" "$kube/kube-apiserver" --etcd-servers http://127.0.0.1:23790 \
  --bind-address 127.0.0.1 --secure-port 16443 --advertise-address 10.123.0.1 --cert-dir "$tmp/pki" \
  --token-auth-file "$tmp/tokens.csv" --authorization-mode RBAC \
  --service-account-key-file "$tmp/sa.pub" --service-account-signing-key-file "$tmp/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false > "$tmp/apiserver.log" 2>&1 &
pids+=($!)
kcfg() { # file token
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:16443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: "$2"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
KC
}
kcfg "$tmp/admin.kubeconfig" admin-token
k() { inns kubectl --kubeconfig "$tmp/admin.kubeconfig" "$@"; }
for i in $(seq 120); do
  k get --raw /readyz >/dev/null 2>&1 && break
  (( i < 120 )) || fail "kube-apiserver not ready in 60s"
  sleep 0.5
done
for i in $(seq 40); do k get namespace kube-system >/dev/null 2>&1 && break; sleep 0.5; done

sed -e "s|\${COREDNS_IMAGE}|$COREDNS_IMAGE|g; s|\${DNS_SERVICE_IP}|$DNS_SERVICE_IP|g" "$here/../coredns.yaml" > "$tmp/coredns.yaml"
k apply -f "$tmp/coredns.yaml" || fail "apply coredns.yaml"
k apply -f - > /dev/null <<'YAML' || fail "apply test objects"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, namespace: default, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- {addresses: [10.244.0.7], hostname: db-0, conditions: {ready: true}}
- {addresses: [10.244.0.8], hostname: db-1, conditions: {ready: true}}
YAML

# CoreDNS as the coredns ServiceAccount: its RBAC is what lets the kubernetes plugin list.
kcfg "$tmp/coredns.kubeconfig" "$(k -n kube-system create token coredns)"
k -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}' |
  sed -e 's/^\.:53 {/.:1053 {/' -e "s|^\( *\)kubernetes \(.*\) {|&\n\1    kubeconfig $tmp/coredns.kubeconfig c|" > "$tmp/Corefile"
cat "$tmp/Corefile"
(cd "$here" && go build -o "$tmp/dnsq" ./dnsq)
ip netns exec "$ns" "$bin" -conf "$tmp/Corefile" > "$tmp/coredns.log" 2>&1 &
pids+=($!)
q() { inns "$tmp/dnsq" -server 127.0.0.1:1053 "$@"; }
for i in $(seq 50); do
  q -get http://127.0.0.1:8181/ready > /dev/null 2>&1 && break
  (( i < 50 )) || fail "coredns not ready in 10s"
  sleep 0.2
done
out=$(q -get http://127.0.0.1:8080/health web.default.svc.cluster.local db.default.svc.cluster.local \
  db-0.db.default.svc.cluster.local kube-dns.kube-system.svc.cluster.local kubernetes.default.svc.cluster.local \
  10-244-0-9.default.pod.cluster.local) || { echo "$out"; fail "lookups failed"; }
echo "$out"
want=("udp web.default.svc.cluster.local: 10.96.0.50" "udp db.default.svc.cluster.local: 10.244.0.7 10.244.0.8"
  "tcp db-0.db.default.svc.cluster.local: 10.244.0.7" "udp kube-dns.kube-system.svc.cluster.local: $DNS_SERVICE_IP"
  "udp kubernetes.default.svc.cluster.local: $API_SERVICE_IP" "udp 10-244-0-9.default.pod.cluster.local: 10.244.0.9")
for w in "${want[@]}"; do grep -qxF "$w" <<<"$out" || fail "want '$w'"; done
if q nosuch.default.svc.cluster.local example.com > "$tmp/neg.out" 2>&1; then cat "$tmp/neg.out"; fail "a name that should not resolve did"; fi
cat "$tmp/neg.out"
echo "--- coredns log:"; cat "$tmp/coredns.log"
echo "coredns smoke-k8s: ok"
