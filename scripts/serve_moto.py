"""Serve moto on 127.0.0.1 on a free port and write the port to a file.

usage: serve_moto.py PORT_FILE [--single-threaded]

--single-threaded serves one request at a time. moto's threaded server does
not make conditional writes or transactions atomic (see LOCAL-AWS.md), so
DynamoDB is served single-threaded; SQS stays threaded because a long-polling
ReceiveMessage would block a single-threaded server.

Transactions: moto 5.2.1's TransactWriteItems deep-copies every table it
touches before it runs, to restore them if the transaction is cancelled. That
makes a transaction O(table size) (340 ms at 10,000 items) and, at the
5,000-event chaos storm, grew the server past 9 GB. In a single-threaded
server nothing else runs during a transaction, so saving only the items the
transaction touches is the same rollback: journal_transactions does that and
leaves the rest of moto's TransactWriteItems (conditions, cancellation
reasons, ALL_OLD items, the 100-action and one-op-per-item rules) unchanged.

Receives: moto 5.2.1's SQS reads its clock through datetime arithmetic (about
7 us a call, twice per message per scan) and, for every message it returns,
recomputes all queue attributes (three scans of the queue) to read the
retention period. A receive of 10 from a queue of 1,000 messages took 1.1 s.
fast_sqs_receives reads the clock with time.time() and the retention period
from the queue, with the same results.

FIFO redelivery: moto 5.2.1 frees a message whose visibility timeout expired
from its in-flight set only when a receive reaches it, and skips a message
while any other of its group is in flight. When several messages of one group
time out together (a failed batch), the receive frees the first, skips it
because the later ones are still in flight, and so on: the last is delivered
first, and the group's order is broken (SQS keeps it). ordered_fifo_redelivery
frees every timed-out message whenever the queue's messages or in-flight
groups are read, so a group is in flight only while one of its messages is,
and its messages come back in order. TestFIFORedeliveryKeepsGroupOrder
(internal/testenv/awstest) fails without it.

FIFO receives: moto's threaded server runs concurrent receives of one queue
at once. A receive reads the groups in flight before it scans, and marks a
message in flight before it sets its visibility timeout: while one receive
takes a group's first message, another can hand out the next one (or free
the first as timed out), so two consumers hold one group, which SQS never
allows. serialized_fifo_receives runs one scan of a FIFO queue at a time (a
long poll waits between scans, without holding the queue). The race is rare
in a small test (TestConcurrentFIFOReceivesLockTheGroup guards the rule); the
FIFO storm of internal/reliability, run twice at once on two cores, broke a
group's order without it.

Batch sends: moto 5.2.1's SendMessageBatch drops each entry's
MessageSystemAttributes (SendMessage keeps them), so a producer's
AWSTraceHeader never reached its consumer. batch_system_attributes gives each
message sent in a batch its entry's system attributes, as SQS does
(TestTracingSendsEachMessagesContext in pkg/producer fails without it).
"""
import copy
import os
import sys
import threading
import time

import moto

# The patches below replace moto internals as they are in this version; on
# any other one they might silently change what a request does.
MOTO_VERSION = "5.2.1"
if moto.__version__ != MOTO_VERSION:
    sys.exit(
        "serve_moto.py: moto %s is installed, but this script patches moto %s: "
        "run scripts/ensure-tools.sh moto (it installs requirements-dev.txt into .venv), "
        "or pip install 'moto[server]==%s'" % (moto.__version__, MOTO_VERSION, MOTO_VERSION)
    )

from werkzeug.serving import make_server  # noqa: E402

import moto.dynamodb.models as ddb_models
import moto.sqs.models as sqs_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


class _NoTableCopy:
    """Stands in for the copy module inside moto's DynamoDB backend: tables
    are not copied (the journal restores their items); anything else is."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        if isinstance(x, Table):
            return x
        return copy.deepcopy(x, memo)


def _item_key(table, op_type, op):
    """The (hash, range) key an operation of a transaction writes, or None
    when moto will refuse the operation before writing anything."""
    try:
        attrs = op["Item"] if op_type == "Put" else op["Key"]
        hash_value = DynamoType(attrs[table.hash_key_attr])
        range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        return hash_value, range_value
    except (KeyError, TypeError):
        return None


def _table(backend, op):
    """The table an operation names (by name or ARN), or None."""
    try:
        return backend.get_table(op["TableName"])
    except Exception:  # moto reports the missing table itself
        return None


def _restore(table, hash_value, range_value, original):
    if range_value is None:
        if original is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = original
    elif original is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = original


def journal_transactions():
    moto_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        journal = []
        for entry in transact_items if isinstance(transact_items, list) else []:
            for op_type, op in entry.items():
                table = _table(self, op)
                key = _item_key(table, op_type, op) if table is not None else None
                if key is not None:
                    journal.append((table, *key, copy.deepcopy(table.get_item(*key))))
        ddb_models.copy = _NoTableCopy()
        try:
            return moto_transact(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, original in reversed(journal):
                _restore(table, hash_value, range_value, original)
            raise
        finally:
            ddb_models.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items


def fast_sqs_receives():
    moto_unix_time = sqs_models.unix_time

    def unix_time(dt=None):
        return time.time() if dt is None else moto_unix_time(dt)

    def unix_time_millis(dt=None):
        return unix_time(dt) * 1000.0

    moto_is_valid = sqs_models.SQSBackend.is_message_valid_based_on_retention_period

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        retention_period = getattr(self.get_queue(queue_name), "message_retention_period", None)
        if retention_period is None:  # another moto version: its own way
            return moto_is_valid(self, queue_name, message)
        return int(retention_period) + message.sent_timestamp / 1000 > unix_time()

    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


def ordered_fifo_redelivery():
    moto_messages = sqs_models.Queue.messages.fget

    def free_timed_out(queue):
        for message in list(queue._pending_messages):
            if message.visible:
                queue._pending_messages.discard(message)

    def messages(self):
        free_timed_out(self)
        return moto_messages(self)

    def pending_message_groups(self):
        free_timed_out(self)
        return {m.group_id for m in self._pending_messages if m.group_id is not None}

    sqs_models.Queue.messages = property(messages)
    sqs_models.Queue.pending_message_groups = property(pending_message_groups)


def serialized_fifo_receives():
    moto_receive = sqs_models.SQSBackend.receive_message
    lock = threading.Lock()

    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None):
        if not self.get_queue(queue_name).fifo_queue:
            return moto_receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names)
        deadline = time.time() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                result = moto_receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            if result or time.time() >= deadline:
                return result
            time.sleep(0.05)

    sqs_models.SQSBackend.receive_message = receive_message


def batch_system_attributes():
    moto_send_batch = sqs_models.SQSBackend.send_message_batch

    def send_message_batch(self, queue_name, entries):
        messages, failed = moto_send_batch(self, queue_name, entries)
        by_id = {entry["Id"]: entry for entry in entries.values()}
        for message in messages:
            attrs = by_id.get(getattr(message, "user_id", None), {}).get("MessageSystemAttributes")
            if attrs:
                message.system_attributes = attrs
        return messages, failed

    sqs_models.SQSBackend.send_message_batch = send_message_batch


def main() -> None:
    port_file = sys.argv[1]
    threaded = "--single-threaded" not in sys.argv[2:]
    if not threaded:
        journal_transactions()
    fast_sqs_receives()
    ordered_fifo_redelivery()
    serialized_fifo_receives()
    batch_system_attributes()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=threaded)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
