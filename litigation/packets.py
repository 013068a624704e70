"""Filing packets (立案材料): pre-flight, render, merge the exhibits, store sealed with the hash and the inputs.

``build_packet(matter)`` runs the pre-flight check (litigation.preflight: a blocking problem raises PacketBlocked),
builds the document model (litigation.packet_documents) and hashes its inputs. A packet with the same inputs is
returned as it is — nothing is rendered twice and a retried batch duplicates nothing (the ``packet_inputs_once``
constraint backs this against a race). Otherwise the packet is rendered, stored sealed (it holds personal data:
PIPL art. 51), and recorded as the next version, superseding the last; one transaction, and a file written for a
row that did not commit is deleted.

Rendering follows portal.fees.documents: one WeasyPrint pass over one HTML document (the templates under
templates/documents/), always in settings.DOCUMENT_LANGUAGE, with a fixed creation date (the document date), no
file identifier, fonts subset with a fixed timestamp, and a URL fetcher that serves only the packet's own image
exhibits from memory. A PDF exhibit's pages are reserved as blank numbered pages in the layout (so the index,
the 证据目录 page numbers and "第 N 页 共 M 页" count them) and the exhibit pages are laid onto them with pikepdf.
"""

from __future__ import annotations

import datetime
import hashlib
import io

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.access import can, principal_for
from portal.errors import RuleError
from portal.fees.documents import font_configuration
from portal.lib import filecrypt

from . import claims, packet_documents, preflight
from .models import Matter, Packet, PacketStatus, packet_upload_to

PDF_STYLESHEET = "css/packet_pdf.css"
MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
MARGIN = 25 * MM  # static/css/packet_pdf.css: @page margin
PLACEHOLDER = "exhibit-page-"


class PacketBlocked(RuleError):
    """Pre-flight found blocking problems; ``problems`` lists them (litigation.preflight.Problem)."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__([RuleError(str(problem.message), code=problem.code) for problem in self.problems])


class PacketRefused(RuleError):
    pass


# ----------------------------------------------------------------- rendering


def final_html(document: packet_documents.PacketDocument) -> str:
    """The packet as one HTML document, in the document language whatever the reader's."""
    with translation.override(settings.DOCUMENT_LANGUAGE):
        return render_to_string(
            "documents/packet.html",
            {"document": document, "repayment_methods": list(packet_documents.REPAYMENT_METHODS.items())},
        )


def stylesheet(fetcher):
    from weasyprint import CSS

    with open(finders.find(PDF_STYLESHEET), encoding="utf-8") as handle:
        return CSS(string=handle.read(), url_fetcher=fetcher, font_config=font_configuration())


def _placeholders(rendered) -> dict[int, tuple[int, int]]:
    """{page index: (exhibit number, exhibit page)} of the pages reserved for PDF exhibits."""
    found = {}
    for index, page in enumerate(rendered.pages):
        for anchor in page.anchors:
            if anchor.startswith(PLACEHOLDER):
                number, page_number = anchor[len(PLACEHOLDER) :].split("-")
                found[index] = (int(number), int(page_number))
    return found


def render(document: packet_documents.PacketDocument, *, html: str | None = None) -> tuple[bytes, int]:
    """(PDF bytes, page count) of the packet; the same document gives the same bytes."""
    from weasyprint import HTML

    fetcher = packet_documents.fetcher_for(document)
    source = HTML(string=html if html is not None else final_html(document), url_fetcher=fetcher)
    rendered = source.render(stylesheets=[stylesheet(fetcher)], font_config=font_configuration())
    content = rendered.write_pdf(pdf_identifier=False)
    pages = len(rendered.pages)
    pdf_exhibits = {exhibit.number: exhibit for exhibit in document.exhibits if exhibit.is_pdf}
    reserved = {index: place for index, place in _placeholders(rendered).items() if place[0] in pdf_exhibits}
    if not reserved or not pdf_exhibits:
        return content, pages
    return _merge(content, reserved, pdf_exhibits), pages


def _merge(content: bytes, reserved: dict, exhibits: dict) -> bytes:
    """Lay each PDF exhibit page onto its reserved page, scaled into the text area (A4 less the 2.5 cm margins)."""
    import pikepdf

    area = pikepdf.Rectangle(MARGIN, MARGIN, A4[0] - MARGIN, A4[1] - MARGIN)
    sources = {}
    try:
        with pikepdf.open(io.BytesIO(content)) as packet:
            for index, (number, page_number) in sorted(reserved.items()):
                if number not in sources:
                    sources[number] = pikepdf.open(io.BytesIO(exhibits[number].content))
                _overlay(packet, packet.pages[index], sources[number].pages[page_number - 1], area, f"/Exhibit{number}p{page_number}")
            out = io.BytesIO()
            # deterministic_id: the trailer /ID is a hash of the content, never of the time (same inputs, same bytes).
            packet.save(out, deterministic_id=True)
            return out.getvalue()
    finally:
        for source in sources.values():
            source.close()


