package samtemplate_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// compose is the part of localstack/docker-compose.yml these tests read.
type compose struct {
	Services map[string]struct {
		Image       string `yaml:"image"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "localstack", "docker-compose.yml"))
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(b, &c))
	require.Contains(t, c.Services, "localstack")
	return c
}

// The image is pinned to a tag of LocalStack's calendar versions
// (YYYY.MM.patch, month zero-padded as LocalStack tags them), overridable.
func TestLocalStackImagePinned(t *testing.T) {
	t.Parallel()
	image := loadCompose(t).Services["localstack"].Image
	m := regexp.MustCompile(`^localstack/localstack:\$\{LOCALSTACK_VERSION:-(\d{4}\.\d{2}\.\d+)\}$`).FindStringSubmatch(image)
	require.NotNil(t, m, "image %q", image)
}

// The compose healthcheck passes once LocalStack's ready stage completed
// with every init script successful, and fails while it runs or when a
// script failed: run as Docker would, against LocalStack's answers.
func TestLocalStackHealthcheckFailsOnFailedInit(t *testing.T) {
	t.Parallel()
	test := loadCompose(t).Services["localstack"].Healthcheck.Test
	require.Len(t, test, 2)
	require.Equal(t, "CMD-SHELL", test[0])
	command := strings.ReplaceAll(test[1], "$$", "$") // compose's escape of a literal $
	require.Contains(t, command, "http://localhost:4566/_localstack/init/ready")

	cases := []struct {
		name, body string
		healthy    bool
	}{
		{"ready and successful", `{"completed": true, "scripts": [{"stage": "READY", "name": "10-sqsonce.sh", "state": "SUCCESSFUL"}]}`, true},
		{"script failed", `{"completed": true, "scripts": [{"stage": "READY", "name": "10-sqsonce.sh", "state": "ERROR"}]}`, false},
		{"still running", `{"completed": false, "scripts": [{"stage": "READY", "name": "10-sqsonce.sh", "state": "RUNNING"}]}`, false},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, "/_localstack/init/ready", r.URL.Path)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			out, err := exec.Command("sh", "-c", strings.ReplaceAll(command, "http://localhost:4566", srv.URL)).CombinedOutput()
			if tt.healthy {
				require.NoError(t, err, "%s", out)
			} else {
				var exit *exec.ExitError
				require.True(t, errors.As(err, &exit), "unhealthy: %v %s", err, out)
			}
		})
	}
}

// make localstack-up asks for LOCALSTACK_AUTH_TOKEN only for images that
// need it: the last release without one (4.14.0) is not blocked.
func TestLocalStackUpToken(t *testing.T) {
	t.Parallel()
	up := func(env ...string) (string, error) {
		cmd := exec.Command("make", "-s", "localstack-up", "LOCALSTACK_COMPOSE=echo compose")
		cmd.Dir = root
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LOCALSTACK_") && !strings.HasPrefix(kv, "MAKEFLAGS=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := up()
	require.Error(t, err, "the pinned calendar-versioned image needs a token")
	require.Contains(t, out, "LOCALSTACK_AUTH_TOKEN")
	require.Contains(t, out, "LOCALSTACK_VERSION=4.14.0", "the message names the fallback")

	out, err = up("LOCALSTACK_VERSION=4.14.0")
	require.NoError(t, err, out)
	require.Contains(t, out, "compose up -d --wait")

	out, err = up("LOCALSTACK_AUTH_TOKEN=ls-test")
	require.NoError(t, err, out)
	require.Contains(t, out, "compose up -d --wait")
}
