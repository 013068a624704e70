"""The Simplified Chinese catalogue is complete, compiled, and in step with the source.

zh-hans is the default language, so an English msgid left untranslated shows
up as English in the middle of a Chinese page. These tests fail, with the list
of offending msgids, when someone adds or changes a user-facing string without
translating it, or edits the .po without recompiling the .mo.

To fix a failure (from the project root):

    python manage.py makemessages -l zh_Hans -l en --ignore='.venv/*' --ignore='var/*' \
        --ignore='tests/*' --ignore='bench/*'
    # translate the new msgids in locale/zh_Hans/LC_MESSAGES/django.po, drop "#, fuzzy"
    python manage.py compilemessages --ignore='.venv/*'

No database is needed: makemessages and msgfmt only read source files.
"""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

BASE_DIR = Path(settings.BASE_DIR)
LOCALE_DIR = BASE_DIR / "locale"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
# Keep in step with the makemessages command in the module docstring (and the Makefile, if any).
MAKEMESSAGES_IGNORES = [".venv/*", "var/*", "tests/*", "bench/*"]
# Not copied into the scratch tree for the drift check (never scanned anyway).
COPY_IGNORES = shutil.ignore_patterns(".*", "__pycache__", "*.pyc", "var", "locale", "tests", "bench", "node_modules", "test-artifacts")

_UNESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(token):
    token = token.strip()
    assert token.startswith('"') and token.endswith('"'), f"malformed .po string: {token!r}"
    return re.sub(r"\\(.)", lambda m: _UNESCAPES.get(m.group(1), m.group(1)), token[1:-1])


class Entry:
    def __init__(self):
        self.flags = set()
        self.msgctxt = None
        self.msgid = None
        self.msgid_plural = None
        self.msgstr = {}  # index -> text ("msgstr" is index 0)
        self.line = None

    @property
    def key(self):
        return (self.msgctxt, self.msgid)

    def label(self):
        ctx = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"{ctx}{self.msgid!r} (line {self.line})"


