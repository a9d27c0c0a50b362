package target

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "10.0.0.1:80", want: "tcp://10.0.0.1:80"},
		{in: "tcp://example.internal:443", want: "tcp://example.internal:443"},
		{in: "udp://[fd00::1]:53", want: "udp://[fd00::1]:53"},
		{in: "[::1]:8080", want: "tcp://[::1]:8080"},
		{in: "icmp://10.0.0.1", want: "icmp://10.0.0.1"},
		{in: "icmp://[fd00::1]", want: "icmp://fd00::1"},
		{in: "dns://kubernetes.default.svc", want: "dns://kubernetes.default.svc"},
		{in: "http://10.0.0.1:8080/healthz", want: "http://10.0.0.1:8080/healthz"},
		{in: "https://api.internal", want: "https://api.internal"},
		{in: "", wantErr: true},
		{in: "10.0.0.1", wantErr: true},
		{in: "10.0.0.1:0", wantErr: true},
		{in: "10.0.0.1:70000", wantErr: true},
		{in: "fd00::1:80", wantErr: true},
		{in: "ftp://x:21", wantErr: true},
		{in: "icmp://", wantErr: true},
		{in: "http://", wantErr: true},
		{in: "tcp://bad host:1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got.String() != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got.String(), tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3.4:80", "udp://[::1]:53", "icmp://h", "https://x/y", "dns://a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed target must parse again to itself: the plugin passes String() to the prober.
		again, err := Parse(tg.String())
		if err != nil || again.String() != tg.String() {
			t.Fatalf("round trip of %q: %q -> %v %q", s, tg.String(), err, again.String())
		}
	})
}
