package demo

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// ConsumerPackage is the consumer function's package, relative to the
// module root.
const ConsumerPackage = "./functions/consumer"

// build builds a function's bootstrap (pkg) into dir/name/bootstrap, as
// `make build` does for the host (CGO_ENABLED=0, -tags lambda.norpc), and
// returns its path.
func build(ctx context.Context, o Options, dir, pkg, name string) (string, error) {
	bootstrap := filepath.Join(dir, name, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", bootstrap, pkg)
	cmd.Dir = o.Root
	cmd.Env = withEnv(o.Env, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bootstrap, nil
}
