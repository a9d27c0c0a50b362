//go:build tools

// Package calico pins Calico's CNI plugin and Felix commands, so that `go mod tidy`
// in this module keeps every dependency they need.
package calico

import (
	_ "github.com/projectcalico/calico/cni-plugin/cmd/calico"
	_ "github.com/projectcalico/calico/felix/cmd/calico-felix"
)
