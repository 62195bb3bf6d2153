package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("listeners: [{address: x, service: y}]"), 0o600)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no config flag", nil, 2},
		{"unknown flag", []string{"--nope"}, 2},
		{"missing file", []string{"--config", filepath.Join(t.TempDir(), "absent.yaml")}, 2},
		{"invalid file", []string{"--config", bad}, 2},
	}
	for _, tt := range tests {
		if got := run(tt.args); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
}
