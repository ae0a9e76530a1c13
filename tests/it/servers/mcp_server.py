"""A newline-delimited JSON-RPC server of the tests' own (tests/it/protocol.rs).

Modes (argv[1]):
  noisy  -- prints a banner and a log line on stdout around its answers, as careless servers do
  hang   -- never answers the tool "slow"; answers "progress" after progress notifications
  ask    -- on initialize, asks the client (sampling/createMessage) before answering
  flood  -- writes megabytes of notifications in large writes, then more with a log line every
            50, and exits; what is a frame goes to $D/frames too, what is not to $D/stray
Every request is answered with {"echo": method} unless the mode says otherwise; the notification
"bye" ends the server (exit 0). Writes its pid
to $D/server.pid and what it received to $D/log.
"""
import json
import os
import sys
import time

mode = sys.argv[1]
d = os.environ["D"]
with open(os.path.join(d, "server.pid"), "w") as f:
    f.write(str(os.getpid()))


def log(text):
    with open(os.path.join(d, "log"), "a") as f:
        f.write(text + "\n")


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def answer(message):
    send({"jsonrpc": "2.0", "id": message["id"], "result": {"echo": message["method"]}})


if mode == "noisy":
    print("Starting the server, version 1.0", flush=True)
if mode == "flood":
    frames, stray = [], []
    for n in range(16000):
        note = {"jsonrpc": "2.0", "method": "notifications/message",
                "params": {"n": n, "data": "x" * (n % 500)}}
        frames.append(json.dumps(note, separators=(",", ":")) + "\n")
        if n % 50 == 49 and n > 9000:
            stray.append("log line %d\n" % n)
            frames.append(stray[-1])
    with open(os.path.join(d, "stray"), "w") as f:
        f.write("".join(stray))
    with open(os.path.join(d, "frames"), "w") as f:
        f.write("".join(line for line in frames if line not in stray))
    blob = "".join(frames).encode()
    for at in range(0, len(blob), 1 << 20):
        sys.stdout.buffer.write(blob[at:at + (1 << 20)])
        sys.stdout.buffer.flush()
    sys.exit(0)
for line in sys.stdin:
    message = json.loads(line)
    log("got " + str(message.get("method", message.get("id"))))
    if "method" not in message:
        continue  # a response to our own request
    if message["method"] == "bye":
        sys.exit(0)
    if "id" not in message:
        continue  # a notification
    tool = message.get("params", {}).get("name")
    if mode == "noisy":
        print("handling " + message["method"], flush=True)
        answer(message)
    elif mode == "hang" and tool == "slow":
        log("hanging")
    elif mode == "hang" and tool == "progress":
        token = message["params"]["_meta"]["progressToken"]
        for step in range(12):
            time.sleep(0.25)
            send({"jsonrpc": "2.0", "method": "notifications/progress",
                  "params": {"progressToken": token, "progress": step}})
        answer(message)
    elif mode == "ask" and message["method"] == "initialize":
        send({"jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage",
              "params": {"messages": []}})
        answer(message)
    else:
        answer(message)
log("eof")
