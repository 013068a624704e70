#!/usr/bin/env python
"""One filing packet against WeasyPrint alone: .venv/bin/python bench/bench_packet.py [--rounds N] [--db NAME] [--keep-db]

What it does:
  1. creates a scratch database (default caseport_bench_packet), migrates, builds the test cast;
  2. in acme, a packet-ready matter (tests/litigation/support.complete_matter) whose exhibits are one-page PDFs;
  3. times, same run, alternating, --rounds times each:
     (a) ours: litigation.packet_documents.build (document model, exhibits read and checked) + packets.render_pdf
         (HTML, WeasyPrint, exhibit pages laid onto their reserved pages with pikepdf) — no DB writes;
     (b) WeasyPrint alone: HTML(string=final_html).write_pdf with the same stylesheet and font configuration;
  4. prints medians, the ratio (a)/(b) (target < 1.3×) and the page count; drops the database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(ROOT))

from bench import timing  # noqa: E402
from bench.run import scratch_database, setup_world  # noqa: E402
from bench.timing import say  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds of each (default 10)")
    parser.add_argument("--db", default="caseport_bench_packet", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    opts = parse_args(argv)
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-packet-"):
        from django.test.utils import override_settings
        from django_tenants.utils import tenant_context

        world = setup_world()
        with override_settings(DEBUG=False), tenant_context(world.lenders["acme"]):
            from weasyprint import HTML

            from litigation import packet_documents, packets
            from litigation.models import DocumentKind
            from portal.fees.documents import font_configuration
            from tests.litigation.support import complete_matter

            exhibits = [
                (DocumentKind.LOAN_CONTRACT, "借款合同", "证明借款合同关系", 1),
                (DocumentKind.DISBURSEMENT, "放款凭证", "证明已按约放款", 1),
            ]
            matter = complete_matter(world, exhibits=exhibits)

            def ours():
                return packets.render_pdf(packet_documents.build(matter))

            document = packet_documents.build(matter)
            html = packets.final_html(document)

            def alone():
                fetcher = packet_documents.fetcher_for(document)
                return HTML(string=html, url_fetcher=fetcher).write_pdf(
                    stylesheets=[packets.stylesheet(fetcher)], font_config=font_configuration(), pdf_identifier=False
                )

            content = ours()
            alone()  # warm both (fonts, templates)
            pages = packets.render(document)[1]
            samples = {"ours": [], "alone": []}
            for _round in range(opts.rounds):
                for name, run in (("ours", ours), ("alone", alone)):
                    start = timing.clock()
                    run()
                    samples[name].append(timing.clock() - start)
            a, b = timing.summary(samples["ours"]), timing.summary(samples["alone"])
            say(f"packet: {pages} pages, {len(content)} bytes")
            say(f"ours (build + render + merge): median {timing.fmt_ms(a['median'])} (min {timing.fmt_ms(a['min'])})")
            say(f"WeasyPrint alone (same HTML):  median {timing.fmt_ms(b['median'])} (min {timing.fmt_ms(b['min'])})")
            say(f"ratio ours / alone: {a['median'] / b['median']:.2f}× (target < 1.3×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
