package drops

// The drop watch's BPF object and its Go bindings (drops_bpfel.go, drops_bpfel.o) are
// generated from bpf/drops.c and committed, so building the prober needs no clang.
// Regenerate with `go generate ./plugins/drops` (Debian's clang and libbpf-dev, see
// hack/packages.txt); TestGeneratedIsCurrent fails when the committed files are stale.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -tags linux -target bpfel -type drop_key -type drop_val -type addr_key drops bpf/drops.c
