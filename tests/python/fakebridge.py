"""A scriptable stand-in for the bridge (ROUTER + PUB) for the client's unit tests.

The real bridge cannot be told to lose a request, skip a seq or go silent on cue; this
fake can. Replay is answered like the bridge does: one page per request (replay_page). One thread owns both sockets (zmq sockets are not thread-safe); tests talk to
it through thread-safe methods that queue work for that thread. Each request is recorded
as (routing id, Request) so tests can check what the client really sent.
"""

import collections
import threading
import time

import zmq


class FakeBridge(object):
    def __init__(self, pb, router_ep, pub_ep, heartbeat_ms=100):
        self.pb = pb
        self.router_ep = router_ep
        self.pub_ep = pub_ep
        self.heartbeat_ms = heartbeat_ms
        self.received = []               # (routing_id, Request) in arrival order
        self.handlers = {}               # body name -> fn(req) -> Reply or None (= drop)
        self.heartbeats = True
        self.instance_id = 'fake-1'      # in heartbeats and hello; change it = "restarted"
        self.seq = collections.defaultdict(int)
        self.journal = []                # every Event published, for replay
        self._todo = collections.deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.ctx = zmq.Context()
        self._ready = threading.Event()
        self._thread.start()
        self._ready.wait(5)

    # -- thread-safe API for tests -----------------------------------------------------
    def event(self, topic, body_name, body, seq=None):
        """Builds an Event; seq defaults to the next one of its topic."""
        pb = self.pb
        if seq is None:
            self.seq[topic] += 1
            seq = self.seq[topic]
        ev = pb.Event(topic=topic, seq=seq, bridge_epoch=1, time_ns=time.time_ns())
        getattr(ev, body_name).CopyFrom(body)
        return ev

    def publish(self, ev, journal=True):
        if journal:
            self.journal.append(ev)
        self._todo.append(ev)

    def baseline(self, account_id):
        """Like the bridge's subscribe reply: the last journaled seq of each topic
        `<kind>.<account_id>.` (topics never published are absent)."""
        suffix = '.%s.' % account_id
        last = {}
        for e in list(self.journal):
            if e.topic.endswith(suffix) and e.topic.count('.') == 2:
                last[e.topic] = max(last.get(e.topic, 0), e.seq)
        return last

    def publish_now(self, ev, journal=True):
        """From a handler only (it runs on the fake's thread): sends `ev` at once, i.e.
        before the reply the handler is about to return."""
        if journal:
            self.journal.append(ev)
        self._pub.send_multipart([ev.topic.encode(), ev.SerializeToString()])

    def requests(self, name):
        return [(rid, r) for rid, r in self.received if r.WhichOneof('body') == name]

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.ctx.term()

    # -- the thread ------------------------------------------------------------------------
    def _reply(self, req, name, result=None, code=0, message=''):
        rep = self.pb.Reply(request_id=req.request_id)
        rep.error.code = code
        rep.error.message = message
        if result is not None:
            getattr(rep, name).CopyFrom(result)
        return rep

    def replay_page(self, r):
        """The one ReplayReply the bridge sends for ReplayRequest `r`: journaled events of
        topics starting with r.topic_prefix, seq > r.after[topic], in publish order, at most
        max_events (0 = 500, capped at 1000); more = True when further events match."""
        limit = min(r.max_events or 500, 1000)
        after = dict(r.after)
        page = self.pb.ReplayReply(bridge_epoch=1)
        for e in list(self.journal):
            if e.topic.startswith(r.topic_prefix) and e.seq > after.get(e.topic, 0):
                if len(page.events) == limit:
                    page.more = True
                    break
                page.events.append(e)
        return page

    def _default(self, req):
        pb = self.pb
        name = req.WhichOneof('body')
        if name == 'hello':
            return self._reply(req, 'hello', pb.HelloReply(
                bridge_version='fake', protocol_version=2, pub_endpoints=[self.pub_ep],
                backend='fake', instance_id=self.instance_id, heartbeat_ms=self.heartbeat_ms,
                bridge_epoch=1, backend_connected=True))
        if name == 'subscribe':
            return self._reply(req, name, pb.SubscribeReply(
                result=0, last_seq=self.baseline(req.subscribe.account.account_id)))
        if name == 'unsubscribe':
            return self._reply(req, name, pb.SubscribeReply(result=0))
        if name == 'replay':
            return self._reply(req, 'replay', self.replay_page(req.replay))
        return self._reply(req, name, None, pb.UNKNOWN_CALL, 'fake serves no ' + name)

    def _run(self):
        router = self.ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        router.bind(self.router_ep)
        pub = self.ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.bind(self.pub_ep)
        self._pub = pub
        self._ready.set()
        next_hb = time.monotonic()
        try:
            while not self._stop.is_set():
                if router.poll(10, zmq.POLLIN):
                    frames = router.recv_multipart()
                    req = self.pb.Request()
                    req.ParseFromString(frames[-1])
                    self.received.append((frames[0], req))
                    name = req.WhichOneof('body')
                    handler = self.handlers.get(name, self._default)
                    rep = handler(req)
                    if rep is not None:
                        router.send_multipart([frames[0], rep.SerializeToString()])
                while self._todo:
                    ev = self._todo.popleft()
                    pub.send_multipart([ev.topic.encode(), ev.SerializeToString()])
                if self.heartbeats and time.monotonic() >= next_hb:
                    next_hb = time.monotonic() + self.heartbeat_ms / 1000.0
                    ev = self.event('heartbeat.', 'heartbeat', self.pb.Heartbeat(
                        instance_id=self.instance_id, interval_ms=self.heartbeat_ms))
                    pub.send_multipart([b'heartbeat.', ev.SerializeToString()])
        finally:
            router.close(0)
            pub.close(0)
