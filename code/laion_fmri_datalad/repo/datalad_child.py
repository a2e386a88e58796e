"""A DataLad command run in a child process, for a call whose environment is not the parent's
(``repo/datalad.py``): the request (command and keyword arguments) as JSON on stdin, one
JSON result record a line on stdout."""

from __future__ import annotations

import json
import sys


def main() -> None:
    request = json.loads(sys.stdin.read())
    import datalad.api

    function = getattr(datalad.api, request["command"])
    for result in function(**request["kwargs"]):
        print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
