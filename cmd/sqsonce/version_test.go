package main

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuildVersion(t *testing.T) {
	t.Parallel()
	rev := "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name     string
		override string
		bi       *debug.BuildInfo
		want     string
	}{
		{"go install of a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}}, "v0.1.0"},
		{"checkout without VCS stamping", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)"},
		{"checkout, clean tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, "(devel) 0123456789ab"},
		{"checkout, changed tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")}, "(devel) 0123456789ab+dirty"},
		{"pseudo-version names its revision", "", &debug.BuildInfo{
			Main:     debug.Module{Version: "v0.1.1-0.20260301120000-0123456789ab+dirty"},
			Settings: vcs("true"),
		}, "v0.1.1-0.20260301120000-0123456789ab+dirty"},
		{"no main module version", "", &debug.BuildInfo{}, "(devel)"},
		{"no build info", "", nil, "(devel)"},
		{"release build", "v0.1.0", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v0.1.0"},
		{"release build in a checkout", "v0.1.0", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, "v0.1.0 0123456789ab"},
		{"release build without build info", "v0.1.0", nil, "v0.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, buildVersion(tt.override, tt.bi))
		})
	}
}

// A release build's version is the one given to the linker, as make
// release gives it.
func TestVersionFromLdflags(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "sqsonce")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	require.Regexp(t, `^sqsonce v9\.8\.7-test( [0-9a-f]{12}(\+dirty)?)? go1\.\S+ \w+/\w+\n$`, string(out))
}
