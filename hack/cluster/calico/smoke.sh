#!/usr/bin/env bash
# Smoke test of the Calico CNI plugin built by ../build-calico.sh, without Kubernetes.
# It makes a "node" netns and a "pod" netns, runs the plugin inside the node with
# CNI_COMMAND=ADD, checks the Calico topology (/32 on eth0, default via 169.254.1.1, caliX
# with proxy ARP and MAC ee:ee:ee:ee:ee:ee, a host route per pod IP, node->pod ping), then
# DEL, and cleans up everything it made. The datastore is one of:
#   kubernetes (default)  KDD mode against fakeapi/ (built here) in the node netns (a few
#                         canned objects; prints the API calls made), host-local "usePodCidr"
#   etcdv3                etcd started in the node netns, ClusterInformation put by etcdctl
# Needs root, iproute2, go (kubernetes) or /usr/bin/etcd + etcdctl (etcdv3),
# host-local in CNI_PLUGIN_DIR, and iputils-ping for the ping (skipped without it).
# Usage: [DATASTORE=etcdv3] smoke.sh [DIR_WITH_calico]   (default: build-calico.sh's dir)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bindir=${1:-$("$here/../build-calico.sh")}
datastore=${DATASTORE:-kubernetes}
prefix=${NETNS_PREFIX:-ndcal-}
node=${prefix}node pod=${prefix}pod
cni_plugins=${CNI_PLUGIN_DIR:-/usr/lib/cni}
subnet=${POD_SUBNET:-10.244.7.0/24}
work=$(mktemp -d /tmp/${prefix}smoke.XXXXXX)
server_pid=

cleanup() {
  set +e
  [[ -n $server_pid ]] && kill "$server_pid" && wait "$server_pid" 2>/dev/null
  ip netns del "$pod" 2>/dev/null
  ip netns del "$node" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
in_node() { ip netns exec "$node" "$@"; }
in_pod() { ip netns exec "$pod" "$@"; }
routes() { ip netns exec "$1" ip -4 route | sed 's/ *$//'; }  # iproute2 pads some lines

ip netns add "$node"
ip netns add "$pod"
in_node ip link set lo up
# A default route on the node, as a real node has: proxy ARP only answers for 169.254.1.1
# when the node has a route to it through another interface. (A veth pair inside the node:
# the dummy link type is not always available.)
in_node ip link add uplink0 type veth peer name uplink1
in_node ip addr add 192.0.2.1/32 dev uplink0
in_node ip link set uplink1 up
in_node ip link set uplink0 up
in_node ip route add default dev uplink0

cid=0123456789abcdef0123456789abcdef
case $datastore in
kubernetes)
  (cd "$here" && go build -o "$work/fakeapi" ./fakeapi)
  # Not through in_node: a backgrounded function is a subshell, and $! would be its PID.
  ip netns exec "$node" "$work/fakeapi" 127.0.0.1:8080 "$node" "$subnet" >"$work/api.log" 2>&1 &
  server_pid=$!
  printf '%s\n' 'apiVersion: v1' 'kind: Config' \
    'clusters: [{name: fake, cluster: {server: "http://127.0.0.1:8080"}}]' \
    'users: [{name: cni, user: {}}]' 'contexts: [{name: fake, context: {cluster: fake, user: cni}}]' \
    'current-context: fake' >"$work/kubeconfig"
  ready() { in_node bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null; }
  ds_conf="\"datastore_type\": \"kubernetes\", \"kubernetes\": {\"kubeconfig\": \"$work/kubeconfig\"},"
  ipam_subnet=usePodCidr
  # What the kubelet/containerd pass; the plugin takes the Kubernetes path on K8S_POD_*.
  export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=$cid;K8S_POD_UID=11111111-2222-3333-4444-555555555555"
  ;;
etcdv3)
  ip netns exec "$node" /usr/bin/etcd --name smoke --data-dir "$work/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster smoke=http://127.0.0.1:2380 >"$work/etcd.log" 2>&1 &
  server_pid=$!
  ready() { in_node etcdctl --endpoints=127.0.0.1:2379 endpoint health >/dev/null 2>&1; }
  ds_conf='"datastore_type": "etcdv3", "etcd_endpoints": "http://127.0.0.1:2379",'
  ipam_subnet=$subnet
  ;;
