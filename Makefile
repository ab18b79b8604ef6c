# sqsonce: `make demo` runs the pipeline locally, `make test` runs the tests.
# Both install what a fresh machine lacks (moto, cfn-lint and awscli into .venv; aws-lambda-rie into bin/).

SHELL := /bin/bash
GO ?= go
# The project's virtual environment (scripts/ensure-tools.sh makes it when the pinned Python tools
# are not already importable) comes first on PATH.
export PATH := $(CURDIR)/.venv/bin:$(PATH)
LOCAL_AWS := scripts/with-local-aws.sh
GOARCH_LAMBDA ?= arm64
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: all test fuzz vet lint-template build demo bench chaos release clean \
	build-ConsumerFunction build-ProducerFunction

all: test

## test: go vet, cfn-lint, go test -race against a local moto (started and stopped here), short fuzzing
test: lint-template
	scripts/ensure-tools.sh moto awscli redis rie
	$(LOCAL_AWS) bash -c '$(GO) vet ./... && $(GO) test -race -timeout 15m ./...'
	scripts/fuzz.sh

## fuzz: run every fuzz target for FUZZTIME (default 10s each)
fuzz:
	FUZZTIME=$${FUZZTIME:-10s} scripts/fuzz.sh

## demo: the whole pipeline locally: producer -> queue -> consumer under the Lambda emulator -> report
demo:
	scripts/ensure-tools.sh moto awscli rie
	$(LOCAL_AWS) $(GO) run ./cmd/sqsonce demo $(DEMO_ARGS)

## bench: benchmarks (requests per message, throughput against a no-idempotency baseline, CPU, cold start)
bench:
	scripts/ensure-tools.sh moto rie
	scripts/bench.sh

## chaos: the reliability suite at large sizes (duplicate storms with killed workers, outages)
chaos:
	scripts/ensure-tools.sh moto awscli redis rie
	scripts/chaos.sh

## lint-template: cfn-lint on template.yaml, and on the CloudFormation the SAM transform makes of it
lint-template:
	scripts/ensure-tools.sh cfn-lint
	cfn-lint template.yaml
	@mkdir -p .build
	python3 scripts/sam-transform.py template.yaml .build/template.cfn.json
	cfn-lint .build/template.cfn.json

## build: the Lambda bootstraps for the host architecture into .build/
build:
	$(GO) build -tags lambda.norpc -o .build/consumer/bootstrap ./functions/consumer
	$(GO) build -tags lambda.norpc -o .build/producer/bootstrap ./functions/producer
	$(GO) build -tags lambda.norpc -o .build/relay/bootstrap ./functions/relay

## release: VERSION=vX.Y.Z: check the tree is clean and CHANGELOG.md has the version's section, then build
## the CLI stamped with the version into .build/release/ (tagging and pushing stay with you)
release:
	@[[ "$(VERSION)" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$$ ]] || \
		{ echo "make release: give VERSION=vX.Y.Z (got '$(VERSION)')" >&2; exit 2; }
	@changes=$$(git status --porcelain) && [[ -z "$$changes" ]] || \
		{ echo "make release: the tree is not a clean checkout:" >&2; git status --short >&2; exit 1; }
	@grep -q '^## \[$(patsubst v%,%,$(VERSION))\]' CHANGELOG.md || \
		{ echo "make release: CHANGELOG.md has no '## [$(patsubst v%,%,$(VERSION))]' section" >&2; exit 1; }
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w -X main.version=$(VERSION)' -o .build/release/sqsonce ./cmd/sqsonce
	.build/release/sqsonce --version
	@echo "make release: built $(VERSION); to publish it: git tag $(VERSION) && git push origin $(VERSION)"

# sam build (BuildMethod: makefile) calls these with ARTIFACTS_DIR set.
build-ConsumerFunction:
	GOARCH=$(GOARCH_LAMBDA) $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/consumer

build-ProducerFunction:
	GOARCH=$(GOARCH_LAMBDA) $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/producer

build-RelayFunction:
	GOARCH=$(GOARCH_LAMBDA) $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/relay

clean:
	rm -rf .build bin

-include localstack/localstack.mk
