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

// buildConsumer builds the consumer's bootstrap into dir, as `make build`
// does for the host (CGO_ENABLED=0, -tags lambda.norpc), and returns its path.
func buildConsumer(ctx context.Context, o Options, dir string) (string, error) {
	bootstrap := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", bootstrap, ConsumerPackage)
	cmd.Dir = o.Root
	cmd.Env = withEnv(o.Env, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", ConsumerPackage, err, out)
	}
	return bootstrap, nil
}
