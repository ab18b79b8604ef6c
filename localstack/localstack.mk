# LocalStack targets, included by the root Makefile (`-include localstack/localstack.mk`).
# They need Docker (and samlocal for localstack-deploy); these CI machines have
# neither, so CI runs localstack/init/ready.d/10-sqsonce.sh against moto
# instead (internal/samtemplate's drift test).

LOCALSTACK_ENDPOINT ?= http://localhost:4566
LOCALSTACK_COMPOSE ?= docker compose -f localstack/docker-compose.yml
# The init script creates the resources with PREFIX (default sqsonce) for
# `make demo`; the SAM stack gets names of its own so the two never collide.
LOCALSTACK_STACK ?= sqsonce-local
LOCALSTACK_STACK_PREFIX ?= sqsonce-sam
SAMLOCAL ?= samlocal
LOCALSTACK_ENV := env -u AWS_ENDPOINT_URL_SQS -u AWS_ENDPOINT_URL_DYNAMODB \
	AWS_ENDPOINT_URL=$(LOCALSTACK_ENDPOINT) \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

.PHONY: localstack-up localstack-down localstack-init localstack-deploy localstack-e2e

## localstack-up: start LocalStack on 127.0.0.1:4566 and wait until the init script has run (and succeeded)
# Calendar-versioned images (2026.03.0 and later) need LOCALSTACK_AUTH_TOKEN;
# 4.14.0 and earlier do not.
localstack-up:
	@version="$${LOCALSTACK_VERSION:-$$(sed -n 's/.*LOCALSTACK_VERSION:-\([^}]*\)}.*/\1/p' localstack/docker-compose.yml)}"; \
	if [[ -z "$${LOCALSTACK_AUTH_TOKEN:-}" && "$$version" == 20* ]]; then \
		echo "localstack-up: LocalStack $$version does not start without LOCALSTACK_AUTH_TOKEN (a free account at localstack.cloud):" >&2; \
		echo "  export LOCALSTACK_AUTH_TOKEN=..., or use the last release that needs none: LOCALSTACK_VERSION=4.14.0 make localstack-up" >&2; \
		exit 1; fi
	$(LOCALSTACK_COMPOSE) up -d --wait

## localstack-down: stop LocalStack and drop its state
localstack-down:
	$(LOCALSTACK_COMPOSE) down --volumes

## localstack-init: (re)create the queues and tables from the host (idempotent)
localstack-init:
	scripts/ensure-tools.sh awscli
	$(LOCALSTACK_ENV) localstack/init/ready.d/10-sqsonce.sh

## localstack-deploy: sam build + deploy template.yaml into LocalStack (pip install aws-sam-cli-local)
localstack-deploy:
	@command -v $(SAMLOCAL) >/dev/null || { echo "localstack-deploy: $(SAMLOCAL) not found: pip install aws-sam-cli aws-sam-cli-local" >&2; exit 1; }
	$(LOCALSTACK_ENV) $(SAMLOCAL) build
	$(LOCALSTACK_ENV) $(SAMLOCAL) deploy --stack-name $(LOCALSTACK_STACK) --resolve-s3 \
		--capabilities CAPABILITY_IAM --no-confirm-changeset --no-fail-on-empty-changeset \
		--parameter-overrides Prefix=$(LOCALSTACK_STACK_PREFIX) LogLevel=DEBUG

## localstack-e2e: run `make demo` against LocalStack
localstack-e2e:
	$(LOCALSTACK_ENV) $(MAKE) demo
