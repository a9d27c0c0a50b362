package netfilter

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Legacy x_tables (iptables-legacy) are read with the same getsockopt calls iptables-save
// uses. Only tables already listed in ip_tables_names are asked for: asking for another
// name would make the kernel create it in this namespace, and the prober changes nothing.

const (
	soGetInfo    = 64 // IPT_SO_GET_INFO == IP6T_SO_GET_INFO
	soGetEntries = 65 // IPT_SO_GET_ENTRIES == IP6T_SO_GET_ENTRIES
	tableNameLen = 32 // XT_TABLE_MAXNAMELEN
	numHooks     = 5  // NF_INET_NUMHOOKS
	// maxBlob bounds the entries read per table: a kube-proxy node can have megabytes.
	maxBlob = 8 << 20
)

// layout of struct ipt_entry / ip6t_entry on 64-bit Linux.
type layout struct {
	entrySize    int // sizeof(struct ipt_entry)
	targetOffset int // offset of target_offset (u16); next_offset follows
}

var (
	layout4 = layout{entrySize: 112, targetOffset: 88}
	layout6 = layout{entrySize: 168, targetOffset: 140}
)

var hookNames = [numHooks]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// XTable is one legacy table: its rules (chain policies, user-chain heads and tails left
// out), user chains, the policies of its built-in chains and what its rules jump to.
type XTable struct {
	Name       string            `json:"name"`
	Entries    int               `json:"entries"`
	Rules      int               `json:"rules"`
	UserChains int               `json:"userChains"`
	Policies   map[string]string `json:"policies,omitempty"`
	// Targets counts rules by target: ACCEPT, DROP, RETURN, JUMP, or an extension
	// target's name (REJECT, DNAT, MASQUERADE, REDIRECT, …).
	Targets map[string]int `json:"targets,omitempty"`
	Error   *report.Error  `json:"error,omitempty"`
}

type getinfo struct {
	Name       [tableNameLen]byte
	ValidHooks uint32
	HookEntry  [numHooks]uint32
	Underflow  [numHooks]uint32
	NumEntries uint32
	Size       uint32
}

// ParseEntries reads the entry blob of IPT_SO_GET_ENTRIES. Built-in chains end in a
// policy entry (at an underflow offset); a user chain starts with an ERROR entry naming it
// and ends in a RETURN entry; the table ends in one more ERROR entry.
func ParseEntries(b []byte, lay layout, validHooks uint32, underflow [numHooks]uint32) (XTable, error) {
	type entry struct {
		off     int
		target  string
		verdict int32
	}
	var entries []entry
	for off := 0; off < len(b); {
		if len(b)-off < lay.entrySize {
			return XTable{}, fmt.Errorf("entry at %d: %d bytes left, want %d", off, len(b)-off, lay.entrySize)
		}
		tOff := int(binary.NativeEndian.Uint16(b[off+lay.targetOffset:]))
		next := int(binary.NativeEndian.Uint16(b[off+lay.targetOffset+2:]))
		// xt_entry_target: u16 size, name[29], u8 revision, then data (a verdict for "").
		if tOff < lay.entrySize || next < tOff+32 || off+next > len(b) {
			return XTable{}, fmt.Errorf("entry at %d: bad offsets target=%d next=%d", off, tOff, next)
		}
		tgt := b[off+tOff : off+next]
		name := string(bytes.TrimRight(tgt[2:31], "\x00"))
		var verdict int32
		if name == "" && len(tgt) >= 36 {
			verdict = int32(binary.NativeEndian.Uint32(tgt[32:]))
		}
		entries = append(entries, entry{off: off, target: name, verdict: verdict})
		off += next
	}
	policyAt := map[int]string{}
	for h := 0; h < numHooks; h++ {
		if validHooks&(1<<h) != 0 {
			policyAt[int(underflow[h])] = hookNames[h]
		}
	}
	t := XTable{Entries: len(entries), Policies: map[string]string{}, Targets: map[string]int{}}
	tail := map[int]bool{} // entries that close a chain
	for i, e := range entries {
		if e.target == "ERROR" && i > 0 {
			tail[i-1] = true
		}
	}
	for i, e := range entries {
		switch {
		case policyAt[e.off] != "":
			t.Policies[policyAt[e.off]] = standardName(e.verdict)
		case e.target == "ERROR":
			if i < len(entries)-1 {
				t.UserChains++
			}
		case tail[i]:
		default:
			t.Rules++
			if e.target == "" {
				t.Targets[standardName(e.verdict)]++
			} else {
				t.Targets[e.target]++
			}
		}
	}
	return t, nil
}

// standardName names a standard target's verdict: negative values are -NF_x-1, others
// are jump offsets.
func standardName(v int32) string {
	switch v {
	case -1:
		return "DROP"
	case -2:
		return "ACCEPT"
	case -4:
		return "QUEUE"
	case -5:
		return "RETURN"
	}
	if v >= 0 {
		return "JUMP"
	}
	return fmt.Sprintf("VERDICT%d", v)
}
