package netfilter

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// readXTable asks the kernel for one table. family is unix.AF_INET or unix.AF_INET6.
func readXTable(family int, name string) XTable {
	t := XTable{Name: name}
	level, lay := unix.IPPROTO_IP, layout4
	if family == unix.AF_INET6 {
		level, lay = unix.IPPROTO_IPV6, layout6
	}
	// A raw socket is what the kernel accepts these options on; it needs CAP_NET_RAW, and
	// the options themselves CAP_NET_ADMIN.
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		t.Error = report.ErrorOf(fmt.Errorf("raw socket for iptables: %w", err))
		return t
	}
	defer unix.Close(fd)

	var info getinfo
	copy(info.Name[:], name)
	size := uint32(unsafe.Sizeof(info))
	if err := getsockopt(fd, level, soGetInfo, unsafe.Pointer(&info), &size); err != nil {
		t.Error = report.ErrorOf(fmt.Errorf("iptables %s: get info: %w", name, err))
		return t
	}
	if info.Size > maxBlob {
		t.Entries = int(info.NumEntries)
		t.Error = &report.Error{Message: fmt.Sprintf("table %s is %d bytes; only tables up to %d bytes are read", name, info.Size, maxBlob)}
		return t
	}
	// struct ipt_get_entries: name[32], u32 size, then the entries 8-byte aligned.
	const hdr = tableNameLen + 8
	buf := make([]byte, hdr+int(info.Size))
	copy(buf, name)
	binary.NativeEndian.PutUint32(buf[tableNameLen:], info.Size)
	blen := uint32(len(buf))
	if err := getsockopt(fd, level, soGetEntries, unsafe.Pointer(&buf[0]), &blen); err != nil {
		t.Error = report.ErrorOf(fmt.Errorf("iptables %s: get entries: %w", name, err))
		return t
	}
	parsed, err := ParseEntries(buf[hdr:], lay, info.ValidHooks, info.Underflow)
	if err != nil {
		t.Error = report.ErrorOf(fmt.Errorf("iptables %s: %w", name, err))
		return t
	}
	parsed.Name = name
	return parsed
}

func getsockopt(fd, level, opt int, p unsafe.Pointer, size *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(size)), 0)
	if e != 0 {
		return e
	}
	return nil
}
