#!/usr/bin/env bash
# Create sqsonce's queues and tables, as template.yaml declares them, with the
# AWS CLI against any endpoint: LocalStack (as a ready.d hook, or from the
# host), moto (CI: internal/samtemplate's drift test runs this script), or a
# real account if you point it there on purpose.
#
# Idempotent: creating an existing queue returns it, attributes are (re)set
# every run, a table is created only when missing and TTL enabled only when
# it is off. Running it twice succeeds and converges.
#
# Environment:
#   PREFIX                      resource name prefix (template parameter Prefix), default sqsonce
#   MAX_RECEIVE_COUNT           redrive after this many receives, default 5 (template: MaxReceiveCount)
#   VISIBILITY_TIMEOUT          of the main queues in seconds, default 185 (the template's); the demo
#                               lowers it so retried records come back quickly
#   AWS_ENDPOINT_URL_SQS        SQS endpoint, else AWS_ENDPOINT_URL, else http://localhost:4566
#   AWS_ENDPOINT_URL_DYNAMODB   DynamoDB endpoint, else AWS_ENDPOINT_URL, else http://localhost:4566
# The endpoints are passed as --endpoint-url: AWS CLI v1 does not read the
# service-specific AWS_ENDPOINT_URL_* variables for every service.
#
# The constants below are template.yaml's; `go test ./internal/samtemplate/`
# fails when what this script creates differs from the template.
set -euo pipefail

PREFIX="${PREFIX:-sqsonce}"
MAX_RECEIVE_COUNT="${MAX_RECEIVE_COUNT:-5}"
VISIBILITY_TIMEOUT="${VISIBILITY_TIMEOUT:-185}"  # 6 x function Timeout (30) + max batching window (5)
QUEUE_RETENTION=345600     # 4 days
DLQ_RETENTION=1209600      # 14 days

SQS_ENDPOINT="${AWS_ENDPOINT_URL_SQS:-${AWS_ENDPOINT_URL:-http://localhost:4566}}"
DDB_ENDPOINT="${AWS_ENDPOINT_URL_DYNAMODB:-${AWS_ENDPOINT_URL:-http://localhost:4566}}"
# Local endpoints accept any credentials; a LocalStack hook has none set.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
export AWS_PAGER=""

AWS_CLI="${AWS_CLI:-aws}"
sqs() { "$AWS_CLI" --endpoint-url "$SQS_ENDPOINT" --output text sqs "$@"; }
ddb() { "$AWS_CLI" --endpoint-url "$DDB_ENDPOINT" --output text dynamodb "$@"; }
log() { echo "sqsonce-init: $*" >&2; }

