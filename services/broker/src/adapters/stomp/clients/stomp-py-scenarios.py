"""ActiveMQ-compatibility scenarios driven with stomp.py (Debian's python3-stomp).

Usage: python3 stomp-py-scenarios.py HOST PORT PREFIX
Prints one JSON object with what the client observed; exits non-zero when something it waits for
does not come within 30 s. The TypeScript test (stomp-py.int.test.ts) asserts on the JSON.
"""
import json
import sys
import threading
import time

import stomp

host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
DEADLINE_S = 30


class Collect(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.errors = []
        self.receipts = set()
        self.cv = threading.Condition()

    def on_message(self, frame):
        with self.cv:
            self.messages.append({"headers": dict(frame.headers), "body": frame.body})
            self.cv.notify_all()

    def on_error(self, frame):
        with self.cv:
            self.errors.append(dict(frame.headers))
            self.cv.notify_all()

    def on_receipt(self, frame):
        with self.cv:
            self.receipts.add(frame.headers.get("receipt-id"))
            self.cv.notify_all()

    def wait(self, predicate, what):
        deadline = time.time() + DEADLINE_S
        with self.cv:
            while not predicate():
                left = deadline - time.time()
                if left <= 0:
                    raise SystemExit(
                        f"timed out waiting for {what}; messages {self.bodies()}, errors {self.errors}"
                    )
                self.cv.wait(left)

    def bodies(self):
        return [m["body"] for m in self.messages]

    def until(self, body):
        self.wait(lambda: body in self.bodies(), f"message {body!r}")


counter = 0


def connect():
    conn = stomp.Connection12([(host, port)], heartbeats=(0, 0))
    listener = Collect()
    conn.set_listener("collect", listener)
    conn.connect("admin", "admin", wait=True)
    return conn, listener


def receipt_id():
    global counter
    counter += 1
    return f"r-{counter}"


def send(conn, listener, destination, body, headers=None):
    rid = receipt_id()
    conn.send(destination, body, headers={"persistent": "true", "receipt": rid, **(headers or {})})
    listener.wait(lambda: rid in listener.receipts, f"the receipt of a SEND to {destination}")


def subscribe(conn, listener, destination, sub_id, **headers):
    rid = receipt_id()
    ack = headers.pop("ack", "auto")
    conn.subscribe(destination, sub_id, ack=ack, headers={**headers, "receipt": rid})
    listener.wait(lambda: rid in listener.receipts, f"the receipt of a SUBSCRIBE to {destination}")


out = {}

# Names with "/" inside.
conn, listener = connect()
slash = f"/queue/{prefix}/ruby/stomp/x"
send(conn, listener, slash, "slash")
subscribe(conn, listener, slash, "slash")
listener.until("slash")
out["slash"] = {"destination": listener.messages[0]["headers"].get("destination")}
conn.disconnect()

# A wildcard subscription follows a topic created after it.
conn, listener = connect()
subscribe(conn, listener, f"/topic/{prefix}.>", "wild")
send(conn, listener, f"/topic/{prefix}.new.topic", "wild")
listener.until("wild")
out["wildcard"] = [m["headers"].get("destination") for m in listener.messages]
conn.disconnect()

# A selector.
conn, listener = connect()
topic = f"/topic/{prefix}-selector"
subscribe(conn, listener, topic, "sel", selector="color = 'red'")
send(conn, listener, topic, "blue", {"color": "blue"})
send(conn, listener, topic, "red", {"color": "red"})
listener.until("red")
out["selector"] = listener.bodies()
conn.disconnect()

# NACK: to ActiveMQ.DLQ at once, not redelivered.
conn, listener = connect()
queue = f"/queue/{prefix}-nack"
send(conn, listener, queue, "refused")
subscribe(conn, listener, queue, "nack", ack="client-individual")
listener.until("refused")
refused = listener.messages[0]["headers"]
conn.nack(refused["ack"])
dlq, dead = connect()
subscribe(
    dlq,
    dead,
    "/queue/ActiveMQ.DLQ",
    "dlq",
    ack="client-individual",
    selector=f"JMSMessageID = '{refused['message-id']}'",
)
dead.until("refused")
dlq.ack(dead.messages[0]["headers"]["ack"])
send(conn, listener, queue, "next")
listener.until("next")
conn.ack(listener.messages[-1]["headers"]["ack"])
out["nack"] = {
    "queue": listener.bodies(),
    "dlqOriginalDestination": dead.messages[0]["headers"].get("original-destination"),
}
conn.disconnect()
dlq.disconnect()

print(json.dumps(out))
