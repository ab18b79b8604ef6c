#!/usr/bin/env bash
# Run a command against a local AWS.
#
# If AWS_ENDPOINT_URL is already set (LocalStack, a real account's endpoint),
# the command runs against it unchanged; with SQSONCE_REAL_AWS=1 it runs
# against the account of the AWS environment (credentials, region).
# Otherwise this starts three moto servers on free ports of 127.0.0.1 (DynamoDB
# single-threaded so conditional writes are atomic, SQS threaded for long
# polling, Lambda and IAM for event source mappings), exports the endpoints,
# dummy credentials and a region, runs the command, and stops the servers on
# exit, also on failure or interrupt. Lambda has a server of its own because
# moto invokes a function (with Docker, absent here) when a message is sent
# to a queue that a mapping in the same process reads: the local event source
# mapping (internal/local/esm) does the polling and reads the mapping's state from
# the Lambda server.
set -euo pipefail

# Before any dummy credentials, so a profile or SSO session is used as is.
if [[ -n "${SQSONCE_REAL_AWS:-}" ]]; then
	echo "local-aws: SQSONCE_REAL_AWS is set: using the account and region of the AWS environment" >&2
	exec "$@"
fi

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"

if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
	echo "local-aws: using AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" >&2
	exec "$@"
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/ensure-tools.sh" moto
# The project's virtual environment, when ensure-tools made one, comes first.
if [[ -d "$here/../.venv/bin" ]]; then PATH="$(cd "$here/../.venv/bin" && pwd):$PATH"; fi

dir="$(mktemp -d)"
pids=()
cleanup() {
	for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
	for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # name flags...
	local name="$1"; shift
	python3 "$here/serve_moto.py" "$dir/$name.port" "$@" >"$dir/$name.log" 2>&1 &
	pids+=("$!")
}
start dynamodb --single-threaded
start sqs
start lambda

wait_port() { # name -> echoes the port once the server answers
	local name="$1" i
	for i in $(seq 1 300); do
		if [[ -s "$dir/$name.port" ]]; then
			local port; port="$(cat "$dir/$name.port")"
			if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/data.json" 2>/dev/null; then
				echo "$port"; return 0
			fi
		fi
		sleep 0.1
	done
	echo "local-aws: moto ($name) did not start; its log:" >&2
	cat "$dir/$name.log" >&2
	return 1
}
ddb_port="$(wait_port dynamodb)"
sqs_port="$(wait_port sqs)"
lambda_port="$(wait_port lambda)"

export AWS_ENDPOINT_URL="http://127.0.0.1:$sqs_port"
export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$sqs_port"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
# A table's stream lives in the DynamoDB server's backend; SNS and
# EventBridge are served, with SQS, by AWS_ENDPOINT_URL's server.
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$ddb_port"
export AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$lambda_port"
export AWS_ENDPOINT_URL_IAM="http://127.0.0.1:$lambda_port"
echo "local-aws: moto DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB (single-threaded), SQS at $AWS_ENDPOINT_URL_SQS, Lambda and IAM at $AWS_ENDPOINT_URL_LAMBDA" >&2

"$@"
