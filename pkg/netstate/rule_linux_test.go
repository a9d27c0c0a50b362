package netstate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDumpFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string // "key => value", in dump order
	}{
		{"planted-ipv4.nldump", []string{
			"ipv4/0 from all => lookup local",
			"ipv4/100 from all ipproto tcp dport 8081 => lookup 100",
			"ipv4/110 from 10.74.0.0/24 to 192.0.2.0/24 tos 0x10 => lookup 110",
			"ipv4/120 from all fwmark 0x1/0xff iif veth0 => lookup main suppress_prefixlength 0",
			"ipv4/130 not from all oif veth0 ipproto udp sport 1000-2000 => prohibit",
			"ipv4/140 from all uidrange 1000-1999 => unreachable",
			"ipv4/150 from all fwmark 0x2 => blackhole",
			"ipv4/160 from all to 198.51.100.7 => goto 32766",
			"ipv4/32766 from all => lookup main",
			"ipv4/32767 from all => lookup default",
		}},
		{"planted-ipv6.nldump", []string{
			"ipv6/0 from all => lookup local",
			"ipv6/100 from fd74::/64 ipproto tcp dport 443 => lookup 200",
			"ipv6/110 from all uidrange 0-0 => unreachable",
			"ipv6/32766 from all => lookup main",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := ParseDump(b)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.Key()+" => "+r.Value())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDefaultRulesAreRecognised(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "host-ipv4.nldump"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseDump(b)
	if err != nil || len(rs) == 0 {
		t.Fatalf("host dump: %v, %d rules", err, len(rs))
	}
	for _, r := range rs {
		if !r.IsDefault() {
			t.Errorf("host rule %q => %q not recognised as a default rule", r.Key(), r.Value())
		}
	}
}

func TestParseRuleRejectsMalformed(t *testing.T) {
	tests := map[string][]byte{
		"short header":     {2, 0, 0},
		"bad family":       {7, 0, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0},
		"attr past end":    {2, 0, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0, 40, 0, 6, 0, 1, 0, 0, 0},
		"short priority":   {2, 0, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0, 6, 0, 6, 0, 1, 0},
		"prefix too long":  {2, 0, 33, 0, 254, 0, 0, 1, 0, 0, 0, 0, 8, 0, 2, 0, 10, 0, 0, 1},
		"odd address size": {2, 0, 8, 0, 254, 0, 0, 1, 0, 0, 0, 0, 7, 0, 2, 0, 10, 0, 0, 0},
	}
	for name, b := range tests {
		if _, err := ParseRule(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseDump(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.nldump"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, _ := ParseDump(b)
		for _, r := range rs {
			_ = r.Key() + r.Value()
		}
	})
}
