package samtemplate_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
)

// The Valkey/Redis settings of the template: the parameter group the store
// needs (noeviction, which the store checks at start) is said where the
// endpoint is given, and waiting for replicas is off by default, with a
// timeout under the client's one-second read timeout.
func TestRedisParameters(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	require.Contains(t, param(t, tmpl, "RedisUrl").Description, "maxmemory-policy to noeviction")

	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	require.Equal(t, "RedisWaitReplicas", refParam(t, tmpl, vars["REDIS_WAIT_REPLICAS"]))
	require.Equal(t, "RedisWaitTimeout", refParam(t, tmpl, vars["REDIS_WAIT_TIMEOUT"]))
	require.Equal(t, "0", str(t, tmpl, vars["REDIS_WAIT_REPLICAS"], nil), "no wait by default")
	require.Equal(t, 0.0, minOf(t, tmpl, vars["REDIS_WAIT_REPLICAS"]))

	timeout := param(t, tmpl, "RedisWaitTimeout")
	pattern := regexp.MustCompile(timeout.AllowedPattern)
	for v, ok := range map[string]bool{"500ms": true, "1ms": true, "999ms": true, "1000ms": false, "1s": false, "0ms": false, "": false} {
		require.Equal(t, ok, pattern.MatchString(v), "RedisWaitTimeout %q", v)
	}
	d, err := time.ParseDuration(timeout.Default.(string))
	require.NoError(t, err)
	require.Less(t, d, time.Second)

	// As the consumer reads them.
	created := map[string]bool{"CreateIdempotencyTable": true}
	redis := map[string]string{"IdempotencyStore": "redis", "RedisUrl": "redis://cache:6379"}
	cfg, err := consumer.LoadConfig(consumerEnv(t, tmpl, redis, created))
	require.NoError(t, err)
	require.Zero(t, cfg.RedisWaitReplicas)
	require.Equal(t, d, cfg.RedisWaitTimeout)
	redis["RedisWaitReplicas"], redis["RedisWaitTimeout"] = "2", "250ms"
	cfg, err = consumer.LoadConfig(consumerEnv(t, tmpl, redis, created))
	require.NoError(t, err)
	require.Equal(t, 2, cfg.RedisWaitReplicas)
	require.Equal(t, 250*time.Millisecond, cfg.RedisWaitTimeout)
}
