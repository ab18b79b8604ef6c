package awstest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// scripts/serve_moto.py patches moto's internals as they are in the version
// it was written for; with any other version it refuses to start, saying
// what to install.
func TestServeMotoRefusesAnotherMotoVersion(t *testing.T) {
	t.Parallel()
	fake := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(fake, "moto"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fake, "moto", "__init__.py"), []byte(`__version__ = "4.0.0"`+"\n"), 0o644))
	cmd := exec.Command("python3", filepath.Join("..", "..", "scripts", "serve_moto.py"), filepath.Join(fake, "port"))
	cmd.Env = append(os.Environ(), "PYTHONPATH="+fake)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "output: %s", out)
	require.NotZero(t, exit.ExitCode())
	require.Contains(t, string(out), "moto 4.0.0 is installed, but this script patches moto 5.2.1")
	require.NoFileExists(t, filepath.Join(fake, "port"))
}
