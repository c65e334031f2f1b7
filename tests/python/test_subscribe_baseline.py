"""subscribe() against the SUB filter race, with FakeBridge: a ZeroMQ subscription reaches
the PUB some time after setsockopt, so a push published right after the bridge answered
`subscribe` may never arrive live. The reply's per-topic baseline plus one replay shortly
after subscribing must deliver such a push exactly once, in seq order, and never deliver
again what did come live nor what was published before the subscription."""

import time

from xtquant.xttype import StockAccount

from xtbridge.xttrader import ACCOUNT_KINDS

from conftest import wait_post_subscribe_replays

ACC = StockAccount('1000000365')
ACCOUNT_TOPICS = ['%s.1000000365.' % kind for kind in ACCOUNT_KINDS]
STATUS = 'account_status.1000000365.'
ORDER = 'order.1000000365.'


def status_event(fake, status, seq=None):
    return fake.event(STATUS, 'account_status', fake.pb.XtAccountStatus(
        account_id='1000000365', account_type=2, status=status), seq)


def order_event(fake, order_id):
    return fake.event(ORDER, 'order', fake.pb.XtOrder(account_id='1000000365', order_id=order_id))


def replays_by_topic(fake):
    return {r.replay.topic_prefix: dict(r.replay.after) for _, r in fake.requests('replay')}


def test_push_lost_before_the_filter_arrives_is_replayed_once(fake, make_trader, endpoints):
    # history from before the subscription: journaled, never to be delivered to this client
    fake.journal += [status_event(fake, 0), status_event(fake, 1)]

    def subscribe(req):
        rep = fake._default(req)                 # baseline: STATUS -> 2
        # the push the bridge publishes right after answering, before the client's SUB
        # filter is active: the PUB drops it, only the journal has it
        fake.journal.append(status_event(fake, 6))
        return rep
    fake.handlers['subscribe'] = subscribe
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0
    assert rec.wait_for(lambda ev: rec.of('on_account_status'))
    assert wait_post_subscribe_replays(trader)
    time.sleep(0.3)
    assert [(s.account_id, s.status) for s in rec.of('on_account_status')] == [('1000000365', 6)]
    # one replay per account topic, each from the bridge's baseline (absent = 0)
    after = replays_by_topic(fake)
    assert sorted(after) == sorted(ACCOUNT_TOPICS)
    assert after[STATUS] == {STATUS: 2}
    assert all(after[t] == {t: 0} for t in ACCOUNT_TOPICS if t != STATUS)
    assert len(fake.requests('replay')) == len(ACCOUNT_TOPICS)
    # and the topic's next push is contiguous: no gap replay
    fake.publish(status_event(fake, 0))
    assert rec.wait_for(lambda ev: len(rec.of('on_account_status')) == 2)
    assert len(fake.requests('replay')) == len(ACCOUNT_TOPICS)


def test_push_received_live_is_not_delivered_again_by_the_replay(fake, make_trader, endpoints):
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    trader._post_subscribe_replay_delay = 1.0    # room to see the push arrive live first
    assert trader.subscribe(ACC) == 0
    ev = order_event(fake, 7)
    fake.publish(ev)                             # journaled, so the replay returns it too
    deadline = time.monotonic() + 0.8
    while not rec.wait_for(lambda e: rec.of('on_stock_order'), timeout=0.05):
        assert time.monotonic() < deadline, 'push never arrived live'
        fake.publish(ev, journal=False)          # until the SUB filter is in place
    assert fake.requests('replay') == []         # it came live, before any replay
    assert wait_post_subscribe_replays(trader)
    assert replays_by_topic(fake)[ORDER] == {ORDER: 0}   # the replay did return seq 1
    time.sleep(0.3)
    assert [o.order_id for o in rec.of('on_stock_order')] == [7]


def test_push_racing_the_subscribe_reply_keeps_seq_order(fake, make_trader, endpoints):
    """A push that arrives while `subscribe` is in flight waits for the baseline: pushed
    before the baseline is known it could not be checked for a gap, and the earlier push
    fetched afterwards would have to be dropped or delivered out of order."""
    fake.journal.append(order_event(fake, 1))    # before the subscription

    def subscribe(req):
        rep = fake._default(req)                 # baseline: ORDER -> 1
        time.sleep(0.05)                         # the SUB filter reaches the PUB meanwhile
        fake.journal.append(order_event(fake, 2))    # lost on the wire
        fake.publish_now(order_event(fake, 3))       # arrives before the reply
        time.sleep(0.1)                          # well before it
        return rep
    fake.handlers['subscribe'] = subscribe
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) >= 2)
    assert wait_post_subscribe_replays(trader)
    time.sleep(0.3)
    assert [o.order_id for o in rec.of('on_stock_order')] == [2, 3]


def test_unsubscribe_before_the_replay_skips_it(fake, make_trader, endpoints):
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    trader._post_subscribe_replay_delay = 0.3
    assert trader.subscribe(ACC) == 0
    fake.journal.append(order_event(fake, 1))
    assert trader.unsubscribe(ACC) == 0
    assert wait_post_subscribe_replays(trader)
    assert fake.requests('replay') == []
    assert rec.of('on_stock_order') == []


def test_calls_keep_their_timeout_while_the_replay_hangs(fake, make_trader, endpoints):
    """The post-subscribe replay shares the request channel; against a bridge that stopped
    answering it must neither make a strategy's call overrun its timeout nor go on to
    the remaining topics."""
    fake.handlers['replay'] = lambda req: None
    fake.handlers['order_stock'] = lambda req: None
    trader, rec = make_trader(endpoints[0], timeout=1.0, retry_interval=0.2)
    assert trader.connect_result == 0
    trader._post_subscribe_replay_delay = 0.05
    assert trader.subscribe(ACC) == 0
    deadline = time.monotonic() + 1
    while not fake.requests('replay'):           # the replay now holds the channel
        assert time.monotonic() < deadline
        time.sleep(0.01)
    t0 = time.monotonic()
    assert trader.order_stock(ACC, '600000.SH', 23, 100, 11, 10.5) == -1
    assert time.monotonic() - t0 < 1.0 + 0.3
    assert wait_post_subscribe_replays(trader)
    assert len({r.request_id for _, r in fake.requests('replay')}) == 1
