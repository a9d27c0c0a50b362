//go:build tools

// Package calico pins Calico's CNI plugin command, so that `go mod tidy` in this
// module keeps every dependency it needs.
package calico

import (
	_ "github.com/projectcalico/calico/cni-plugin/cmd/calico"
)
