package sockets

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fixtures are /proc/net tables of this project's CI machine: the host's ("tcp"…)
// and a namespace holding the testdata/holder program's sockets ("ns-tcp"…: an IPv6-only
// listener on 8080, a dual-stack one on 9090 with three connections to it, UDP on
// 10.63.0.1:5353 and [fd00:63::1]:53, raw ICMP and ICMPv6).
func TestParseProcNetFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, table string
		want        []string // "state local remote inode" of sockets that must be there
		n           int      // -1: any count
	}{
		{"ns-tcp", "tcp", []string{"ESTAB 127.0.0.1:53596 127.0.0.1:9090 1039397"}, 3},
		{"ns-tcp6", "tcp6", []string{
			"LISTEN [::]:8080  1039387",
			"LISTEN [::]:9090  1039391",
			"ESTAB [::ffff:127.0.0.1]:9090 [::ffff:127.0.0.1]:53624 0",
		}, 5},
		{"ns-udp", "udp", []string{"UNCONN 10.63.0.1:5353  1039393"}, 1},
		{"ns-udp6", "udp6", []string{"UNCONN [fd00:63::1]:53  1039394"}, 1},
		{"ns-raw", "raw", []string{"UNCONN 0.0.0.0:1  1039395"}, 1},
		{"ns-raw6", "raw6", []string{"UNCONN [::]:58  1039396"}, 1},
		{"tcp", "tcp", []string{"LISTEN 0.0.0.0:2024  632"}, -1},
		{"tcp6", "tcp6", nil, 0},
		{"udp", "udp", nil, 0},
		{"raw6", "raw6", nil, 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "procnet", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			socks, err := ParseProcNet(bytes.NewReader(b), tc.table)
			if err != nil {
				t.Fatal(err)
			}
			if tc.n >= 0 && len(socks) != tc.n {
				t.Errorf("%d sockets, want %d: %+v", len(socks), tc.n, socks)
			}
			got := map[string]bool{}
			for _, s := range socks {
				if s.Table != tc.table {
					t.Errorf("socket of table %q in %s", s.Table, tc.table)
				}
				got[strings.Join([]string{s.State, s.Local, s.Remote, strconv.FormatUint(s.Inode, 10)}, " ")] = true
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("missing %q in %v", w, got)
				}
			}
		})
	}
}

func TestParseProcNetRejects(t *testing.T) {
	for name, in := range map[string]string{
		"short v4 address": "0: 0100007F0:0035 00000000:0000 0A 0:0 0:0 0 0 0 1\n",
		"v6 in v4 table":   "0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 1\n",
		"bad port":         "0: 0100007F:XYZ 00000000:0000 0A 0:0 0:0 0 0 0 1\n",
		"too few fields":   "0: 0100007F:0035 00000000:0000 0A\n",
		"bad inode":        "0: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 x\n",
	} {
		if _, err := ParseProcNet(strings.NewReader(in), "tcp"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseProcNet(strings.NewReader(""), "sctp"); err == nil {
		t.Error("unknown table: no error")
	}
}

func FuzzParseProcNet(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "procnet", "*"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		table := strings.TrimPrefix(filepath.Base(p), "ns-")
		f.Add(b, table)
	}
	f.Fuzz(func(t *testing.T, b []byte, table string) {
		socks, err := ParseProcNet(bytes.NewReader(b), table)
		if err != nil {
			return
		}
		for _, s := range socks {
			if s.Table != table || s.Local == "" || s.State == "" {
				t.Fatalf("incomplete socket %+v from %q", s, b)
			}
		}
	})
}
