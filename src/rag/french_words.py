#!/usr/bin/env python3
"""Writes french-words.txt: the words (3+ letters, lower case, accents
folded) found at least 10 times in the Service-Public fiches of
../shared/data (DILA, Licence Ouverte 2.0), most frequent first. The
language detector (language.rs) takes a message whose words are mostly in
it for French, whatever the statistics of a one-line question say.

Usage (from the repository root): python3 src/rag/french_words.py
"""

import collections
import pathlib
import re
import unicodedata
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
FICHES = HERE.parents[2] / "shared" / "data" / "service-public-fiches"
MIN_COUNT = 10


def fold(text):
    text = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def main():
    counts = collections.Counter()
    for path in sorted(FICHES.rglob("*.xml")):
        try:
            text = " ".join(ET.parse(path).getroot().itertext())
        except ET.ParseError:
            continue
        counts.update(w for w in re.findall(r"[a-z]+", fold(text)) if len(w) >= 3)
    words = sorted((w for w, c in counts.items() if c >= MIN_COUNT), key=lambda w: (-counts[w], w))
    with open(HERE / "french-words.txt", "w", encoding="utf-8") as out:
        out.write("# Words of the Service-Public fiches (DILA, Licence Ouverte 2.0), "
                  f"seen {MIN_COUNT}+ times; written by french_words.py\n")
        out.write("\n".join(words) + "\n")
    print(len(words), "words")


if __name__ == "__main__":
    main()