def parse_po(path):
    """A small .po reader: flags, msgctxt, msgid(_plural), msgstr[n]; obsolete (#~) entries skipped.

    Tolerates entries not separated by a blank line (Django's makemessages writes
    the zh header that way)."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and entry.msgid is not None:
            entries.append(entry)

    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            entry, field = None, None
            continue
        if line.startswith("#~"):
            continue
        starts_entry = line.startswith("#") or line.startswith("msgctxt ") or line.startswith("msgid ")
        if entry is not None and starts_entry and entry.msgstr:
            finish()
            entry, field = None, None
        if entry is None:
            entry = Entry()
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith("#"):
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$", line)
        if match:
            keyword, index, text = match.group(1), match.group(2), _unquote(match.group(3))
            if keyword == "msgid":
                entry.line = number
            if keyword.startswith("msgstr"):
                field = ("msgstr", int(index or 0))
                entry.msgstr[field[1]] = text
            else:
                field = keyword
                setattr(entry, keyword, text)
        elif line.startswith('"') and field is not None:
            if isinstance(field, tuple):
                entry.msgstr[field[1]] += _unquote(line)
            else:
                setattr(entry, field, getattr(entry, field) + _unquote(line))
        else:
            raise AssertionError(f"{path}:{number}: cannot parse {raw!r}")
    finish()
    return entries


def messages(entries):
    """Every entry but the header (msgid "")."""
    return [e for e in entries if e.msgid != ""]


def header(entries):
    found = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert found, "the .po has no header entry"
    fields = {}
    for line in found[0].msgstr.get(0, "").splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip()] = value.strip()
    return found[0], fields


def _msgfmt(po, mo):
    # The same invocation as Django's compilemessages.
    result = subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], capture_output=True, text=True)
    assert result.returncode == 0, f"msgfmt rejects {po}:\n{result.stderr}"


def _catalog(mo):
    with open(mo, "rb") as fh:
        return dict(gettext.GNUTranslations(fh)._catalog)


# ---------------------------------------------------------------- (a) complete


def test_zh_hans_catalogue_exists_and_header_is_right():
    assert ZH_PO.exists(), f"{ZH_PO} is missing; run makemessages -l zh_Hans"
    head, fields = header(parse_po(ZH_PO))
    assert "fuzzy" not in head.flags, "the zh_Hans header is marked fuzzy (msgfmt would drop it)"
    assert fields.get("Language") == "zh_Hans"
    assert fields.get("Plural-Forms") == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in fields.get("Content-Type", "")


def test_every_zh_hans_msgid_is_translated_and_not_fuzzy():
    entries = messages(parse_po(ZH_PO))
    assert entries, "the zh_Hans catalogue is empty"
    fuzzy = [e.label() for e in entries if "fuzzy" in e.flags]
    expected_forms = 1  # nplurals=1
    untranslated = [
        e.label()
        for e in entries
        if not all(e.msgstr.get(i, "").strip() for i in range(expected_forms if e.msgid_plural is not None else 1))
    ]
    problems = []
    if fuzzy:
        problems.append("fuzzy entries (check the translation, then remove the flag):\n" + "\n".join(fuzzy))
    if untranslated:
        problems.append("untranslated entries:\n" + "\n".join(untranslated))
    assert not problems, f"{ZH_PO}:\n" + "\n".join(problems)


def test_zh_hans_translations_keep_their_placeholders():
    placeholder = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifeEgGxXr%]")
    wrong = []
    for e in messages(parse_po(ZH_PO)):
        wanted = sorted(placeholder.findall(e.msgid))
        for text in e.msgstr.values():
            if sorted(placeholder.findall(text)) != wanted:
                wrong.append(f"{e.label()}: {text!r}")
    assert not wrong, "translations whose placeholders differ from the msgid:\n" + "\n".join(wrong)


# ---------------------------------------------------------------- (b) compiled


@pytest.mark.parametrize("po", sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po")), ids=lambda p: p.parent.parent.name)
def test_mo_is_compiled_from_the_current_po(po, tmp_path):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing; run manage.py compilemessages"
    fresh = tmp_path / "django.mo"
    _msgfmt(po, fresh)
    assert _catalog(mo) == _catalog(fresh), f"{mo} is stale; run manage.py compilemessages"


def test_django_serves_the_chinese_catalogue():
    with translation.override("zh-hans"):
        assert translation.gettext("Sign out") == "退出登录"
        assert translation.gettext("Cases") == "案件"
    with translation.override("en"):
        assert translation.gettext("Sign out") == "Sign out"


# ---------------------------------------------------------------- (c) no drift from the source


def test_every_msgid_in_the_source_is_translated(tmp_path):
    """Regenerate the catalogue from a scratch copy of the source and compare with the committed one."""
    tree = tmp_path / "src"
    shutil.copytree(BASE_DIR, tree, ignore=COPY_IGNORES, symlinks=True)
    (tree / "locale").mkdir()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    env["CASEPORT_VAR_DIR"] = str(tmp_path / "var")  # keep settings' side effects out of the real var/
    command = [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"]
    command += [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORES]
    result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    regenerated = tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    assert regenerated.exists(), f"makemessages wrote no catalogue:\n{result.stdout}\n{result.stderr}"

    source_ids = messages(parse_po(regenerated))
    assert source_ids, "makemessages found no translatable strings in the source"
    committed = {e.key: e for e in messages(parse_po(ZH_PO))}
    missing = []
    for e in source_ids:
        have = committed.get(e.key)
        if have is None or "fuzzy" in have.flags or not have.msgstr.get(0, "").strip():
            missing.append(e.label().rsplit(" (line", 1)[0])
    assert not missing, (
        f"{len(missing)} msgid(s) in the source have no Chinese translation in {ZH_PO} "
        "(see this module's docstring for the commands):\n" + "\n".join(missing)
    )
