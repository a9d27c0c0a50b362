package netprobe

import (
	"errors"
	"net"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

func asDNSError(err error, target **net.DNSError) bool { return errors.As(err, target) }

func interfaceIndex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