# json_attrs KEY VALUE... prints a JSON object of string values, as
# set-queue-attributes takes it (the values here never contain backslashes).
json_attrs() {
	local out="" sep=""
	while (($#)); do
		out+="$sep\"$1\":\"${2//\"/\\\"}\""
		sep=","
		shift 2
	done
	printf '{%s}' "$out"
}

# create_queue NAME [ATTRIBUTES]: prints the queue URL.
create_queue() {
	if [[ -n "${2:-}" ]]; then
		sqs create-queue --queue-name "$1" --attributes "$2" --query QueueUrl
	else
		sqs create-queue --queue-name "$1" --query QueueUrl
	fi
}

queue_arn() {
	sqs get-queue-attributes --queue-url "$1" --attribute-names QueueArn --query Attributes.QueueArn
}

# queue_pair NAME SUFFIX: the queue NAME$SUFFIX and its DLQ NAME-dlq$SUFFIX
# (SUFFIX is "" or ".fifo").
queue_pair() {
	local name="$1$2" dlq_name="$1-dlq$2" create_attrs="" fifo_attrs=()
	if [[ "$2" == ".fifo" ]]; then
		create_attrs='{"FifoQueue":"true"}'
		# The producer sets MessageDeduplicationId.
		fifo_attrs=(ContentBasedDeduplication false)
	fi
	local url dlq_url arn dlq_arn
	dlq_url="$(create_queue "$dlq_name" "$create_attrs")"
	url="$(create_queue "$name" "$create_attrs")"
	dlq_arn="$(queue_arn "$dlq_url")"
	arn="$(queue_arn "$url")"

	local allow="{\"redrivePermission\":\"byQueue\",\"sourceQueueArns\":[\"$arn\"]}"
	local dlq_attrs=(MessageRetentionPeriod "$DLQ_RETENTION" SqsManagedSseEnabled true "${fifo_attrs[@]}")
	if ! sqs set-queue-attributes --queue-url "$dlq_url" \
		--attributes "$(json_attrs "${dlq_attrs[@]}" RedriveAllowPolicy "$allow")" 2>/dev/null; then
		log "$SQS_ENDPOINT refused RedriveAllowPolicy on $dlq_name; setting the rest without it"
		sqs set-queue-attributes --queue-url "$dlq_url" --attributes "$(json_attrs "${dlq_attrs[@]}")"
	fi

	local redrive="{\"deadLetterTargetArn\":\"$dlq_arn\",\"maxReceiveCount\":$MAX_RECEIVE_COUNT}"
	sqs set-queue-attributes --queue-url "$url" --attributes "$(json_attrs \
		VisibilityTimeout "$VISIBILITY_TIMEOUT" \
		MessageRetentionPeriod "$QUEUE_RETENTION" \
		SqsManagedSseEnabled true \
		"${fifo_attrs[@]}" \
		RedrivePolicy "$redrive")"
	log "queue $url (DLQ $dlq_url)"
}

# table NAME TTL_ATTRIBUTE KEY_ARGS...: a PAY_PER_REQUEST table with SSE and
# point-in-time recovery; TTL on TTL_ATTRIBUTE unless it is "". KEY_ARGS may
# include --stream-specification (a table's stream is set at its creation).
table() {
	local name="$1" ttl="$2"
	shift 2
	if ! ddb describe-table --table-name "$name" --query Table.TableName >/dev/null 2>&1; then
		local out
		if ! out="$(ddb create-table --table-name "$name" "$@" \
			--billing-mode PAY_PER_REQUEST \
			--sse-specification Enabled=true \
			--query TableDescription.TableName 2>&1 >/dev/null)"; then
			# A concurrent run, or the CLI's retry of a create whose answer was
			# lost, finds the table already there: that is what we wanted.
			[[ "$out" == *ResourceInUseException* ]] || { echo "$out" >&2; return 1; }
		fi
	fi
	ddb wait table-exists --table-name "$name"
	ddb update-continuous-backups --table-name "$name" \
		--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null
	if [[ -n "$ttl" ]]; then
		local status
		status="$(ddb describe-time-to-live --table-name "$name" --query TimeToLiveDescription.TimeToLiveStatus)"
		if [[ "$status" != ENABLED && "$status" != ENABLING ]]; then
			ddb update-time-to-live --table-name "$name" \
				--time-to-live-specification "Enabled=true,AttributeName=$ttl" >/dev/null
		fi
	fi
	log "table $name"
}

# The outbox of NotifyBalanceChanges (created here whatever the parameter,
# as the demo and tests use it): its notifications' queue pair and table.
# The units are independent: run them at the same time (each AWS CLI v1
# call costs most of a second of Python start-up) and fail if any fails.
pids=()
queue_pair "$PREFIX-events" "" & pids+=("$!")
queue_pair "$PREFIX-events" ".fifo" & pids+=("$!")
table "$PREFIX-idempotency" expiration \
	--attribute-definitions AttributeName=id,AttributeType=S \
	--key-schema AttributeName=id,KeyType=HASH & pids+=("$!")
table "$PREFIX-ledger" "" \
	--attribute-definitions AttributeName=account,AttributeType=S AttributeName=entry,AttributeType=S \
	--key-schema AttributeName=account,KeyType=HASH AttributeName=entry,KeyType=RANGE & pids+=("$!")
queue_pair "$PREFIX-balance-changed" ".fifo" & pids+=("$!")
table "$PREFIX-outbox" expiration \
	--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
	--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
	--stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE & pids+=("$!")
failed=0
for pid in "${pids[@]}"; do
	wait "$pid" || failed=1
done
if ((failed)); then
	log "failed (prefix $PREFIX); see the errors above"
	exit 1
fi
log "done (prefix $PREFIX)"
