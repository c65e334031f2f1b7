"""Stand-in for the terminal's `xtquant` package, for the bridge's xtquant backend tests.

Written from the vendor's xttrader API description (facts copied here, the doc is never read
at run time): XtQuantTrader(path, session_id), register_callback/start/connect (0 = ok)/
subscribe (0 = ok), callbacks from the trader's own thread, async seqs > 0, order ids of the
terminal's shape, broker errors pushed as on_order_error. Test hooks live in xttrader.HOOKS.
"""
