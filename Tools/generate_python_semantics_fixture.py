#!/usr/bin/env python3
"""Writes Tests/TextTests/Fixtures/python-text-semantics.jsonl: random strings and what Python does to them.

The CLIP cleaning re-implements Python's html.unescape, str.split()/strip() and str.lower() in Swift. ftfy is not
needed for these, so this fixture checks them on many more inputs than the OpenCLIP fixture has. Deterministic
(seeded); run: python3 Tools/generate_python_semantics_fixture.py > Tests/TextTests/Fixtures/python-text-semantics.jsonl
"""
import html
import json
import random
import sys

PIECES = [
    "&", "&amp", "&amp;", "&lt;", "&gt", "&not", "&notin;", "&notit;", "&nbsp", "&copy", "&acE;", "&AMP;", "&Eacute;",
    "&eacute", "&#", "&#39;", "&#x27;", "&#X41", "&#0;", "&#128;", "&#x9f;", "&#xD800;", "&#1;", "&#11;",
    "&#99999999999;", "&#x110000;", "&#65", "&;", "&&", ";", "#", "x", "amp", "lt", "q",
    "A", "b", "Z", "é", "É", "İ", "ẞ", "ß", "Σ", "σ", "ς", "Α", "Ω", "ΟΔΟΣ", "Ǆ", "ǅ", "ﬁ", "Ⅻ", "ǈ", "K", "Å",
    "\u0301", "\u0307", "\u00ad", "'", ".", "-", "1", "٣", "²", "😀", "日本",
    " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2003", "\u200b",
    "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff",
]


def main():
    rng = random.Random(20261129)
    for _ in range(600):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
        record = {
            "text": text,
            "unescape": html.unescape(text),
            "lower": text.lower(),
            "collapse": " ".join(text.split()),
            "strip": text.strip(),
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
