# Shared settings of the local test cluster; sourced by up.sh, down.sh, images.sh and the
# others. Every value can be overridden from the environment.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=${NETDIFF_CLUSTER_DIR:-$repo/_out/cluster}
# Two nodes, each in its own network namespace with its own containerd, kubelet and
# kube-proxy; the first also runs the control plane. Node i (0-based) has the node IP
# 10.99.0.(i+1) and the pod range 10.244.i.0/24. Nothing a pod, a node or the prober
# sends can reach the machine's uplink.
NODES=(netdiff-a netdiff-b)
NODE_NAME=${NODES[0]}   # the control-plane node
NODE_NETNS=$NODE_NAME
NODE_IP=10.99.0.1       # the control-plane node's address (the apiserver's)
# The "LAN": a bridge in a namespace of its own, holding a veth to each node and one to
# the machine (HOST_IP), from where kubectl reaches the apiserver.
LAN_NETNS=netdiff-lan
HOST_IP=10.99.0.254
HOST_VETH=nd-host
POD_CIDR=10.244.0.0/16  # all nodes' pod ranges
SERVICE_CIDR=10.96.0.0/24
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
API_PORT=6443
ETCD_PORT=2379
# Pod networking: calico (Calico's CNI plugin: /32, default via 169.254.1.1 answered by
# proxy ARP) or ptp (the standard plugins: a /24 and a gateway address on the host veth).
CNI=${NETDIFF_CLUSTER_CNI:-calico}
# Calico's Felix on each node (calico profile only): enforces NetworkPolicies and Calico's
# policies, and programs the VXLAN device, routes, blackhole and natOutgoing itself.
# NETDIFF_CLUSTER_FELIX=0: without (make demo leaves it out: docs/cluster.md).
FELIX=${NETDIFF_CLUSTER_FELIX:-1}
[[ $CNI == calico ]] || FELIX=0
VXLAN_MTU=1450          # pod MTU: 1500 on the LAN minus the VXLAN header
PAUSE_IMAGE=netdiff/pause:v1
APP_IMAGE=netdiff/busybox:v1
COREDNS_IMAGE=netdiff/coredns:$(sed -n 's/^require github.com\/coredns\/coredns \(v[0-9.]*\)$/\1/p' "$repo/hack/cluster/coredns/go.mod")
VERSION=${VERSION:-$(cat "$repo/VERSION")}
PROBER_IMAGE=${NETDIFF_PROBER_IMAGE:-netdiff/netdiff-prober:$VERSION}
KUBECONFIG_FILE=$RUN/admin.kubeconfig
# The kubelet and CNI plugins write outside RUN; down.sh removes those it created.
OUTSIDE_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /run/containerd /var/lib/cni /etc/cni /opt/cni /var/lib/calico /var/log/calico /var/run/calico)
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

node_index() { local i; for i in "${!NODES[@]}"; do [[ ${NODES[$i]} == "$1" ]] && { echo "$i"; return; }; done; return 1; }
node_ip() { echo "10.99.0.$(( $(node_index "$1") + 1 ))"; }
node_pod_cidr() { echo "10.244.$(node_index "$1").0/24"; }
node_dir() { echo "$RUN/nodes/$1"; }
node_sock() { echo "$RUN/nodes/$1/containerd/containerd.sock"; }

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 2; }
inns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
innode() { inns "$NODE_NETNS" "$@"; }
ctr_() { ctr --address "$(node_sock "${CTR_NODE:-$NODE_NAME}")" -n k8s.io "$@"; }
# A pid file holds "PID STARTTIME" (field 22 of /proc/PID/stat): a recycled PID or a
# zombie (killed, not yet reaped by PID 1) does not count as our daemon alive.
proc_start() { [[ -r /proc/$1/stat ]] && sed 's/.*) //' "/proc/$1/stat" | awk '$1 != "Z" {print $20}'; }
alive() {
  local f=$RUN/pids/$1.pid pid start
  [[ -f $f ]] || return 1
  read -r pid start < "$f"
  [[ -n $pid && -n $start && $(proc_start "$pid") == "$start" ]]
}
record_pid() { echo "$2 $(proc_start "$2")" > "$RUN/pids/$1.pid"; }
