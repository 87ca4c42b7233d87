"""Differential scenarios driven with stomp.py (Debian's python3-stomp).

Usage: python3 stomp-py-driver.py SCENARIO HOST PORT
Prints one JSON object with what the client observed, the same shape whichever broker it talks
to; activemq-differential.int.test.ts runs it against ActiveMQ and against our broker and
compares the two. Exits non-zero when something it waits for does not come within 60 s.
"""
import json
import sys
import threading
import time

import stomp

scenario, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
DEADLINE_S = 60


class Collect(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.errors = []
        self.receipts = []
        self.connected = False
        self.disconnected = False
        self.cv = threading.Condition()

    def on_connected(self, frame):
        with self.cv:
            self.connected = True
            self.cv.notify_all()

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
            self.receipts.append(frame.headers.get("receipt-id"))
            self.cv.notify_all()

    def on_disconnected(self):
        with self.cv:
            self.disconnected = True
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

    def bodies(self, sub=None):
        return [
            m["body"] for m in self.messages if sub is None or m["headers"].get("subscription") == sub
        ]

    def until(self, body, sub=None):
        self.wait(lambda: body in self.bodies(sub), f"message {body!r}")


counter = 0


def rid():
    global counter
    counter += 1
    return f"r-{counter}"


def connect(login="admin", passcode="admin"):
    conn = stomp.Connection12([(host, port)], heartbeats=(0, 0))
    listener = Collect()
    conn.set_listener("collect", listener)
    conn.connect(login, passcode, wait=True)
    return conn, listener


def send(conn, listener, destination, body, **headers):
    r = rid()
    conn.send(destination, body, headers={"receipt": r, **headers})
    listener.wait(lambda: r in listener.receipts, f"the receipt of a SEND to {destination}")


def subscribe(conn, listener, destination, sub_id, ack="auto", **headers):
    r = rid()
    conn.subscribe(destination, sub_id, ack=ack, headers={**headers, "receipt": r})
    listener.wait(lambda: r in listener.receipts, f"the receipt of a SUBSCRIBE to {destination}")


def close(conn):
    conn.disconnect()


def drain(destination, count, sub_id="drain"):
    """What is left on a queue: a fresh consumer takes `count` messages (auto ack)."""
    conn, listener = connect()
    subscribe(conn, listener, destination, sub_id)
    listener.wait(lambda: len(listener.messages) >= count, f"{count} left on {destination}")
    close(conn)
    return listener.messages


def queue_basic():
    conn, listener = connect()
    q = "/queue/diff.py.basic"
    for n in range(3):
        send(conn, listener, q, f"m{n}", n=str(n), color="red", persistent="true")
    subscribe(conn, listener, q, "s1")
    listener.until("m2")
    close(conn)
    return {"messages": listener.messages}


def topic_basic():
    conn, listener = connect()
    t = "/topic/diff.py.topic"
    send(conn, listener, t, "before anyone listens")
    subscribe(conn, listener, t, "a")
    subscribe(conn, listener, t, "b")
    send(conn, listener, t, "one", color="blue")
    send(conn, listener, t, "two")
    listener.until("two", "a")
    listener.until("two", "b")
    close(conn)
    return {"a": [m for m in listener.messages if m["headers"]["subscription"] == "a"],
            "b": [m for m in listener.messages if m["headers"]["subscription"] == "b"]}


def ack_mode(mode, to_ack):
    q = f"/queue/diff.py.ack-{mode}"
    conn, listener = connect()
    for n in range(4):
        send(conn, listener, q, f"m{n}", persistent="true")
    subscribe(conn, listener, q, "s1", ack=mode)
    listener.until("m3")
    for body in to_ack:
        m = next(m for m in listener.messages if m["body"] == body)
        r = rid()
        conn.ack(m["headers"]["ack"], receipt=r)
        listener.wait(lambda: r in listener.receipts, "the receipt of an ACK")
    first = listener.messages
    close(conn)
    return {"first": first, "left": drain(q, 4 - (2 if mode == "client" else len(to_ack)))}


def ack_client():
    # client acks are cumulative: acking m1 acknowledges m0 and m1.
    return ack_mode("client", ["m1"])


def ack_client_individual():
    return ack_mode("client-individual", ["m0", "m2"])


def transactions():
    q = "/queue/diff.py.tx"
    conn, listener = connect()
    tx = conn.begin()
    send(conn, listener, q, "aborted", transaction=tx)
    conn.abort(tx)
    tx = conn.begin()
    send(conn, listener, q, "committed 1", transaction=tx)
    send(conn, listener, q, "committed 2", transaction=tx)
    r = rid()
    conn.commit(tx, headers={"receipt": r})
    listener.wait(lambda: r in listener.receipts, "the receipt of a COMMIT")
    subscribe(conn, listener, q, "s1", ack="client-individual")
    listener.until("committed 2")
    # An ACK inside an aborted transaction leaves the message unacknowledged.
    tx = conn.begin()
    conn.ack(listener.messages[0]["headers"]["ack"], transaction=tx)
    conn.abort(tx)
    tx = conn.begin()
    conn.ack(listener.messages[1]["headers"]["ack"], transaction=tx)
    r = rid()
    conn.commit(tx, headers={"receipt": r})
    listener.wait(lambda: r in listener.receipts, "the receipt of a COMMIT")
    first = listener.messages
    close(conn)
    return {"first": first, "left": drain(q, 1)}


def receipts():
    conn, listener = connect()
    q = "/queue/diff.py.receipts"
    conn.subscribe(q, "s1", headers={"receipt": "sub:1"})
    conn.send(q, "x", headers={"receipt": "send:1"})
    listener.until("x")
    conn.unsubscribe("s1", headers={"receipt": "unsub:1"})
    listener.wait(lambda: "unsub:1" in listener.receipts, "the UNSUBSCRIBE receipt")
    conn.disconnect(receipt="disc:1")
    return {"receipts": sorted(listener.receipts), "errors": listener.errors}


def slash_names():
    conn, listener = connect()
    q = "/queue/test/ruby/stomp/x"
    t = "/topic/a/b.c"
    subscribe(conn, listener, t, "t")
    send(conn, listener, q, "q")
    send(conn, listener, t, "t")
    subscribe(conn, listener, q, "q")
    listener.until("q", "q")
    listener.until("t", "t")
    close(conn)
    return {"messages": sorted(listener.messages, key=lambda m: m["body"])}


def wildcard_queues():
    conn, listener = connect()
    for name in ["wq.a", "wq.b", "wq.a.deep", "wqx"]:
        send(conn, listener, f"/queue/{name}", name, persistent="true")
    subscribe(conn, listener, "/queue/wq.*", "star")
    listener.wait(lambda: len(listener.bodies("star")) >= 2, "two messages on wq.*")
    subscribe(conn, listener, "/queue/wq.>", "rest")
    listener.until("wq.a.deep", "rest")
    # Only "wq.>" matches a queue created now, so which consumer gets it is not a matter of luck.
    send(conn, listener, "/queue/wq.c.d", "later")
    listener.until("later")
    close(conn)
    return {
        "star": sorted(listener.bodies("star")),
        "rest": sorted(listener.bodies("rest")),
        "destinations": sorted(m["headers"]["destination"] for m in listener.messages),
    }


SELECTORS = {
    "eq": "color = 'red'",
    "ne": "color <> 'red'",
    "num": "price > 10 AND price <= 100",
    "like": "name LIKE 'ap%' OR name LIKE '_ear'",
    "likeEscape": "code LIKE 'a!_%' ESCAPE '!'",
    "in": "color IN ('green', 'blue')",
    "notIn": "color NOT IN ('green', 'blue')",
    "between": "price BETWEEN 5 AND 50",
    "notBetween": "price NOT BETWEEN 5 AND 50",
    "isNull": "size IS NULL",
    "isNotNull": "size IS NOT NULL",
    # STOMP headers are strings to ActiveMQ: it compares them with numbers ("num" above) but
    # refuses arithmetic on them (an ERROR to the producer), so arithmetic is over JMSPriority,
    # a number. ActiveMQ 5.17 here refuses the convert_string_expressions: prefix.
    "arith": "JMSPriority * 2 > 9 AND JMSPriority - 1 = 6 AND -JMSPriority < 0",
    "div": "JMSPriority / 2 >= 3 OR JMSPriority + 0.5 < 4",
    "not": "NOT (color = 'red')",
    "andOr": "(color = 'red' OR color = 'blue') AND price < 30",
    "header": "JMSPriority > 4",
    "type": "JMSType = 'fruit'",
    "bool": "fresh = TRUE",
}

MESSAGES = [
    {"body": "apple", "color": "red", "price": "20", "name": "apple", "size": "m", "code": "a_1",
     "type": "fruit", "fresh": "true"},
    {"body": "pear", "color": "green", "price": "5", "name": "pear", "code": "ab", "priority": "7"},
    {"body": "berry", "color": "blue", "price": "60", "name": "berry", "size": "s",
     "type": "fruit"},
    {"body": "rock", "price": "200", "name": "rock"},
]


def selectors():
    conn, listener = connect()
    t = "/topic/diff.py.selectors"
    for key, expr in SELECTORS.items():
        # "last" ends every subscription's stream.
        subscribe(conn, listener, t, key, selector=f"({expr}) OR last IS NOT NULL")
    for m in MESSAGES:
        headers = {k: v for k, v in m.items() if k != "body"}
        send(conn, listener, t, m["body"], **headers)
    send(conn, listener, t, "last", last="1")
    for key in SELECTORS:
        listener.until("last", key)
    close(conn)
    return {key: listener.bodies(key) for key in SELECTORS}


def selector_queue():
    conn, listener = connect()
    q = "/queue/diff.py.selq"
    for n, level in enumerate(["low", "high", "low", "high"]):
        send(conn, listener, q, f"{level}{n}", level=level, persistent="true")
    subscribe(conn, listener, q, "high", selector="level = 'high'")
    listener.until("high3")
    first = listener.bodies()
    close(conn)
    return {"high": first, "left": [m["body"] for m in drain(q, 2)]}


def invalid_selector():
    conn, listener = connect()
    conn.subscribe("/queue/diff.py.bad", "bad", headers={"selector": "color = 'red", "receipt": "bad:1"})
    listener.wait(lambda: listener.errors or "bad:1" in listener.receipts, "an ERROR or a receipt")
    return {"refused": len(listener.errors) > 0}


def nack_dlq():
    conn, listener = connect()
    q = "/queue/diff.py.nack"
    send(conn, listener, q, "refused", persistent="true", color="red")
    send(conn, listener, q, "kept", persistent="true")
    subscribe(conn, listener, q, "s1", ack="client-individual")
    listener.until("kept")
    refused = listener.messages[0]["headers"]
    conn.nack(refused["ack"])
    conn.ack(listener.messages[1]["headers"]["ack"])
    send(conn, listener, q, "next", persistent="true")
    listener.until("next")
    conn.ack(listener.messages[-1]["headers"]["ack"])
    dead = drain("/queue/ActiveMQ.DLQ", 1)
    close(conn)
    return {"queue": listener.messages, "dlq": dead}


def bad_login():
    conn = stomp.Connection12([(host, port)], heartbeats=(0, 0))
    listener = Collect()
    conn.set_listener("collect", listener)
    try:
        conn.connect("admin", "wrong", wait=False)
    except Exception:  # some versions raise on the ERROR frame
        pass
    listener.wait(lambda: listener.errors or listener.connected or listener.disconnected, "an answer")
    return {"connected": listener.connected, "error": len(listener.errors) > 0}


def temp_reply():
    """Request-reply over temporary destinations: the responder sees /remote-temp-* names."""
    req_conn, req = connect()
    resp_conn, resp = connect()
    subscribe(req_conn, req, "/temp-queue/diff.py.replies", "replies")
    subscribe(req_conn, req, "/temp-topic/diff.py.events", "events")
    subscribe(resp_conn, resp, "/queue/diff.py.requests", "requests")
    send(req_conn, req, "/queue/diff.py.requests", "req1", **{"reply-to": "/temp-queue/diff.py.replies"})
    send(req_conn, req, "/queue/diff.py.requests", "req2", **{"reply-to": "/temp-topic/diff.py.events"})
    resp.until("req2")
    for m in resp.messages:
        send(resp_conn, resp, m["headers"]["reply-to"], "answer to " + m["body"])
    req.until("answer to req1", "replies")
    req.until("answer to req2", "events")
    # Another connection subscribes to the temporary topic by its /remote-temp-topic/ name.
    subscribe(resp_conn, resp, resp.messages[1]["headers"]["reply-to"], "watch")
    send(req_conn, req, "/temp-topic/diff.py.events", "event")
    req.until("event", "events")
    resp.until("event", "watch")
    remote = resp.messages[0]["headers"]["reply-to"]
    close_with_receipt(req_conn, req)
    # What the requester got until its DISCONNECT was answered; nothing can come after that.
    answers = list(req.messages)
    # The requester is gone, and its temporary queue with it: a SEND to it is refused. ActiveMQ
    # removes a closed connection's temporary destinations after it answered its DISCONNECT, so
    # there the first SENDs may still be accepted: the responder tries until one is refused.
    refused = False
    deadline = time.time() + DEADLINE_S
    while not refused and time.time() < deadline:
        r = rid()
        resp_conn.send(remote, "too late", headers={"receipt": r})
        resp.wait(lambda: resp.errors or r in resp.receipts, "an ERROR or a receipt")
        refused = len(resp.errors) > 0
        if not refused:
            time.sleep(0.1)
    if not refused:
        close(resp_conn)
    # The two answers are on two destinations, between which no broker promises an order.
    return {
        "requester": sorted(answers, key=lambda m: m["body"]),
        "responder": resp.messages,
        "lateSendRefused": refused,
    }


def connect_as(client_id):
    conn = stomp.Connection12([(host, port)], heartbeats=(0, 0))
    listener = Collect()
    conn.set_listener("collect", listener)
    conn.connect("admin", "admin", wait=True, headers={"client-id": client_id})
    return conn, listener


def close_with_receipt(conn, listener):
    # Waits until the broker has closed the connection, so the client id is free again.
    conn.disconnect(receipt="bye")
    listener.wait(lambda: listener.disconnected or "bye" in listener.receipts, "the DISCONNECT receipt")


def durable():
    t = "/topic/diff.py.durable"
    name = {"activemq.subscriptionName": "diff-sub"}
    producer, p = connect()

    def session():
        conn, listener = connect_as("diff-py-client")
        subscribe(conn, listener, t, "d", **name)
        return conn, listener

    def remove(conn, listener):
        # UNSUBSCRIBE with the subscription's name removes it, with what it would have kept.
        # ActiveMQ refuses that while the subscriber is active ("Durable consumer is in use"), so
        # a plain UNSUBSCRIBE ends the subscriber first (docs/interface.md).
        for headers in [{}, name]:
            r = rid()
            conn.unsubscribe("d", headers={**headers, "receipt": r})
            listener.wait(lambda: r in listener.receipts, "the UNSUBSCRIBE receipt")

    conn, first = session()
    send(producer, p, t, "while here", persistent="true")
    first.until("while here")
    close_with_receipt(conn, first)
    for body in ["while away 1", "while away 2"]:
        send(producer, p, t, body, persistent="true")
    conn, second = session()
    second.until("while away 2")
    remove(conn, second)
    close_with_receipt(conn, second)
    send(producer, p, t, "after unsubscribe", persistent="true")
    conn, third = session()
    send(producer, p, t, "new subscription", persistent="true")
    third.until("new subscription")
    remove(conn, third)
    close_with_receipt(conn, third)
    close(producer)
    return {
        "first": first.messages,
        "second": second.messages,
        "third": third.messages,
        "errors": first.errors + second.errors + third.errors,
    }


SCENARIOS = {
    "queue-basic": queue_basic,
    "topic-basic": topic_basic,
    "ack-client": ack_client,
    "ack-client-individual": ack_client_individual,
    "transactions": transactions,
    "receipts": receipts,
    "slash-names": slash_names,
    "wildcard-queues": wildcard_queues,
    "selectors": selectors,
    "selector-queue": selector_queue,
    "invalid-selector": invalid_selector,
    "nack-dlq": nack_dlq,
    "bad-login": bad_login,
    "temp-reply": temp_reply,
    "durable": durable,
}

print(json.dumps(SCENARIOS[scenario]()))
