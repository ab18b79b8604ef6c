"""Serve moto on 127.0.0.1 on a free port and write the port to a file.

usage: serve_moto.py PORT_FILE [--single-threaded]

--single-threaded serves one request at a time. moto's threaded server does
not make conditional writes or transactions atomic (see docs/LOCAL-AWS.md), so
DynamoDB is served single-threaded; SQS stays threaded because a long-polling
ReceiveMessage would block a single-threaded server.
"""
import os
import sys

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


def main() -> None:
    port_file = sys.argv[1]
    threaded = "--single-threaded" not in sys.argv[2:]
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=threaded)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
