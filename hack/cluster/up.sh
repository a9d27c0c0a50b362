#!/usr/bin/env bash
# Brings up a real two-node Kubernetes cluster on this machine: etcd, kube-apiserver and
# kube-controller-manager on the first node; containerd, a kubelet and kube-proxy on each;
# Calico-shaped pod networking (docs/cluster.md), VXLAN between the nodes, CoreDNS as the
# cluster DNS. Every node lives in a network namespace of its own; the run directory holds
# all state. Idempotent: what runs is reused. Last line of output: KUBECONFIG=<path>.
# Tear down with down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
[[ $(id -u) == 0 ]] || die "must run as root (it starts containerd and the kubelet)"
t0=$(date +%s)
phase() { log "$1 done at +$(( $(date +%s) - t0 ))s"; }

"$here/deps.sh"
# The builds are independent: run them side by side (each is cached by version).
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$here/build-kube.sh" > "$tmp/kube" &
kube_pid=$!
if [[ $CNI == calico ]]; then "$here/build-calico.sh" $([[ $FELIX == 1 ]] && echo --felix) > "$tmp/calico" & calico_pid=$!; fi
"$here/images.sh" build &   # also builds CoreDNS (build-coredns.sh)
images_pid=$!
wait "$kube_pid" || die "building Kubernetes failed (see above)"
bindir=$(tail -1 "$tmp/kube")
if [[ $CNI == calico ]]; then wait "$calico_pid" || die "building Calico's CNI plugin (and Felix) failed (see above)"; calicodir=$(tail -1 "$tmp/calico"); fi
wait "$images_pid" || die "building the images failed (see above)"
phase builds
mkdir -p "$RUN"/{pids,logs,pki,etcd}

# Record, once, what the host looked like before, so down.sh can put it back.
if [[ ! -f $RUN/host.saved ]]; then
  { for s in "${SYSCTLS[@]}"; do echo "sysctl $s $(sysctl -n "$s")"; done
    for p in "${OUTSIDE_PATHS[@]}"; do [[ -e $p ]] && echo "existed $p"; done
    true; } > "$RUN/host.saved.tmp"
  mv "$RUN/host.saved.tmp" "$RUN/host.saved"
fi

# --- network ------------------------------------------------------------------------------
# down.sh left the cluster's ranges unreachable (guard.sh): lift that first.
. "$here/guard.sh"
guard_off

