#!/usr/bin/env python
"""Run localstripe (a fake, stateful Stripe API) on the loopback interface only.

    .venv/bin/python bin/localstripe_server.py --port 8420 [--state var/localstripe.pickle]

localstripe's own ``localstripe`` command binds every interface (``::``) and has no ``--host``
option; this wrapper serves the same aiohttp application on 127.0.0.1 (stack-notes.md,
"stripe-python v16 against localstripe"). localstripe also pickles its whole store to the fixed path
``/tmp/localstripe.pickle`` on every write, which several servers on one machine would share; here
the state stays in memory unless ``--state`` names a file of this server's own (the demo keeps it
across restarts that way). ``DELETE /_config/data`` empties it; ``POST /_config/webhooks/<id>``
(``url``, ``secret``) registers where it delivers its signed events.
Used by billing.testing.start_localstripe (tests) and by ``make demo``.
"""

import argparse
import pickle
import sys


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1", help="the address to bind (default: loopback only)")
    parser.add_argument("--state", default="", help="a pickle file to load the store from and save it to (default: memory only)")
    opts = parser.parse_args(argv)

    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    def dump_to_disk(store):
        if opts.state:
            with open(opts.state, "wb") as f:
                pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.dump_to_disk = dump_to_disk
    if opts.state:
        try:
            with open(opts.state, "rb") as f:
                dict.update(resources.store, pickle.load(f))
        except FileNotFoundError:
            pass
    web.run_app(app, host=opts.host, port=opts.port, access_log=None, print=lambda *a: print(*a, file=sys.stderr, flush=True))


if __name__ == "__main__":
    main()
