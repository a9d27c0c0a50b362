# kubectl-netdiff: `make test` is the one command that runs every test (as root).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell cat VERSION 2>/dev/null || echo v0.0.0-dev)
PKG := github.com/netdiff/kubectl-netdiff
LDFLAGS := -s -w -X $(PKG)/pkg/version.Version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags '$(LDFLAGS)'
BIN := bin

.PHONY: all build prober plugin test unit deps cross-os fuzz-smoke bench clean try

all: build

# try: the taste without a cluster, as root: two network namespaces shaped like two pods
# (one without its default route, as in the case study), the real prober in each, the real
# plugin diffing the two reports (docs/try.md). Builds only the prober and the plugin.
try:
	@$(MAKE) -s prober plugin
	@$(GO) run ./hack/try -prober $(BIN)/netdiff-prober -plugin $(BIN)/kubectl-netdiff -dir _out/try $(TRY_ARGS)

build: prober plugin

prober:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/netdiff-prober ./cmd/netdiff-prober

plugin:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/kubectl-netdiff ./cmd/kubectl-netdiff

# The prober for both node architectures the image supports.
prober-cross:
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/linux-$$arch/netdiff-prober ./cmd/netdiff-prober || exit 1; \
	done

# cross-os: the plugin builds for the other operating systems krew ships it to (what breaks
# there is Linux-only code in a portable file). `make cross` builds all six OS/arch pairs;
# the release snapshot in `make test` builds them all again, so unit tests need not wait.
cross-os:
	@set -e; for os in darwin windows; do echo "kubectl-netdiff $$os/amd64"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=amd64 $(GO) build -o /dev/null ./cmd/kubectl-netdiff; done

# cross: the kubectl plugin builds for every platform krew ships it to (Linux-only
# collection code lives in *_linux.go files; see docs/development.md). Nothing is kept.
.PHONY: cross
cross:
	@set -e; for os in linux darwin windows; do for arch in amd64 arm64; do \
	  echo "kubectl-netdiff $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -o /dev/null ./cmd/kubectl-netdiff; \
	done; done

# test: the one command that runs every test, as root: unit and network-namespace tests
# (and the cross build), the e2e suite on a local cluster that it builds, starts and stops
# again (KEEP_CLUSTER=1 leaves it running), then the release checks (snapshot archives,
# krew manifest, image).
# The release snapshot builds the plugin for all six platforms, so test skips cross-os.
test: deps
	@hack/phase.sh unit $(MAKE) unit NO_CROSS=1
	@hack/phase.sh e2e $(MAKE) e2e; rc=$$?; [ -n "$(KEEP_CLUSTER)" ] || $(MAKE) cluster-down PURGE=1; exit $$rc
	@hack/phase.sh release-test $(MAKE) release-test

# deps: every Debian package the tests, tools and scripts exec (hack/packages.txt), installed
# if missing; depcheck then fails if any command they exec is not in that list.
deps:
	@hack/deps.sh

unit: deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$unformatted" ] || { echo "gofmt needed: $$unformatted"; exit 1; }
	@hack/phase.sh depcheck $(GO) run ./hack/depcheck
	@hack/phase.sh vet $(GO) vet ./...
	@mkdir -p _out; rm -f _out/planted-causes.txt _out/planted-drops.txt
	@NETDIFF_PLANTED_OUT=$(CURDIR)/_out/planted-causes.txt NETDIFF_PLANTED_DROPS_OUT=$(CURDIR)/_out/planted-drops.txt \
	  hack/phase.sh go-test $(GO) test -count=1 ./...
	@cat _out/planted-causes.txt _out/planted-drops.txt 2>/dev/null || true
	@hack/phase.sh without-plugins hack/without-plugins.sh sockets http pod
	@[ -n "$(NO_CROSS)" ] || hack/phase.sh cross-os $(MAKE) -s cross-os

# The Go benchmarks, then the floor benchmark on the local cluster (brought up if needed):
# netdiff's wall time against one ephemeral container + one exec, side by side, several
# repetitions (BENCH_REPS, default 5). The last line is `netdiff/floor ratio: X.XX`.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@$(MAKE) -s plugin prober
	@kc=$$(hack/cluster/up.sh | tail -1) && \
	  $(GO) run ./hack/bench -kubeconfig "$${kc#KUBECONFIG=}" -plugin $(BIN)/kubectl-netdiff -reps $(or $(BENCH_REPS),5)

clean:
	rm -rf $(BIN)

# --- local single-node Kubernetes cluster and e2e tests (docs/cluster.md) -------------------
.PHONY: cluster-up cluster-down image e2e e2e-matrix demo

# Starts (or reuses) the cluster; the last line printed is KUBECONFIG=<path>.
cluster-up: deps
	@hack/cluster/up.sh

# Stops it and restores the machine; `make cluster-down PURGE=1` also deletes _out/cluster.
cluster-down:
	@hack/cluster/down.sh $(if $(PURGE),--purge)

# The multi-arch prober image: _out/image/netdiff-prober-oci (OCI layout) and its .tar.
image:
	@hack/cluster/images.sh release

# e2e tests against the local cluster (brought up if needed), or against
# NETDIFF_E2E_KUBECONFIG with NETDIFF_E2E_IMAGE if set.
e2e: deps
	@hack/cluster/e2e.sh

# The e2e suite on the oldest and the newest Kubernetes minor that build here, each on a
# fresh local cluster (purged before, between and after): hack/cluster/kube (v1.34.4, with
# Calico and again with ptp) and hack/cluster/kube-v1.37 (v1.37.2); MATRIX_MODULES=
# "dir[:ptp]..." picks others. Results in
# _out/e2e-matrix.txt, logs in _out/e2e-matrix/ (docs/cluster.md, "Version matrix").
e2e-matrix: deps
	@hack/cluster/e2e-matrix.sh $(MATRIX_MODULES)

demo: deps
	@hack/cluster/demo.sh

# --- release: goreleaser snapshot and the krew manifest (docs/install.md) -------------------
# The tools are built from hack/release/tools (a Go module of its own) on first use and
# cached under ~/.cache/netdiff-tools/<version>/; a cold build of goreleaser takes minutes.
.PHONY: release-tools release-snapshot krew-validate release-test

release-tools:
	@set -e; for t in goreleaser validate-krew-manifest krew; do hack/release/tools.sh $$t; done

# Every archive of a release into dist/ (plugin: linux/darwin/windows x amd64/arm64, prober:
# linux amd64/arm64) with checksums.txt, versioned from VERSION, nothing published.
release-snapshot:
	@set -e; goreleaser=$$(hack/release/tools.sh goreleaser); \
	  NETDIFF_SNAPSHOT_VERSION=$(patsubst v%,%,$(VERSION)) $$goreleaser release --snapshot --skip=publish --clean

# Renders krew-manifest.yaml from dist/ (running release-snapshot if there is none) and
# checks it with krew's validate-krew-manifest, including a krew install of every platform
# from a loopback server and `kubectl krew install --archive` of this machine's archive.
krew-validate:
	@set -e; [[ -f dist/checksums.txt ]] || $(MAKE) -s release-snapshot; \
	  validator=$$(hack/release/tools.sh validate-krew-manifest); krew=$$(hack/release/tools.sh krew); \
	  $(GO) run ./hack/release/krewmanifest check -dist dist -validator "$$validator" -krew "$$krew"

# The release tests (build tag release): release-snapshot, krew-validate, archive contents.
release-test:
	$(GO) test -tags release -count=1 -timeout 40m -v ./test/release/...
