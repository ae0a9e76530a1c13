"""A Content-Length-framed JSON-RPC server of the tests' own (tests/it/protocol.rs): answers
initialize and shutdown, exits 0 on exit, and ignores the end of its stdin (it then waits, so
that only a shutdown and exit, or a signal, ends it). Writes its pid to $D/server.pid and each
message received (method and id) to $D/log."""
import json
import os
import sys
import time

d = os.environ["D"]
with open(os.path.join(d, "server.pid"), "w") as f:
    f.write(str(os.getpid()))


def log(text):
    with open(os.path.join(d, "log"), "a") as f:
        f.write(text + "\n")


def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


stdin = sys.stdin.buffer
while True:
    length = None
    while True:
        line = stdin.readline()
        if not line:
            log("eof")
            while True:
                time.sleep(1)
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    message = json.loads(stdin.read(length))
    method, id = message.get("method"), message.get("id")
    log("%s %s" % (method, json.dumps(id)))
    if method == "exit":
        sys.exit(0)
    if id is not None and method is not None:
        send({"jsonrpc": "2.0", "id": id, "result": {"capabilities": {}} if method == "initialize" else None})
