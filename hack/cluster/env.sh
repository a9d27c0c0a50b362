# Shared settings of the local test cluster; sourced by up.sh, down.sh and images.sh.
# Every value can be overridden from the environment.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=${NETDIFF_CLUSTER_DIR:-$repo/_out/cluster}
NODE_NAME=${NETDIFF_NODE_NAME:-netdiff-node}
# The whole node (etcd, apiserver, containerd, kubelet, hostNetwork pods) lives in this
# network namespace: nothing a pod or the prober sends can reach the machine's uplink.
NODE_NETNS=${NETDIFF_NODE_NETNS:-netdiff-node}
NODE_IP=10.99.0.1      # the node's address, inside NODE_NETNS
HOST_IP=10.99.0.2      # the machine's end of the veth to the node
HOST_VETH=nd-host
NODE_VETH=nd-node
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/24
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
API_PORT=6443
ETCD_PORT=2379
PAUSE_IMAGE=netdiff/pause:v1
APP_IMAGE=netdiff/busybox:v1
COREDNS_IMAGE=netdiff/coredns:$(sed -n 's/^require github.com\/coredns\/coredns \(v[0-9.]*\)$/\1/p' "$repo/hack/cluster/coredns/go.mod")
VERSION=${VERSION:-$(cat "$repo/VERSION")}
PROBER_IMAGE=${NETDIFF_PROBER_IMAGE:-netdiff/netdiff-prober:$VERSION}
KUBECONFIG_FILE=$RUN/admin.kubeconfig
CTR_SOCK=$RUN/containerd/containerd.sock
# The kubelet and CNI plugins write outside RUN; down.sh removes those it created.
OUTSIDE_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /run/containerd /var/lib/cni /etc/cni /opt/cni)
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 2; }
innode() { nsenter --net="/run/netns/$NODE_NETNS" -- "$@"; }
ctr_() { ctr --address "$CTR_SOCK" -n k8s.io "$@"; }
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
