"""python manage.py build_packet --tenant SLUG --matter ID --out PATH: build one filing packet from the command line."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from tenants.models import Lender


class Command(BaseCommand):
    help = "Build a matter's filing packet (立案材料) and write the PDF to PATH; prints its SHA-256, pages and path."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="the lender's organisation slug")
        parser.add_argument("--matter", required=True, help="the matter's id (UUID) or number (LIT-…)")
        parser.add_argument("--out", required=True, help="where to write the PDF")

    def handle(self, *args, tenant, matter, out, **options):
        from litigation import packets
        from litigation.models import Matter

        lender = Lender.objects.filter(organisation__slug=tenant).first()
        if lender is None:
            raise CommandError(f"no lender with the slug {tenant!r}")
        with tenant_context(lender):
            try:
                found = Matter.objects.filter(number=matter).first() or Matter.objects.filter(pk=matter).first()
            except Exception:  # noqa: BLE001 - not a UUID
                found = None
            if found is None:
                raise CommandError(f"no matter {matter!r} in {tenant}")
            try:
                packet = packets.build_packet(found)
            except packets.PacketBlocked as blocked:
                lines = "\n".join(f"  {problem.code}: {problem.message}" for problem in blocked.problems)
                raise CommandError(f"pre-flight problems block the packet of {found.number}:\n{lines}") from None
            content = packets.packet_bytes(packet)
        with open(out, "wb") as handle:
            handle.write(content)
        self.stdout.write(f"{packet.sha256} {packet.pages} {out}")
