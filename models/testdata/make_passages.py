"""Builds passages-fr.txt: ~200-token French passages for tests and benchmarks
(the shape of the embedding benchmark: 122 words of Service-Public French are
about 200 XLM-R tokens).

Source: Service-Public.fr "vosdroits" fiches (DILA), Licence Ouverte 2.0,
state of November 2020, from ../../../shared/data/service-public-fiches/.
Run from this folder:  python3 make_passages.py SHARED_FICHES_DIR
"""
import html
import re
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../shared/data/service-public-fiches/particuliers")
files = sorted(src.glob("F*.xml"))
passages = []
for f in files:
    text = f.read_text(encoding="utf-8")
    body = re.sub(r"<dc:[^>]*>.*?</dc:[^>]*>", " ", text, flags=re.S)
    body = re.sub(r"<FilDAriane>.*?</FilDAriane>", " ", body, flags=re.S)
    words = html.unescape(re.sub(r"<[^>]+>", " ", body)).split()
    # skip the header words (breadcrumb, audience), take the body
    for i in range(20, len(words) - 122, 122):
        passages.append(" ".join(words[i : i + 122]))
        break
    if len(passages) == 256:
        break
Path("passages-fr.txt").write_text("\n".join(passages) + "\n", encoding="utf-8")
print(len(passages), "passages")