# The LAN namespace holds a bridge with a veth to the machine and one to each node. Each
# node: its end of that veth (nd-lan, the node IP), a default route into a device that
# drops everything (pods and nodes have a default route, as on a real machine, but no
# packet leaves), and a VXLAN device to the other nodes, programmed the way Calico's felix
# does in VXLAN mode. Built in one go; a half-built network (crash) is made again.
net_ok() {
  inns "$LAN_NETNS" ip link show br0 >/dev/null 2>&1 || return 1
  local n
  for n in "${NODES[@]}"; do inns "$n" ip link show vxlan.calico >/dev/null 2>&1 || return 1; done
  # The route to the first node's pods, as up.sh or Felix (which recreates the device and
  # its routes) made it.
  inns "${NODES[-1]}" ip route show "$(node_pod_cidr "${NODES[0]}")" | grep -q vxlan.calico
}
net_down() {
  local n
  for n in "$LAN_NETNS" "${NODES[@]}"; do [[ -e /run/netns/$n ]] && ip netns del "$n"; done
  ip link del "$HOST_VETH" 2>/dev/null || true
}
node_net() { # name: the node's namespace, its LAN link, the drop device, iptables, VXLAN
  local n=$1 i ip cidr
  i=$(node_index "$n"); ip=$(node_ip "$n"); cidr=$(node_pod_cidr "$n")
  ip netns add "$n"
  ip link add "lan-$i" type veth peer name nd-lan netns "$n"
  ip link set "lan-$i" netns "$LAN_NETNS"
  inns "$LAN_NETNS" ip link set "lan-$i" master br0 up
  inns "$n" ip link set lo up
  inns "$n" ip addr add "$ip/24" dev nd-lan
  inns "$n" ip link set nd-lan up
  # ifb or dummy: no ARP, transmits nothing; else a veth whose silent peer never answers.
  inns "$n" ip link add nd-void type ifb 2>/dev/null || inns "$n" ip link add nd-void type dummy 2>/dev/null || {
    inns "$n" ip link add nd-void type veth peer name nd-void-peer
    inns "$n" ip link set nd-void-peer up
  }
  inns "$n" ip link set nd-void up
  inns "$n" ip route add default dev nd-void
  # Forwarding on; reverse-path filter loose (Calico sets it per workload interface).
  inns "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  # Like Calico's natOutgoing: pods reaching beyond the pod range (the apiserver, another
  # node) leave as the node. Pods never reach the machine, nor the drop device.
  inns "$n" iptables -t nat -A POSTROUTING -s "$POD_CIDR" ! -d "$POD_CIDR" -o nd-lan -j MASQUERADE
  inns "$n" iptables -A FORWARD -s "$POD_CIDR" -d "$HOST_IP" -j DROP
  inns "$n" iptables -A FORWARD -s "$POD_CIDR" -o nd-void -j DROP
  # The node's own pod range: addresses not (yet) given to a pod are unreachable, not
  # sent to the default route (Calico's BIRD installs the same blackhole per block).
  inns "$n" ip route add blackhole "$cidr"
  # The VXLAN device, its address the first of the node's range (the CNI's IPAM never
  # hands that out: it is the range's gateway).
  inns "$n" ip link add vxlan.calico type vxlan id 4096 dstport 4789 local "$ip" dev nd-lan nolearning
  inns "$n" ip link set vxlan.calico mtu "$VXLAN_MTU" up
  inns "$n" ip addr add "${cidr%.0/24}.1/32" dev vxlan.calico
}
if ! net_ok; then
  # Rebuilding the namespaces under running daemons would strand them in the old ones.
  for f in "$RUN"/pids/*.pid; do
    [[ -e $f ]] || continue
    d=$(basename "$f" .pid)
    alive "$d" && die "the cluster network is broken but $d still runs: run make cluster-down (hack/cluster/down.sh) first"
  done
  net_down
  ip netns add "$LAN_NETNS"
  inns "$LAN_NETNS" ip link set lo up
  inns "$LAN_NETNS" ip link add br0 type bridge
  inns "$LAN_NETNS" ip link set br0 up
  ip link add "$HOST_VETH" type veth peer name lan-host netns "$LAN_NETNS"
  inns "$LAN_NETNS" ip link set lan-host master br0 up
  ip addr add "$HOST_IP/24" dev "$HOST_VETH"
  ip link set "$HOST_VETH" up
  for n in "${NODES[@]}"; do node_net "$n"; done
  # Each node reaches every other node's pods through its VXLAN device: a route to the
  # range via the other's tunnel address, onlink, with a permanent neighbour entry (its
  # VXLAN MAC) and a forwarding entry (that MAC is behind the other's node IP).
  for n in "${NODES[@]}"; do
    for m in "${NODES[@]}"; do
      [[ $n == "$m" ]] && continue
      mcidr=$(node_pod_cidr "$m"); tun=${mcidr%.0/24}.1
      mac=$(inns "$m" ip link show vxlan.calico | awk '/link\/ether/ {print $2}')
      inns "$n" ip neigh add "$tun" lladdr "$mac" dev vxlan.calico nud permanent
      inns "$n" bridge fdb add "$mac" dev vxlan.calico dst "$(node_ip "$m")" self permanent
      inns "$n" ip route add "$mcidr" via "$tun" dev vxlan.calico onlink proto static
    done
  done
  log "network: $LAN_NETNS (bridge) and ${NODES[*]} (VXLAN between them)"
fi
# kube-proxy's REJECT for a Service without endpoints answers with ICMP; without a rate
# limit every pod gets it at once, never a timeout that depends on who asked first.
for n in "${NODES[@]}"; do inns "$n" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0; done
phase network

# --- certificates -----------------------------------------------------------------------
pki=$RUN/pki
cert() { # name subject ext-file-lines...
  local n=$1 subj=$2; shift 2
  [[ -f $pki/$n.crt ]] && return 0
  printf '%s\n' "$@" > "$pki/$n.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$n.key" -subj "$subj" -out "$pki/$n.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$pki/$n.ext" -out "$pki/$n.crt" 2>/dev/null
}
if [[ ! -f $pki/ca.crt ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 3650 \
    -subj "/CN=netdiff-cluster-ca" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
fi
server_ext=("keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth")
client_ext=("keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth")
cert apiserver "/CN=kube-apiserver" "${server_ext[@]}" \
  "subjectAltName=IP:$NODE_IP,IP:127.0.0.1,IP:$API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=netdiff-admin" "${client_ext[@]}"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "${client_ext[@]}"
cert controller-manager "/O=system:masters/CN=system:kube-controller-manager" "${client_ext[@]}"
cert kube-scheduler "/CN=system:kube-scheduler" "${client_ext[@]}"
cert kube-proxy "/CN=system:kube-proxy" "${client_ext[@]}"   # bound to system:node-proxier by default
cert calico-cni "/CN=calico-cni" "${client_ext[@]}"          # RBAC in calico.sh
cert calico-felix "/CN=calico-felix" "${client_ext[@]}"      # RBAC in calico.sh
for n in "${NODES[@]}"; do
  cert "kubelet-client-$n" "/O=system:nodes/CN=system:node:$n" "${client_ext[@]}"
  cert "kubelet-serving-$n" "/CN=$n" "${server_ext[@]}" "subjectAltName=IP:$(node_ip "$n"),DNS:$n"
done

kubeconfig() { # file user
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: netdiff
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: netdiff
  context: {cluster: netdiff, user: $2, namespace: default}
current-context: netdiff
KC
}
kubeconfig "$KUBECONFIG_FILE" admin
kubeconfig "$RUN/controller-manager.kubeconfig" controller-manager
kubeconfig "$RUN/kube-scheduler.kubeconfig" kube-scheduler
kubeconfig "$RUN/kube-proxy.kubeconfig" kube-proxy
kubeconfig "$RUN/calico-cni.kubeconfig" calico-cni
kubeconfig "$RUN/calico-felix.kubeconfig" calico-felix
for n in "${NODES[@]}"; do kubeconfig "$RUN/kubelet-$n.kubeconfig" "kubelet-client-$n"; done

write_if_changed() { # file < content
  local new; new=$(cat)
  [[ -f $1 && $(cat "$1") == "$new" ]] || printf '%s\n' "$new" > "$1"
}
start() { # name netns command...: start in that network namespace, in the background, PID recorded
  local n=$1 ns=$2; shift 2
  if alive "$n"; then return 0; fi
  nsenter --net="/run/netns/$ns" -- "$@" > "$RUN/logs/$n.log" 2>&1 &
  record_pid "$n" $!
  log "started $n (pid $!)"
}
wait_for() { # what seconds command...
  local what=$1 secs=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < end )) || die "$what not ready after ${secs}s; see $RUN/logs/"
    sleep 0.2
  done
}
k() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
export KUBECACHEDIR=$RUN/kubecache

# --- etcd, apiserver, controller-manager (one identity in system:masters for all its controllers), scheduler ---
start etcd "$NODE_NETNS" etcd --name node --data-dir "$RUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster node=http://127.0.0.1:2380 --log-level warn
start kube-apiserver "$NODE_NETNS" "$bindir/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address "$NODE_IP" --secure-port "$API_PORT" --advertise-address "$NODE_IP" \
  --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC --allow-privileged=true \
  --profiling=false --v=1
wait_for kube-apiserver 90 k get --raw /readyz
start kube-controller-manager "$NODE_NETNS" "$bindir/kube-controller-manager" \
  --kubeconfig "$RUN/controller-manager.kubeconfig" --authentication-kubeconfig "$RUN/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$RUN/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --controllers "*,-bootstrapsigner,-tokencleaner,-nodeipam$([[ $("$bindir/kube-controller-manager" --help 2>&1) != *service-lb-controller* ]] || echo ,-service-lb-controller,-cloud-node-lifecycle-controller)" \
  --profiling=false --v=1
# The scheduler places CoreDNS's replicas; test pods name their node (spec.nodeName).
start kube-scheduler "$NODE_NETNS" "$bindir/kube-scheduler" \
  --kubeconfig "$RUN/kube-scheduler.kubeconfig" --authentication-kubeconfig "$RUN/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig "$RUN/kube-scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1
phase "control plane"
if [[ $CNI == calico ]]; then "$here/calico.sh" apply "$calicodir"; fi

# --- the nodes: containerd, kubelet, kube-proxy -----------------------------------------------
echo "nameserver $NODE_IP" > "$RUN/resolv.conf"   # nodes' own resolver: nothing answers
node_up() { # name
  local n=$1 d ip cidr
  d=$(node_dir "$n"); ip=$(node_ip "$n"); cidr=$(node_pod_cidr "$n")
  mkdir -p "$d"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs}
  if [[ $CNI == calico ]]; then
    "$here/calico.sh" conflist "$n" "$cidr" "$d/cni/ipam" > "$d/cni/net.d/10-calico.conflist"
    # One plugin directory: Calico's plugin beside Debian's host-local and loopback.
    cni_bin=$RUN/cni-bin
    mkdir -p "$cni_bin"
    ln -sfn "$calicodir/calico" "$cni_bin/calico"
    for p in host-local loopback; do ln -sfn "/usr/lib/cni/$p" "$cni_bin/$p"; done
  else
    cat > "$d/cni/net.d/10-netdiff.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "netdiff",
  "plugins": [
    {
      "type": "ptp",
      "mtu": $VXLAN_MTU,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$cidr"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$d/cni/ipam"
      }
    }
  ]
}
CNI
    cni_bin=/usr/lib/cni
  fi
  cat > "$d/containerd/config.toml" <<TOML
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$(node_sock "$n")"
[ttrpc]
  address = "$d/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine drops CAP_SYS_RESOURCE; without this runc fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$d/cni/net.d"
TOML
  start "containerd-$n" "$n" containerd --config "$d/containerd/config.toml"
  wait_for "containerd on $n" 30 ctr --address "$(node_sock "$n")" version
  CTR_NODE=$n "$here/images.sh" import-only

  # Each kubelet has its own cgroup root, so two never manage the same kubepods tree.
  local c
  for c in /sys/fs/cgroup/*/; do
    [[ $c == */unified/ || $c == */systemd/ ]] && continue
    mkdir -p "$c$n"
    # A new cpuset cgroup has no CPUs: give it its parent's.
    if [[ -f ${c}cpuset.cpus && -z $(cat "$c$n/cpuset.cpus") ]]; then
      cat "${c}cpuset.cpus" > "$c$n/cpuset.cpus"; cat "${c}cpuset.mems" > "$c$n/cpuset.mems"
    fi
  done
  mkdir -p "/sys/fs/cgroup/systemd/$n" 2>/dev/null || true
  cat > "$d/kubelet.yaml" <<KL
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $pki/kubelet-serving-$n.crt
tlsPrivateKeyFile: $pki/kubelet-serving-$n.key
address: $ip
cgroupDriver: cgroupfs
cgroupRoot: /$n
containerRuntimeEndpoint: unix://$(node_sock "$n")
imageServiceEndpoint: unix://$(node_sock "$n")
podLogsDir: $d/pod-logs
failSwapOn: false
failCgroupV1: false
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: $RUN/resolv.conf
maxPods: 250 # make bench runs 100 pods beside the others; the /24 has 254 addresses
evictionHard: {"nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%", "memory.available": "50Mi"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
KL
  start "kubelet-$n" "$n" "$bindir/kubelet" --config "$d/kubelet.yaml" --kubeconfig "$RUN/kubelet-$n.kubeconfig" \
    --root-dir "$d/kubelet" --hostname-override "$n" --node-ip "$ip" --v=1

  # kube-proxy exits when its config file is written, even with the same content: write
  # it only when it changes, so a rerun of up.sh leaves a running kube-proxy alone.
  write_if_changed "$d/kube-proxy.yaml" <<KP
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $RUN/kube-proxy.kubeconfig}
hostnameOverride: $n
clusterCIDR: $POD_CIDR
bindAddress: $ip
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# The node namespaces share the machine's conntrack limits: leave them alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
KP
  start "kube-proxy-$n" "$n" "$bindir/kube-proxy" --config "$d/kube-proxy.yaml" --v=1
}
for n in "${NODES[@]}"; do node_up "$n"; done
for n in "${NODES[@]}"; do wait_for "node $n" 120 k wait --for=condition=Ready "node/$n" --timeout=2s; done
phase nodes
# --- Felix, one per node (FELIX=1): after the Node objects exist (it reads its own), before
# CoreDNS. It takes over the VXLAN device, routes and blackhole up.sh made, and enforces
# policy on every cali* veth, those of pods already running included.
if [[ $FELIX == 1 ]]; then
  tf=$(date +%s)
  for n in "${NODES[@]}"; do
    "$here/calico.sh" node "$n"
    start "felix-$n" "$n" "$here/calico.sh" felix "$n" "$calicodir"
  done
  for n in "${NODES[@]}"; do wait_for "Felix on $n" 120 "$here/calico.sh" felix-ready "$n"; done
  log "Felix ready on ${NODES[*]} $(( $(date +%s) - tf ))s after up.sh started it (or found it running)"
  phase felix
fi
wait_for "default ServiceAccount" 60 k get serviceaccount default -n default
"$here/coredns.sh" "$KUBECONFIG_FILE"
phase "cluster DNS"

log "up in $(( $(date +%s) - t0 ))s; kubectl --kubeconfig $KUBECONFIG_FILE get pods -A -o wide"
echo "KUBECONFIG=$KUBECONFIG_FILE"
