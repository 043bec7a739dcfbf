package execmode

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"orders", true},
		{"a", true},
		{"0.v1_beta-2", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"_a", false},
		{".a", false},
		{"a b", false},
		{"a/b", false},
		{"é", false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.s); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
