#!/usr/bin/env bash
# Tears the local cluster down and puts the machine back as up.sh found it: stops only the
# processes up.sh recorded (and the containers their containerd started), unmounts what the
# kubelet mounted, deletes the node network namespace (its veths, addresses and iptables
# rules go with it), removes paths the kubelet created outside the run directory and
# restores the sysctls the kubelet changed. Safe to rerun; --purge also removes $RUN.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

stop() { # name: TERM, then KILL after 10s, only the recorded process (same PID and start time)
  local f=$RUN/pids/$1.pid pid
  [[ -f $f ]] || return 0
  read -r pid _ < "$f"
  if alive "$1"; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do alive "$1" || break; sleep 0.2; done
    alive "$1" && kill -9 "$pid" 2>/dev/null
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}

stop kubelet
stop kube-controller-manager
# Containers outlive the kubelet and containerd (their shims are separate processes):
# kill and delete every task of our containerd while it still answers.
if alive containerd; then
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  for _ in $(seq 25); do
    [[ -z $(ctr_ tasks ls -q 2>/dev/null | head -1) ]] && break
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1; done
    sleep 0.2
  done
fi
stop containerd
# Killed sandboxes never got a CNI DEL: free their addresses, or the /24 runs out.
rm -rf "$RUN/cni/ipam"
stop kube-apiserver
stop etcd

# Unmount everything under the run directory and the network namespaces CNI created for
# pods (deepest first), then the node namespace itself.
if [[ -d $RUN ]]; then
  awk -v r="$RUN/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
fi
# Only our containerd makes cni-* namespaces on this machine (there is no other CRI).
for ns in /run/netns/cni-*; do
  [[ -e $ns ]] || continue
  umount "$ns" 2>/dev/null; rm -f "$ns"
done
if [[ -e /run/netns/$NODE_NETNS ]]; then
  ip netns del "$NODE_NETNS" && log "deleted network namespace $NODE_NETNS"
fi
ip link del "$HOST_VETH" 2>/dev/null || true

# The kubelet's cgroups (cgroupfs driver): remove the empty kubepods trees it made.
for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do
  [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
done

if [[ -f $RUN/host.saved ]]; then
  while read -r kind a b; do
    [[ $kind == sysctl ]] && sysctl -qw "$a=$b"
  done < "$RUN/host.saved"
  for p in "${OUTSIDE_PATHS[@]}"; do
    if [[ -e $p ]] && ! grep -qx "existed $p" "$RUN/host.saved"; then
      # Unmount anything left beneath it before removing it.
      awk -v r="$p/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
      rm -rf "$p"
    fi
  done
  rm -f "$RUN/host.saved"
fi
if [[ ${1:-} == --purge ]]; then rm -rf "$RUN"; log "removed $RUN"; fi
log "down"
