package main

import (
	"os"
	"path/filepath"
	"runtime"
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
		{"version", []string{"--version"}, 0},
		{"version in pod mode", []string{"--pod", "--version"}, 0},
	}
	for _, tt := range tests {
		if got := run(tt.args); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestLoopsWithSpareP(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	loops, restore := loopsWithSpareP()
	if loops != before {
		t.Errorf("loops = %d, want one per P (%d)", loops, before)
	}
	if got := runtime.GOMAXPROCS(0); got != before+1 {
		t.Errorf("GOMAXPROCS = %d while serving, want %d (one spare P)", got, before+1)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS = %d after restore, want %d", got, before)
	}
}
