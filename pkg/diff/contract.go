package diff

import "github.com/netdiff/kubectl-netdiff/pkg/contract"

// The plugin contract's types, as the diff engine and its callers (render, engine) name
// them. Plugins import pkg/contract itself, never this package.
type (
	Finding    = contract.Finding
	Evidence   = contract.Evidence
	Severity   = contract.Severity
	Kind       = contract.Kind
	Row        = contract.Row
	Comparison = contract.Comparison
	Rule       = contract.Rule
	Identity   = contract.Identity
)

const (
	Info     = contract.Info
	Low      = contract.Low
	Medium   = contract.Medium
	High     = contract.High
	Critical = contract.Critical

	Cause   = contract.Cause
	Symptom = contract.Symptom
	Context = contract.Context
)

// The placeholders the normaliser writes (see contract.SelfIP).
const (
	SelfIP        = contract.SelfIP
	SelfMAC       = contract.SelfMAC
	SelfHostname  = contract.SelfHostname
	SelfName      = contract.SelfName
	PeerIP        = contract.PeerIP
	PeerMAC       = contract.PeerMAC
	PeerHostname  = contract.PeerHostname
	PeerName      = contract.PeerName
	SelfGateway   = contract.SelfGateway
	PeerGateway   = contract.PeerGateway
	SelfNodeNet   = contract.SelfNodeNet
	PeerNodeNet   = contract.PeerNodeNet
	SelfNodeBcast = contract.SelfNodeBcast
	PeerNodeBcast = contract.PeerNodeBcast
)
