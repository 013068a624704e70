"""Filing packets: the PDF a court clerk receives — text, fonts, page numbers, reproducible bytes, history, pre-flight
blocking and overrides, and no network while rendering."""

import datetime
import re
import socket
import subprocess
from decimal import Decimal

import pytest

from litigation import packet_documents, packets, preflight
from litigation.claims import claim_for
from litigation.models import DocumentKind, Packet, PacketStatus
from tests.litigation.support import STANDARD_EXHIBITS, complete_matter

SECTION_HEADINGS = ["民事起诉状", "证据目录", "债权计算表", "授权委托书", "法定代表人身份证明书", "送达地址确认书", "诉讼费用"]


def pdftotext(content: bytes, tmp_path, *, page=None) -> str:
    path = tmp_path / "packet.pdf"
    path.write_bytes(content)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdffonts(content: bytes, tmp_path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


@pytest.fixture
def built(acme):
    matter = complete_matter(acme)
    packet = packets.build_packet(matter, by=acme.people["l_lawyer"].user)
    return matter, packet, packets.packet_bytes(packet)


def test_the_packet_prints_parties_amounts_headings_and_exhibits(built, tmp_path):
    matter, packet, content = built
    text = pdftotext(content, tmp_path)
    assert "赵六" in text  # the defendant (tests.litigation.support.complete_matter)
    from litigation.models import PlaintiffProfile

    assert PlaintiffProfile.objects.get().name in text
    # Principal: 15,000.00 on the books, no payment since interest was paid: printed with separators.
    assert "15,000.00" in text
    claim = claim_for(matter)
    assert f"{claim.total:,.2f}" in text
    for heading in SECTION_HEADINGS:
        assert heading in text, heading
    for _kind, _title, _proves, pages in STANDARD_EXHIBITS:
        assert f"page {pages}" in text  # the exhibits' own text (support.pdf_bytes writes "<text> page N")
    assert packet.pages == text.count("\f")  # pdftotext ends every page with a form feed


def test_every_font_of_ours_is_the_embedded_cjk_serif(built, tmp_path):
    _matter, _packet, content = built
    fonts = pdffonts(content, tmp_path)
    ours = [row for row in fonts if row[0] != "Helvetica"]  # Helvetica: the exhibits' own (support.pdf_bytes), as uploaded
    assert ours and all("Noto-Serif-CJK-SC" in row[0] for row in ours), ours
    assert all(row[-5] == "yes" for row in ours)  # emb


def test_index_page_numbers_are_where_the_sections_start(built, tmp_path):
    _matter, packet, content = built
    index = pdftotext(content, tmp_path, page=1)
    for heading, probe in [
        ("民事起诉状", "民事起诉状"),
        ("证据目录及证据", "证据目录"),
        ("债权计算表", "债权计算表"),
        ("授权委托书", "授权委托书"),
    ]:
        match = re.search(heading + r"\s+第\s*(\d+)\s*页", index)
        assert match, heading
        assert probe in pdftotext(content, tmp_path, page=int(match.group(1))), heading
    match = re.search(r"证据2\s+放款凭证.*?第\s*(\d+)\s*页", index)
    page = int(match.group(1))
    assert "证据2" in pdftotext(content, tmp_path, page=page)
    assert "page 1" in pdftotext(content, tmp_path, page=page + 1)  # the exhibit's own page follows its divider
    assert f"共 {packet.pages} 页" in pdftotext(content, tmp_path, page=packet.pages)


def test_same_inputs_same_bytes_and_one_packet(built):
    matter, packet, content = built
    document = packet_documents.build(matter)
    assert packets.render_pdf(document) == content
    again = packets.build_packet(matter)
    assert again.pk == packet.pk and Packet.objects.filter(matter=matter).count() == 1


def test_a_changed_element_is_a_new_version_and_the_old_one_is_kept(built):
    matter, first, content = built
    matter.claim_enforcement_costs = Decimal("1500.00")
    matter.enforcement_costs_detail = "律师费"
    matter.save()
    second = packets.build_packet(matter)
    assert second.version == 2 and second.claim_total == first.claim_total + Decimal("1500.00")
    first.refresh_from_db()
    assert first.status == PacketStatus.SUPERSEDED
    assert packets.packet_bytes(first) == content  # still stored, still matching its hash


def test_preflight_blocks_a_matter_without_disbursement_proof_until_a_lawyer_overrides(acme):
    exhibits = [row for row in STANDARD_EXHIBITS if row[0] != DocumentKind.DISBURSEMENT]
    matter = complete_matter(acme, exhibits=exhibits)
    with pytest.raises(packets.PacketBlocked) as blocked:
        packets.build_packet(matter)
    assert [p.code for p in blocked.value.problems] == ["no_disbursement_proof"]
    with pytest.raises(preflight.OverrideRefused):
        preflight.override(matter, "no_disbursement_proof", "", acme.people["l_lawyer"].user)
    with pytest.raises(preflight.OverrideRefused):
        preflight.override(matter, "no_disbursement_proof", "放款记录见银行流水", acme.people["l_paralegal"].user)
    preflight.override(matter, "no_disbursement_proof", "放款记录见还款明细", acme.people["l_lawyer"].user)
    packet = packets.build_packet(matter)
    [recorded] = [p for p in packet.problems if p["code"] == "no_disbursement_proof"]
    assert recorded["overridden"]["reason"] == "放款记录见还款明细"


def test_no_network_during_rendering(acme, monkeypatch):
    matter = complete_matter(acme)
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network is not allowed while rendering")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    packet = packets.build_packet(matter)
    assert packet.pages > 0 and attempts == []


def test_the_fetcher_serves_only_the_packets_own_images():
    from weasyprint import HTML

    png = b"\x89PNG\r\n\x1a\n" + b"x"
    fetcher = packet_documents.ExhibitFetcher({"abc": (png, "image/png")})
    assert fetcher.fetch("exhibit:abc").read() == png
    for url in (
        "http://example.com/a.png",
        "https://example.com/x.css",
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
        "exhibit:other",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    HTML(string='<img src="http://169.254.169.254/x.png"><img src="file:///etc/hostname">', url_fetcher=fetcher).write_pdf()
    assert fetcher.refused[-2:] == ["http://169.254.169.254/x.png", "file:///etc/hostname"]


def test_an_image_exhibit_is_placed_on_its_page(acme, tmp_path):
    from tests.litigation.support import add_document, png_bytes

    matter = complete_matter(acme)
    add_document(matter, DocumentKind.OTHER, title="收据照片", content=png_bytes(), content_type="image/png")
    document = packet_documents.build(matter)
    [photo] = [e for e in document.exhibits if e.title == "收据照片"]
    assert photo.content_type == "image/png" and photo.pages == 1
    content = packets.render_pdf(document)
    assert "收据照片" in pdftotext(content, tmp_path)


def test_build_packet_command(acme, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    matter = complete_matter(acme)
    out = StringIO()
    path = tmp_path / "out.pdf"
    call_command("build_packet", tenant="acme", matter=str(matter.pk), out=str(path), stdout=out)
    packet = Packet.objects.get(matter=matter)
    assert out.getvalue().split() == [packet.sha256, str(packet.pages), str(path)]
    assert path.read_bytes()[:5] == b"%PDF-"


def test_the_document_date_is_the_day_after_the_cutoff(acme):
    matter = complete_matter(acme)
    document = packet_documents.build(matter)
    day = matter.claim_cutoff + datetime.timedelta(days=1)
    assert document.issued_on == day.isoformat() and document.date == f"{day.year}年{day.month}月{day.day}日"
    inputs = packet_documents.inputs_for(matter)
    assert all(isinstance(v, str) for v in inputs["fees"].values())
    assert [e["sha256"] for e in inputs["exhibits"]] == [e.sha256 for e in document.exhibits]
