"""A DataLad command run in a child process, for a call whose environment is not the parent's
(``repo/datalad.py``): the request (command and keyword arguments) as JSON on stdin, one
JSON result record a line on stdout. What DataLad itself prints (its UI writes to file
descriptor 1, e.g. one line per sibling ``create_sibling_ria`` makes) goes to stderr, so
the record stream stays JSON."""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    request = json.loads(sys.stdin.read())
    records = os.fdopen(os.dup(1), "w")  # the parent reads records from here
    os.dup2(2, 1)  # anything else written to stdout goes to the log
    import datalad.api

    function = getattr(datalad.api, request["command"])
    for result in function(**request["kwargs"]):
        records.write(json.dumps(result, default=str) + "\n")
        records.flush()


if __name__ == "__main__":
    main()
