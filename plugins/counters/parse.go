package counters

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxLine bounds one line of a /proc/net file; TcpExt's header is about 2 KB today.
const maxLine = 256 * 1024

// ParseSNMP reads the header/value line pairs of /proc/net/snmp and /proc/net/netstat
// ("Ip: Forwarding DefaultTTL …" then "Ip: 1 64 …") into "Group/Field" → value.
// A value line that does not match its header is an error: the file is not what we think.
func ParseSNMP(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 8192), maxLine)
	var header []string
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		group, ok := strings.CutSuffix(f[0], ":")
		if !ok {
			return nil, fmt.Errorf("line without a group prefix: %.40q", sc.Text())
		}
		if header == nil || header[0] != f[0] {
			header = f
			continue
		}
		if len(f) != len(header) {
			return nil, fmt.Errorf("group %s: %d names but %d values", group, len(header)-1, len(f)-1)
		}
		for i := 1; i < len(f); i++ {
			v, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				// Unsigned counters beyond int64 do not occur in practice; skip rather than fail.
				continue
			}
			out[group+"/"+header[i]] = v
		}
		header = nil
	}
	return out, sc.Err()
}

// ParseFlat reads "Name value" lines (/proc/net/snmp6) into Name → value.
func ParseFlat(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("want \"name value\", got %.40q", sc.Text())
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		out[f[0]] = v
	}
	return out, sc.Err()
}

// ParseSockstat reads /proc/net/sockstat{,6} ("TCP: inuse 2 orphan 0 …") into
// "TCP/inuse" → value.
func ParseSockstat(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		group, ok := strings.CutSuffix(f[0], ":")
		if !ok || len(f)%2 != 1 {
			return nil, fmt.Errorf("want \"GROUP: name value …\", got %.40q", sc.Text())
		}
		for i := 1; i+1 < len(f); i += 2 {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				continue
			}
			out[group+"/"+f[i]] = v
		}
	}
	return out, sc.Err()
}

// parserFor returns the parser of one of the files this plugin reads.
func parserFor(file string) func(io.Reader) (map[string]int64, error) {
	switch file {
	case "snmp", "netstat":
		return ParseSNMP
	case "snmp6":
		return ParseFlat
	default:
		return ParseSockstat
	}
}

func parseBytes(file string, b []byte) (map[string]int64, error) {
	return parserFor(file)(bytes.NewReader(b))
}
