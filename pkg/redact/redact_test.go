package redact

import (
	"strings"
	"testing"
)

// The redactor's own cases, one per mechanism; plugins/process/corpus_test.go plants the
// full corpus into a real process and checks every output format.
func TestMechanisms(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		secret string
		keep   string // what must stay readable
	}{
		{"shell words", []string{"sh", "-c", "mysql -u root -p s3cr1 -h db"}, "s3cr1", "-h db"},
		{"shell attached", []string{"sh", "-c", "mysql -ps3cr2 -h db"}, "s3cr2", "-h db"},
		{"auth any scheme", []string{"-H", "Authorization: ApiKey s3cr3"}, "s3cr3", "Authorization:"},
		{"auth known scheme kept", []string{"-H", "Authorization: Bearer s3cr4"}, "s3cr4", "Bearer"},
		{"auth no space", []string{"-H", "Authorization:Bearer s3cr12"}, "s3cr12", ""},
		{"spaced pair", []string{"host=db password = s3cr5 dbname=x"}, "s3cr5", "dbname=x"},
		{"quoted pair", []string{"password='s3 cr6' x"}, "s3 cr6", ""},
		{"empty then secret", []string{"--password", "", "s3cr7"}, "s3cr7", ""},
		{"flag in a value", []string{"--opts=--token", "s3cr8"}, "s3cr8", "--opts=--token"},
		{"oracle", []string{"scott/s3cr9@orcl"}, "s3cr9", "@orcl"},
		{"protocol-relative", []string{"//u:s3cr10@h/x"}, "s3cr10", "@h/x"},
		{"port stays", []string{"mysql", "-P", "3306"}, "", "-P 3306"},
	} {
		got := strings.Join(Args(tt.args), " ")
		if tt.secret != "" && strings.Contains(got, tt.secret) {
			t.Errorf("%s: %q keeps %q", tt.name, got, tt.secret)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("%s: %q lost %q", tt.name, got, tt.keep)
		}
	}
	if got := Env("https_proxy", "u:p,s3cr11@h:3128"); strings.Contains(got, "s3cr11") {
		t.Errorf("scheme-less userinfo with ',': %q", got)
	}
}
