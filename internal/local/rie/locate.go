package rie

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EmulatorEnvVar names the variable that points at the emulator binary.
const EmulatorEnvVar = "SQSONCE_RIE"

// emulatorName is the binary's name in bin/ and on PATH.
const emulatorName = "aws-lambda-rie"

// FindEmulator returns the path of the aws-lambda-rie binary: explicit if not
// empty, else $SQSONCE_RIE, else bin/aws-lambda-rie in the module root (the
// nearest directory at or above the working directory holding a go.mod),
// else aws-lambda-rie on PATH. env is searched for SQSONCE_RIE and PATH (nil
// means the process environment). A candidate that is named but missing is an
// error rather than a reason to look further, so a typo is not hidden.
func FindEmulator(explicit string, env []string) (string, error) {
	if env == nil {
		env = os.Environ()
	}
	if explicit != "" {
		return checkExecutable(explicit, "EmulatorPath")
	}
	if p := lookupEnv(env, EmulatorEnvVar); p != "" {
		return checkExecutable(p, "$"+EmulatorEnvVar)
	}
	if root, ok := moduleRoot(); ok {
		p := filepath.Join(root, "bin", emulatorName)
		if _, err := checkExecutable(p, "module bin"); err == nil {
			return p, nil
		}
	}
	for _, dir := range filepath.SplitList(lookupEnv(env, "PATH")) {
		if dir == "" {
			continue
		}
		if p, err := checkExecutable(filepath.Join(dir, emulatorName), "PATH"); err == nil {
			return p, nil
		}
	}
	return "", ErrEmulatorNotFound
}

func checkExecutable(path, source string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("emulator from %s %q: %w", source, path, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("emulator from %s %q: %w (%w)", source, path, err, ErrEmulatorNotFound)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("emulator from %s %q is not an executable file: %w", source, path, ErrEmulatorNotFound)
	}
	return abs, nil
}

func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// lookupEnv returns the last value of key in env, as the process would see it.
func lookupEnv(env []string, key string) string {
	val := ""
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val = v
		}
	}
	return val
}
