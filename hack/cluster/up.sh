#!/usr/bin/env bash
# Brings up a real single-node Kubernetes cluster on this machine (etcd, kube-apiserver,
# kube-controller-manager, containerd, kubelet), all inside one network namespace and one
# run directory, and imports the test images. Idempotent: a running cluster is reused.
# Last line of output: KUBECONFIG=<absolute path>. Tear down with down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
[[ $(id -u) == 0 ]] || die "must run as root (it starts containerd and the kubelet)"
t0=$(date +%s)

"$here/deps.sh"
bindir=$("$here/build-kube.sh")
mkdir -p "$RUN"/{pids,logs,pki,etcd,containerd,cni/net.d,cni/ipam,kubelet,images}

# Record, once, what the host looked like before, so down.sh can put it back.
if [[ ! -f $RUN/host.saved ]]; then
  { for s in "${SYSCTLS[@]}"; do echo "sysctl $s $(sysctl -n "$s")"; done
    for p in "${OUTSIDE_PATHS[@]}"; do [[ -e $p ]] && echo "existed $p"; done
    true; } > "$RUN/host.saved.tmp"
  mv "$RUN/host.saved.tmp" "$RUN/host.saved"
fi

# --- network: the node namespace, joined to the machine by one veth ---------------------
# Built in one go; a half-built namespace (crash) is deleted and made again.
if ! innode ip link show nd-void >/dev/null 2>&1; then
  ip netns del "$NODE_NETNS" 2>/dev/null || true
  ip link del "$HOST_VETH" 2>/dev/null || true
  ip netns add "$NODE_NETNS"
  ip link add "$HOST_VETH" mtu 1500 type veth peer name "$NODE_VETH" netns "$NODE_NETNS"
  ip addr add "$HOST_IP" peer "$NODE_IP" dev "$HOST_VETH"
  ip link set "$HOST_VETH" up
  innode ip link set lo up
  innode ip addr add "$NODE_IP" peer "$HOST_IP" dev "$NODE_VETH"
  innode ip link set "$NODE_VETH" up
  # Anything not local goes into a device that drops it (ifb or dummy: no ARP, transmits
  # nothing; else a veth whose silent peer never answers ARP): a pod's default route
  # works, like a real node's, but no packet ever leaves.
  innode ip link add nd-void type ifb 2>/dev/null || innode ip link add nd-void type dummy 2>/dev/null || {
    innode ip link add nd-void type veth peer name nd-void-peer
    innode ip link set nd-void-peer up
  }
  innode ip link set nd-void up
  innode ip route add default dev nd-void
  innode sysctl -qw net.ipv4.ip_forward=1
  # The API service and cluster DNS without kube-proxy: DNAT to the apiserver, and to a
  # closed port (so DNS fails at once, the same way for every pod).
  innode iptables -t nat -A PREROUTING -d "$API_SERVICE_IP" -p tcp --dport 443 -j DNAT --to-destination "$NODE_IP:$API_PORT"
  innode iptables -t nat -A OUTPUT -d "$API_SERVICE_IP" -p tcp --dport 443 -j DNAT --to-destination "$NODE_IP:$API_PORT"
  for proto in udp tcp; do
    innode iptables -t nat -A PREROUTING -d "$DNS_SERVICE_IP" -p $proto --dport 53 -j DNAT --to-destination "$NODE_IP:53"
    innode iptables -t nat -A OUTPUT -d "$DNS_SERVICE_IP" -p $proto --dport 53 -j DNAT --to-destination "$NODE_IP:53"
  done
  innode iptables -A FORWARD -s "$POD_CIDR" -o "$NODE_VETH" -j DROP
  innode iptables -A FORWARD -s "$POD_CIDR" -o nd-void -j DROP
fi
# The closed DNS port answers with ICMP port-unreachable from this namespace; without a
# rate limit every pod gets ECONNREFUSED, never a timeout that depends on who asked first.
innode sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

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
cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" "${client_ext[@]}"
cert kubelet-serving "/CN=$NODE_NAME" "${server_ext[@]}" "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "${client_ext[@]}"
cert controller-manager "/O=system:masters/CN=system:kube-controller-manager" "${client_ext[@]}"

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
kubeconfig "$RUN/kubelet.kubeconfig" kubelet-client
kubeconfig "$RUN/controller-manager.kubeconfig" controller-manager

start() { # name command...: start in the node namespace, in the background, PID recorded
  local n=$1; shift
  if alive "$n"; then return 0; fi
  nsenter --net="/run/netns/$NODE_NETNS" -- "$@" > "$RUN/logs/$n.log" 2>&1 &
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

# --- etcd, apiserver, controller-manager (one identity in system:masters for all its controllers) -----------------------------------------------
start etcd etcd --name node --data-dir "$RUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster node=http://127.0.0.1:2380 --log-level warn
start kube-apiserver "$bindir/kube-apiserver" \
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
start kube-controller-manager "$bindir/kube-controller-manager" \
  --kubeconfig "$RUN/controller-manager.kubeconfig" --authentication-kubeconfig "$RUN/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$RUN/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --controllers "*,-bootstrapsigner,-tokencleaner,-nodeipam$([[ $("$bindir/kube-controller-manager" --help 2>&1) != *service-lb-controller* ]] || echo ,-service-lb-controller,-cloud-node-lifecycle-controller)" \
  --profiling=false --v=1

# --- containerd ---------------------------------------------------------------------------
cat > "$RUN/cni/net.d/10-netdiff.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "netdiff",
  "plugins": [
    {
      "type": "ptp",
      "mtu": 1400,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$RUN/cni/ipam"
      }
    }
  ]
}
CNI
cat > "$RUN/containerd/config.toml" <<TOML
version = 2
root = "$RUN/containerd/root"
state = "$RUN/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$RUN/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$RUN/containerd/opt"
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
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN/cni/net.d"
TOML
start containerd containerd --config "$RUN/containerd/config.toml"
wait_for containerd 30 ctr --address "$CTR_SOCK" version
"$here/images.sh" import

# --- kubelet ------------------------------------------------------------------------------
echo "nameserver $NODE_IP" > "$RUN/resolv.conf"
cat > "$RUN/kubelet.yaml" <<KL
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
address: $NODE_IP
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CTR_SOCK
imageServiceEndpoint: unix://$CTR_SOCK
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
start kubelet "$bindir/kubelet" --config "$RUN/kubelet.yaml" --kubeconfig "$RUN/kubelet.kubeconfig" \
  --root-dir "$RUN/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
wait_for "node $NODE_NAME" 120 k wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
wait_for "default ServiceAccount" 60 k get serviceaccount default -n default

log "up in $(( $(date +%s) - t0 ))s; kubectl --kubeconfig $KUBECONFIG_FILE get pods -A"
echo "KUBECONFIG=$KUBECONFIG_FILE"
