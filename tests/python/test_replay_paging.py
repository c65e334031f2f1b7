"""Pull-based replay in the Python client, against FakeBridge: the bridge answers each replay
request with one page of at most max_events events and `more` while further events match;
the client asks again (new request_id, `after` advanced per topic) until `more` is false.
Checked on the two paths that replay: a seq gap, and the replay shortly after subscribe()
(from the subscribe baseline). Every event must reach the callbacks exactly once, in order,
with exactly the expected requests."""

import pytest

from xtquant.xttype import StockAccount

from xtbridge.xttrader import ACCOUNT_KINDS

from conftest import wait_post_subscribe_replays

ACC = StockAccount('1000000365')
ACCOUNT_TOPICS = ['%s.1000000365.' % kind for kind in ACCOUNT_KINDS]
ORDER = 'order.1000000365.'


def order_event(fake, order_id):
    return fake.event(ORDER, 'order', fake.pb.XtOrder(account_id='1000000365', order_id=order_id))


def replay_requests(fake, since=0):
    """The replay requests the fake saw, a retry (same request_id, sent again when a reply
    is late on a loaded machine) counted once: the bridge answers a retry, it is not a page."""
    seen, out = set(), []
    for _, r in fake.requests('replay')[since:]:
        if r.request_id not in seen:
            seen.add(r.request_id)
            out.append(r)
    return out


@pytest.mark.parametrize('max_events,requests', [(1, 2500), (7, 358), (1000, 3)])
def test_gap_replay_pages_deliver_every_event_once(fake, make_trader, endpoints, max_events,
                                                   requests):
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    trader._replay_max_events = max_events
    assert trader.subscribe(ACC) == 0
    assert wait_post_subscribe_replays(trader)   # its replays are not the ones checked here
    n_before = len(fake.requests('replay'))
    fake.publish(order_event(fake, 1))
    assert rec.wait_for(lambda ev: len(ev) == 1)
    for i in range(2, 2501):
        fake.journal.append(order_event(fake, i))    # journaled, lost on the wire
    fake.publish(order_event(fake, 2501))           # seq 2501 after 1: replay 2..2501
    assert rec.wait_for(lambda ev: len(ev) >= 2501, timeout=60)
    fake.publish(order_event(fake, 2502))           # contiguous: no further replay
    assert rec.wait_for(lambda ev: len(ev) >= 2502)
    assert [n for n, _ in rec.events] == ['on_stock_order'] * 2502
    assert [o.order_id for o in rec.of('on_stock_order')] == list(range(1, 2503))
    reqs = replay_requests(fake, n_before)
    assert len(reqs) == requests
    # a new request_id per page: each page's `after` differs (checked below)
    assert [dict(r.replay.after) for r in reqs] == [
        {ORDER: 1 + k * max_events} for k in range(requests)]
    assert {(r.replay.topic_prefix, r.replay.max_events) for r in reqs} == {(ORDER, max_events)}


def test_post_subscribe_replay_pages_from_the_baseline(fake, make_trader, endpoints):
    fake.journal += [order_event(fake, i) for i in (1, 2, 3)]   # history: never delivered

    def subscribe(req):
        rep = fake._default(req)                 # baseline: ORDER -> 3
        # published right after the reply, before the SUB filter is active: journal only
        fake.journal.extend(order_event(fake, i) for i in range(4, 29))
        return rep
    fake.handlers['subscribe'] = subscribe
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    trader._replay_max_events = 7
    assert trader.subscribe(ACC) == 0
    assert wait_post_subscribe_replays(trader)
    assert [o.order_id for o in rec.of('on_stock_order')] == list(range(4, 29))
    reqs = replay_requests(fake)
    order_reqs = [r for r in reqs if r.replay.topic_prefix == ORDER]
    # 25 events, 7 per page: 4 pages, each after the last seq of the previous one
    assert [dict(r.replay.after) for r in order_reqs] == [
        {ORDER: 3}, {ORDER: 10}, {ORDER: 17}, {ORDER: 24}]
    # every other account topic: one request, nothing to page
    assert sorted(r.replay.topic_prefix for r in reqs if r.replay.topic_prefix != ORDER) == \
        sorted(t for t in ACCOUNT_TOPICS if t != ORDER)
    assert len(reqs) == 4 + len(ACCOUNT_TOPICS) - 1
    fake.publish(order_event(fake, 29))          # seq 29: contiguous, no gap replay
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) == 26)
    assert len(replay_requests(fake)) == len(reqs)


def test_more_without_new_events_stops_the_replay(fake, make_trader, endpoints, pb):
    """A page that says `more` but advances nothing would make the client ask the same
    question for ever: it stops, and the live push still gets through."""
    def stuck(req):
        rep = pb.Reply(request_id=req.request_id)
        rep.replay.more = True
        rep.replay.bridge_epoch = 1
        return rep
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0
    assert wait_post_subscribe_replays(trader)
    fake.handlers['replay'] = stuck
    n_before = len(fake.requests('replay'))
    fake.publish(order_event(fake, 1))
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) == 1)
    fake.journal.append(order_event(fake, 2))    # lost
    fake.publish(order_event(fake, 3))           # gap: one replay request, then given up
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) == 2)
    assert [o.order_id for o in rec.of('on_stock_order')] == [1, 3]
    assert len(replay_requests(fake, n_before)) == 1
