#!/usr/bin/env python
"""Fill zh_Hans msgstrs from a JSON {msgid: msgstr} file and clear fuzzy flags for them.

python bin/po_fill.py translations.json      # then: manage.py compilemessages
"""

import json
import re
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def main(path):
    table = json.loads(Path(path).read_text())
    text = PO.read_text()
    for msgid, msgstr in table.items():
        quoted = json.dumps(msgid, ensure_ascii=False)
        pattern = re.compile(r"(?:#, fuzzy\n)?(?:#\| msgid .*\n)*msgid " + re.escape(quoted) + r'\nmsgstr ".*"\n')
        text, count = pattern.subn(
            lambda _, quoted=quoted, msgstr=msgstr: f"msgid {quoted}\nmsgstr {json.dumps(msgstr, ensure_ascii=False)}\n", text
        )
        if not count:
            print(f"not in catalogue: {msgid}", file=sys.stderr)
    PO.write_text(text)


if __name__ == "__main__":
    main(sys.argv[1])
