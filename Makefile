# sqsonce: `make demo` runs the pipeline locally, `make test` runs the tests.
# Both install what a fresh machine lacks (moto, cfn-lint, aws-lambda-rie).

SHELL := /bin/bash
GO ?= go
LOCAL_AWS := scripts/with-local-aws.sh
GOARCH_LAMBDA ?= arm64
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: all test vet lint-template build demo bench chaos clean \
	build-ConsumerFunction build-ProducerFunction

all: test

## test: go vet, cfn-lint and go test -race against a local moto (started and stopped here)
test: lint-template
	scripts/ensure-tools.sh moto awscli rie
	$(LOCAL_AWS) bash -c '$(GO) vet ./... && $(GO) test -race -timeout 15m ./...'

lint-template:
	scripts/ensure-tools.sh cfn-lint
	cfn-lint template.yaml

## build: the Lambda bootstraps for the host architecture into .build/
build:
	$(GO) build -tags lambda.norpc -o .build/consumer/bootstrap ./functions/consumer
	$(GO) build -tags lambda.norpc -o .build/producer/bootstrap ./functions/producer

# sam build (BuildMethod: makefile) calls these with ARTIFACTS_DIR set.
build-ConsumerFunction:
	GOARCH=$(GOARCH_LAMBDA) $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/consumer

build-ProducerFunction:
	GOARCH=$(GOARCH_LAMBDA) $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/producer

clean:
	rm -rf .build bin

-include localstack/localstack.mk
