#!/usr/bin/env bash
# Builds the container images the local cluster and the e2e tests use, with hack/mkimage
# (no docker, no registry), and imports them into the cluster's containerd.
#   images.sh build   -> docker tarballs for this machine's architecture under $RUN/images
#   images.sh import  -> build, then `ctr images import` each one into every node's containerd
#   images.sh import-only -> only the import, into the node CTR_NODE (default: the first)
#   images.sh release -> the multi-arch prober image as an OCI layout + tar under _out/image
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
arch=$(go env GOARCH)
out=$RUN/images
work=$RUN/images/rootfs

mkimage() { (cd "$repo" && go run ./hack/mkimage "$@"); }

prober_rootfs() { # arch dir
  rm -rf "$2"; mkdir -p "$2/tmp"; chmod 1777 "$2/tmp"
  cp "$repo/bin/linux-$1/netdiff-prober" "$2/netdiff-prober"
}

build() {
  mkdir -p "$out" "$work"
  make -C "$repo" -s prober-cross >&2
  prober_rootfs "$arch" "$work/prober"
  mkimage -ref "$PROBER_IMAGE" -entrypoint /netdiff-prober -rootfs "linux/$arch=$work/prober" -docker-tar "$out/prober.tar"

  rm -rf "$work/pause"; mkdir -p "$work/pause"
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/pause/pause" ./hack/cluster/pause)
  mkimage -ref "$PAUSE_IMAGE" -entrypoint /pause -rootfs "linux/$arch=$work/pause" -docker-tar "$out/pause.tar"

  # The test app image: Debian's static busybox (sh, sleep, ip, nc, wget, ...) and
  # testapp, an HTTP server that copes with the prober's connect bursts.
  if [[ ! -x $work/busybox-static/bin/busybox ]]; then
    rm -rf "$work/deb"; mkdir -p "$work/deb" "$work/busybox-static/bin"
    (cd "$work/deb" && apt-get download busybox-static >/dev/null 2>&1) || die "apt-get download busybox-static failed (run apt-get update?)"
    dpkg-deb -x "$work"/deb/busybox-static_*.deb "$work/deb/x"
    cp "$work/deb/x/bin/busybox" "$work/busybox-static/bin/busybox"
    rm -rf "$work/deb"
  fi
  rm -rf "$work/busybox"; mkdir -p "$work/busybox"/{bin,tmp,etc}
  chmod 1777 "$work/busybox/tmp"
  cp "$work/busybox-static/bin/busybox" "$work/busybox/bin/busybox"
  for a in $("$work/busybox/bin/busybox" --list); do
    [[ $a == busybox ]] || ln -sf busybox "$work/busybox/bin/$a"
  done
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/busybox/bin/testapp" ./hack/cluster/testapp)
  # iptables (nft) from this machine with its libraries, for the fixture whose init
  # container plants an OUTPUT REJECT rule (route lookup fine, connect refused).
  local ipt; ipt=$(readlink -f "$(command -v iptables)")
  mkdir -p "$work/busybox/usr/sbin" "$work/busybox/run"
  cp "$ipt" "$work/busybox/usr/sbin/"
  ln -sf "$(basename "$ipt")" "$work/busybox/usr/sbin/iptables"
  for lib in $(ldd "$ipt" | grep -o '/[^ ]*'); do
    mkdir -p "$work/busybox$(dirname "$lib")"; cp -L "$lib" "$work/busybox$lib"
  done
  local xt; for xt in /usr/lib/*-linux-gnu/xtables; do
    mkdir -p "$work/busybox$xt"; cp -L "$xt"/*.so "$work/busybox$xt/"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$work/busybox/etc/passwd"
  echo 'root:x:0:' > "$work/busybox/etc/group"
  mkimage -ref "$APP_IMAGE" -cmd /bin/sh -rootfs "linux/$arch=$work/busybox" -docker-tar "$out/busybox.tar"

  # Cluster DNS: CoreDNS built by build-coredns.sh (cached by version), alone in its image;
  # coredns.yaml mounts the Corefile at /etc/coredns.
  local cdns; cdns=$("$here/build-coredns.sh" | tail -n1)
  rm -rf "$work/coredns"; mkdir -p "$work/coredns"
  cp "$cdns/coredns" "$work/coredns/coredns"
  mkimage -ref "$COREDNS_IMAGE" -entrypoint /coredns -cmd=-conf -cmd=/etc/coredns/Corefile \
    -rootfs "linux/$arch=$work/coredns" -docker-tar "$out/coredns.tar"
}

import() {
  for i in pause busybox prober coredns; do
    # Without --digests: that flag adds extra references that confuse the kubelet.
    ctr_ images import "$out/$i.tar" >/dev/null || die "ctr images import $out/$i.tar failed"
  done
  log "imported $PAUSE_IMAGE $APP_IMAGE $PROBER_IMAGE $COREDNS_IMAGE into ${CTR_NODE:-$NODE_NAME}"
}

release() {
  make -C "$repo" -s prober-cross >&2
  local rel=$repo/_out/image
  mkdir -p "$rel"
  for a in amd64 arm64; do prober_rootfs "$a" "$work/prober-$a"; done
  mkimage -ref "$PROBER_IMAGE" -entrypoint /netdiff-prober \
    -rootfs "linux/amd64=$work/prober-amd64" -rootfs "linux/arm64=$work/prober-arm64" \
    -oci-layout "$rel/netdiff-prober-oci" -docker-tar "$rel/netdiff-prober-$arch.tar" -docker-platform "linux/$arch"
  tar -C "$rel/netdiff-prober-oci" -cf "$rel/netdiff-prober-oci.tar" .
  log "wrote $rel/netdiff-prober-oci (multi-arch OCI layout), $rel/netdiff-prober-oci.tar and $rel/netdiff-prober-$arch.tar for $PROBER_IMAGE"
}

case ${1:-import} in
  build) build ;;
  import) build; for CTR_NODE in "${NODES[@]}"; do import; done ;;
  import-only) import ;;
  release) release ;;
  *) die "usage: images.sh build|import|release" ;;
esac