def _overlay(packet, page, exhibit_page, area, name: str) -> None:
    """pikepdf's Page.add_overlay, with a fixed resource name (it picks a random one: the bytes would differ)."""
    import pikepdf

    form = packet.copy_foreign(exhibit_page.as_form_xobject())
    page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(name))
    placement = page.calc_form_xobject_placement(form, pikepdf.Name(name), area, allow_shrink=True, allow_expand=True)
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n", prepend=False)
    page.contents_add(placement, prepend=False)
    page.contents_coalesce()


def render_pdf(document: packet_documents.PacketDocument) -> bytes:
    return render(document)[0]


# ----------------------------------------------------------------- building and storing


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _recorded(problems) -> list[dict]:
    """What the packet keeps of the pre-flight: overridden problems (with the reason) and warnings."""
    return [problem.as_json() for problem in problems if problem.overridden is not None or not problem.blocking]


def build_packet(matter: Matter, *, by=None, job_id=None, today: datetime.date | None = None) -> Packet:
    """The packet of ``matter`` for its current inputs: the stored one if they are unchanged, else a new version."""
    found = preflight.problems(matter, today=today)
    stopping = [problem for problem in found if problem.blocking and problem.overridden is None]
    if stopping:
        raise PacketBlocked(stopping)
    with translation.override(settings.DOCUMENT_LANGUAGE):
        claim = claims.claim_for(matter)
    document = packet_documents.build(matter, claim=claim)
    inputs = packet_documents.as_inputs(document)
    digest = packet_documents.inputs_sha256(inputs)
    existing = Packet.objects.filter(matter=matter, inputs_sha256=digest).first()
    if existing is not None:
        return existing
    content, pages = render(document)
    with transaction.atomic():
        Matter.objects.select_for_update().filter(pk=matter.pk).first()
        existing = Packet.objects.filter(matter=matter, inputs_sha256=digest).first()
        if existing is not None:
            return existing
        last = Packet.objects.filter(matter=matter).aggregate(last=Max("version"))["last"] or 0
        packet = Packet(
            matter=matter,
            version=last + 1,
            sha256=sha256(content),
            size=len(content),
            pages=pages,
            inputs=inputs,
            inputs_sha256=digest,
            claim_total=claim.total,
            court_fee=claim.payable_fee,
            problems=_recorded(found),
            built_by=by,
            job_id=job_id,
        )
        name = filecrypt.save(packet.file.storage, packet_upload_to(packet, None), content)
        packet.file.name = name
        try:
            with transaction.atomic():
                packet.save(force_insert=True)
        except IntegrityError:
            filecrypt.delete(packet.file.storage, name)
            existing = Packet.objects.filter(matter=matter, inputs_sha256=digest).first()
            if existing is None:
                raise
            return existing
        try:
            Packet.objects.filter(matter=matter, status__in=[PacketStatus.BUILT, PacketStatus.APPROVED]).exclude(pk=packet.pk).update(
                status=PacketStatus.SUPERSEDED
            )
            from portal.audit.log import record
            from portal.audit.models import Action

            record(
                Action.CREATE,
                actor=by,
                obj=packet,
                matter=str(matter.pk),
                version=packet.version,
                sha256=packet.sha256,
                pages=pages,
                overridden=[problem["code"] for problem in packet.problems if problem["overridden"]],
            )
        except BaseException:
            filecrypt.delete(packet.file.storage, name)  # no file for a row that will not exist
            raise
    return packet


def packet_bytes(packet: Packet) -> bytes:
    """The packet's PDF, unsealed; checked against its stored hash."""
    content = filecrypt.read(packet.file.storage, packet.file.name)
    if sha256(content) != packet.sha256:
        raise filecrypt.FileUnreadable("packet does not match its stored hash")
    return content


def approve_packet(packet: Packet, *, by) -> Packet:
    """A lawyer (or the legal manager) approves the latest built packet of a matter."""
    principal = principal_for(by, getattr(connection, "tenant", None))
    if not can(principal, "packet.approve"):
        raise PacketRefused(_("Only a lawyer or the legal manager may approve a packet."), code="packet_approve_not_allowed")
    with transaction.atomic():
        Matter.objects.select_for_update().filter(pk=packet.matter_id).first()
        packet.refresh_from_db()
        latest = Packet.objects.filter(matter_id=packet.matter_id).order_by("-version").first()
        if packet.status != PacketStatus.BUILT or latest.pk != packet.pk:
            raise PacketRefused(_("Only the latest built packet can be approved."), code="packet_not_latest")
        packet.status = PacketStatus.APPROVED
        packet.approved_by = by
        packet.approved_at = timezone.now()
        packet.save(update_fields=["status", "approved_by", "approved_at"])
        from portal.audit.log import record
        from portal.audit.models import Action

        record(Action.CHANGE, actor=by, obj=packet, status=PacketStatus.APPROVED, version=packet.version)
    return packet
