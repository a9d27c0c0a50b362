// Command mkimage builds container images without docker or a registry: each image is one
// layer made from a root file system directory, on top of nothing (FROM scratch). It writes
// a docker-archive tarball (what `ctr images import` and `docker load` read) for one
// platform, and/or an OCI image layout with a multi-platform index for the release.
//
//	mkimage -ref netdiff/netdiff-prober:v0.1.0 -entrypoint /netdiff-prober \
//	    -rootfs linux/amd64=_out/rootfs/amd64 -rootfs linux/arm64=_out/rootfs/arm64 \
//	    -oci-layout _out/image/oci -docker-tar _out/image/prober-amd64.tar -docker-platform linux/amd64
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var (
		o           Options
		rootfs, ent multiFlag
	)
	flag.StringVar(&o.Ref, "ref", "", "image reference to tag the image with, e.g. netdiff/netdiff-prober:v0.1.0")
	flag.Var(&rootfs, "rootfs", "OS/ARCH=DIR: a platform and the directory that becomes its only layer (repeatable)")
	flag.Var(&ent, "entrypoint", "entrypoint argument (repeatable, in order)")
	flag.Var((*multiFlag)(&o.Cmd), "cmd", "default command argument (repeatable, in order)")
	flag.StringVar(&o.DockerTar, "docker-tar", "", "write a docker-archive tarball of one platform here")
	flag.StringVar(&o.DockerPlatform, "docker-platform", "", "platform for -docker-tar (default: the only -rootfs)")
	flag.StringVar(&o.OCILayout, "oci-layout", "", "write an OCI image layout directory with an index of every platform here")
	flag.Parse()
	o.Entrypoint = ent
	for _, r := range rootfs {
		p, dir, ok := strings.Cut(r, "=")
		if !ok {
			fatal(fmt.Errorf("-rootfs %q: want OS/ARCH=DIR", r))
		}
		o.Platforms = append(o.Platforms, PlatformRoot{Platform: p, Dir: dir})
	}
	if err := Build(o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mkimage:", err)
	os.Exit(2)
}
