package sockets

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ParseProcNet reads one /proc/net/{tcp,tcp6,udp,udp6,raw,raw6} table. table names the
// file ("tcp6") and decides the protocol, family and state names. Lines that do not parse
// are an error naming the line: the format has been stable since Linux 2.6, so a bad
// line means a wrong file, not a format to skip over.
func ParseProcNet(r io.Reader, table string) ([]Socket, error) {
	_, v6, ok := splitTable(table)
	if !ok {
		return nil, fmt.Errorf("unknown socket table %q: want tcp, tcp6, udp, udp6, raw or raw6", table)
	}
	var out []Socket
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if line == 1 && len(f) > 0 && f[0] == "sl" {
			continue
		}
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 {
			return out, fmt.Errorf("%s line %d: %d fields, want at least 10", table, line, len(f))
		}
		local, err := parseHexAddrPort(f[1], v6)
		if err != nil {
			return out, fmt.Errorf("%s line %d: local address: %w", table, line, err)
		}
		remote, err := parseHexAddrPort(f[2], v6)
		if err != nil {
			return out, fmt.Errorf("%s line %d: remote address: %w", table, line, err)
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return out, fmt.Errorf("%s line %d: state %q: %w", table, line, f[3], err)
		}
		uid, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return out, fmt.Errorf("%s line %d: uid %q: %w", table, line, f[7], err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return out, fmt.Errorf("%s line %d: inode %q: %w", table, line, f[9], err)
		}
		s := Socket{Table: table, State: stateName(uint8(st)), Local: local.String(), UID: uint32(uid), Inode: inode}
		if remote.Port() != 0 || !remote.Addr().IsUnspecified() {
			s.Remote = remote.String()
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// parseHexAddrPort reads "0100007F:0035": the address as the kernel's 32-bit words in
// host byte order, the port in plain hex.
func parseHexAddrPort(s string, v6 bool) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q has no port", s)
	}
	want := 8
	if v6 {
		want = 32
	}
	if len(a) != want {
		return netip.AddrPort{}, fmt.Errorf("%q: address has %d hex digits, want %d", s, len(a), want)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: %w", s, err)
	}
	// Each 32-bit word was printed as a number, so undo the host byte order per word.
	var b [16]byte
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: port: %w", s, err)
	}
	if v6 {
		return netip.AddrPortFrom(netip.AddrFrom16(b), uint16(port)), nil
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), uint16(port)), nil
}

func splitTable(table string) (proto string, v6, ok bool) {
	proto, v6 = strings.CutSuffix(table, "6")
	switch proto {
	case "tcp", "udp", "raw":
		return proto, v6, true
	}
	return "", false, false
}

// tcpStates are ss's names. UDP and raw sockets reuse the numbers: ESTAB is a connected
// socket, UNCONN (TCP_CLOSE) an unconnected one.
var tcpStates = [...]string{1: "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "NEW-SYN-RECV"}

func stateName(st uint8) string {
	if int(st) < len(tcpStates) && tcpStates[st] != "" {
		return tcpStates[st]
	}
	return "STATE-" + strconv.Itoa(int(st))
}
