//go:build tools

// Package tools pins the release tools (goreleaser, krew's manifest validator
// and krew itself) in a module of their own, so their large dependency graphs
// never reach the product's go.mod.
package tools

import (
	_ "github.com/goreleaser/goreleaser/v2"
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
