#!/usr/bin/env bash
# Installs the Debian packages the local cluster needs (idempotent; CI starts from a fresh
# machine as root).
set -euo pipefail
need=()
for p in containerd runc containernetworking-plugins etcd-server etcd-client busybox-static openssl iptables iproute2 util-linux jq; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  echo "cluster: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
command -v kubectl >/dev/null || { echo "cluster: kubectl not found on PATH (expected /usr/bin/kubectl)" >&2; exit 2; }
