package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release's version, set by release builds at link time
// (make release VERSION=v0.1.0 runs go build -ldflags "-X
// main.version=v0.1.0"). Empty otherwise: the module's build info says.
var version string

// versionLine is what --version prints: the version, the VCS revision when
// the build has one and its version does not name it, the Go version and the
// platform.
func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return fmt.Sprintf("sqsonce %s %s %s/%s", buildVersion(version, bi), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildVersion is the binary's version: override (the -X main.version of a
// release build) when set, else the main module's version from its build
// info: the tag for go install ...@v0.1.0, a pseudo-version or "(devel)" for
// a build in a checkout. When the build info has a VCS revision
// (vcs.revision, a build in a checkout) that the version does not already
// carry, its first 12 hex digits follow, with "+dirty" when the tree had
// changes (vcs.modified).
func buildVersion(override string, bi *debug.BuildInfo) string {
	v := override
	if v == "" && bi != nil {
		v = bi.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	if bi == nil {
		return v
	}
	var rev string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" || strings.Contains(v, rev) {
		return v
	}
	if modified {
		rev += "+dirty"
	}
	return v + " " + rev
}