*) fail "DATASTORE must be kubernetes or etcdv3, not '$datastore'" ;;
esac
for _ in $(seq 50); do ready && break; sleep 0.2; done
ready || fail "$datastore server did not start: $(tail -5 "$work"/*.log)"
if [[ $datastore == etcdv3 ]]; then
  # calico-node normally creates this; the plugin refuses to run until datastoreReady is true.
  in_node etcdctl --endpoints=127.0.0.1:2379 put /calico/resources/v3/projectcalico.org/clusterinformations/default \
    '{"kind":"ClusterInformation","apiVersion":"projectcalico.org/v3","metadata":{"name":"default","uid":"00000000-0000-0000-0000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"datastoreReady":true}}' >/dev/null
fi

cat >"$work/net.conf" <<EOF
{
  "cniVersion": "0.3.1",
  "name": "k8s-pod-network",
  "type": "calico",
  $ds_conf
  "nodename": "$node",
  "nodename_file_optional": true,
  "log_level": "info",
  "mtu": 1500,
  "policy": {"type": "k8s"},
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "$ipam_subnet"}]], "dataDir": "$work/ipam"}
}
EOF
cni() {
  in_node env CNI_COMMAND="$1" CNI_CONTAINERID=$cid CNI_NETNS=/run/netns/$pod CNI_IFNAME=eth0 \
    CNI_PATH="$bindir:$cni_plugins" "$bindir/calico" <"$work/net.conf"
}

cni ADD >"$work/add.json" 2>"$work/add.log" || fail "ADD: $(cat "$work/add.json" "$work/add.log")"
echo "--- ADD result"; cat "$work/add.json"; echo
ip=$(in_pod ip -4 -o addr show dev eth0 | awk '{print $4}')
echo "--- pod: eth0 $ip"; routes "$pod"
[[ $ip == */32 ]] || fail "pod eth0 address is '$ip', not a /32"
ip=${ip%/32}
routes "$pod" | grep -qx 'default via 169.254.1.1 dev eth0' || fail "no default via 169.254.1.1"
routes "$pod" | grep -qx '169.254.1.1 dev eth0 scope link' || fail "no 169.254.1.1 link route"
veth=$(sed -n 's/^ *"name": "\(cali[0-9a-f]*\)".*/\1/p' "$work/add.json")
[[ -n $veth ]] || fail "no cali interface in the ADD result"
echo "--- node: $veth"; in_node ip -o link show "$veth"; routes "$node"
link=$(in_node ip -o link show "$veth")
[[ $link == *"link/ether ee:ee:ee:ee:ee:ee "* ]] || fail "$veth MAC is not ee:ee:ee:ee:ee:ee"
[[ $(in_node cat /proc/sys/net/ipv4/conf/$veth/proxy_arp) == 1 ]] || fail "$veth proxy_arp != 1"
routes "$node" | grep -qx "$ip dev $veth scope link" || fail "no node route '$ip dev $veth scope link'"
if command -v ping >/dev/null; then
  in_node ping -c 2 -W 2 "$ip" >/dev/null || fail "node cannot ping pod $ip"
else
  echo "smoke: no ping here, skipping the node->pod ping" >&2
fi
if [[ $datastore == etcdv3 ]]; then
  echo "--- datastore keys"; in_node etcdctl --endpoints=127.0.0.1:2379 get --prefix --keys-only /calico | grep .
fi

cni DEL >"$work/del.out" 2>"$work/del.log" || fail "DEL: $(cat "$work/del.out" "$work/del.log")"
in_node ip link show "$veth" >/dev/null 2>&1 && fail "$veth still there after DEL"
in_pod ip link show eth0 >/dev/null 2>&1 && fail "pod eth0 still there after DEL"
[[ -z $(ls "$work/ipam"/*/ 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$') ]] || fail "host-local still holds an IP after DEL"
if [[ $datastore == kubernetes ]]; then
  echo "--- API calls (ADD, then DEL)"; cat "$work/api.log"
fi
echo "smoke: PASS ($datastore: pod $ip on $veth; ADD and DEL)"
