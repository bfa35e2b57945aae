#!/usr/bin/env python3
"""Check the eval sets in this folder (format, ids, sources, key facts).

Usage (from the repository root):

    python3 eval/sets/validate.py [--data DATA_DIR] [--demo DEMO_DIR] [FILE.jsonl ...]

Defaults: every *.jsonl next to this script; DATA_DIR = ../shared/data from the repo
root; DEMO_DIR = ingest/demo/documents. Needs poppler's `pdftotext` for the page checks.

Checks:
- every line is a JSON object; ids are unique in the file; required fields are present
  and typed; kind/status are valid; history turns are well formed;
- out_of_scope / injection cases have no expected sources;
- every expected document exists: in DATA_DIR (service-public-fiches/{particuliers,associations},
  montpellier-conseil-municipal-pdf/{deliberations,autres}) or in DEMO_DIR; for
  montpellier.jsonl and smoke.jsonl the document must be in DEMO_DIR;
- for montpellier.jsonl and smoke.jsonl: every must_contain fact appears in the text of
  its expected source (the given page of a PDF via `pdftotext -layout -f P -l P`, or the
  XML text content), compared after NFC, lowercasing, unifying apostrophes and collapsing
  whitespace. For a case with several sources, the fact must appear in one of them.
Exit status 1 when an error is found.
"""

import argparse
import json
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KINDS = {"fact", "procedure", "local", "out_of_scope", "injection", "followup"}
STATUSES = {"draft", "approved", "rejected"}
REQUIRED = ["id", "question", "kind", "expected_sources", "must_contain", "topic",
            "status", "reviewed_by", "reviewed_at", "note"]
CHECK_FACTS = {"montpellier.jsonl", "smoke.jsonl", "multilingual.jsonl"}
DEMO_ONLY = {"montpellier.jsonl", "smoke.jsonl", "multilingual.jsonl"}
# ISO 639-1 codes a case's optional `language` may take (the citizen's
# language when it is not French).
LANGUAGES = {"en", "es", "pt", "it", "de", "nl", "ro", "pl", "tr", "ar", "uk", "ru"}


def norm(s):
    s = unicodedata.normalize("NFC", s)
    s = s.replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", s).strip().lower()


class Texts:
    def __init__(self):
        self.cache = {}

    def pdf_page(self, path, page):
        key = (str(path), page)
        if key not in self.cache:
            out = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page),
                                  str(path), "-"], capture_output=True, text=True, check=True)
            self.cache[key] = norm(out.stdout)
        return self.cache[key]

    def pdf_all(self, path):
        key = (str(path), None)
        if key not in self.cache:
            out = subprocess.run(["pdftotext", "-layout", str(path), "-"],
                                 capture_output=True, text=True, check=True)
            self.cache[key] = norm(out.stdout)
        return self.cache[key]

    def xml(self, path):
        key = (str(path), "xml")
        if key not in self.cache:
            self.cache[key] = norm(" ".join(ET.parse(path).getroot().itertext()))
        return self.cache[key]


def find_doc(name, data, demo, demo_only):
    demo_hits = sorted(demo.rglob(name)) if demo.is_dir() else []
    if demo_hits:
        return demo_hits[0]
    if demo_only:
        return None
    for sub in ["service-public-fiches/particuliers", "service-public-fiches/associations",
                "montpellier-conseil-municipal-pdf/deliberations",
                "montpellier-conseil-municipal-pdf/autres"]:
        p = data / sub / name
        if p.exists():
            return p
    return None


def check_file(path, data, demo, texts):
    errors, warnings = [], []
    ids = set()
    kinds, statuses = Counter(), Counter()
    n = 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{lineno}"
        if not line.strip():
            errors.append(f"{where}: empty line")
            continue
        try:
            c = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: bad JSON ({e})")
            continue
        n += 1
        if "\\u00" in line:
            warnings.append(f"{where}: ASCII-escaped characters")
        for k in REQUIRED:
            if k not in c:
                errors.append(f"{where}: missing field {k}")
        cid = c.get("id")
        where = f"{path.name}:{lineno} ({cid})"
        if cid in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(cid)
        kind = c.get("kind")
        kinds[kind] += 1
        statuses[c.get("status")] += 1
        if kind not in KINDS:
            errors.append(f"{where}: bad kind {kind!r}")
        if c.get("status") not in STATUSES:
            errors.append(f"{where}: bad status {c.get('status')!r}")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(c.get("reviewed_at", ""))):
            errors.append(f"{where}: reviewed_at is not an ISO date")
        if not isinstance(c.get("question"), str) or not c.get("question").strip():
            errors.append(f"{where}: empty question")
        for k in ("must_contain", "must_not_contain"):
            v = c.get(k, [])
            if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
                errors.append(f"{where}: {k} must be a list of non-empty strings")
        lang = c.get("language")
        if lang is not None and lang not in LANGUAGES:
            errors.append(f"{where}: bad language {lang!r}")
        hist = c.get("history")
        if hist is not None:
            if not isinstance(hist, list) or not hist or not all(
                    isinstance(t, dict) and t.get("role") in ("user", "assistant")
                    and isinstance(t.get("content"), str) and t["content"].strip() for t in hist):
                errors.append(f"{where}: malformed history")
        if kind == "followup" and not hist:
            errors.append(f"{where}: followup without history")
        srcs = c.get("expected_sources", [])
        if not isinstance(srcs, list):
            errors.append(f"{where}: expected_sources must be a list")
            continue
        if kind in ("out_of_scope", "injection") and srcs:
            errors.append(f"{where}: {kind} case with expected sources")
        if kind not in ("out_of_scope", "injection") and not srcs:
            errors.append(f"{where}: no expected source")
        resolved = []
        for s in srcs:
            name = s.get("document") if isinstance(s, dict) else None
            if not name or "/" in name:
                errors.append(f"{where}: bad source {s!r}")
                continue
            if "page" in s and (not isinstance(s["page"], int) or s["page"] < 1):
                errors.append(f"{where}: bad page {s['page']!r}")
            p = find_doc(name, data, demo, path.name in DEMO_ONLY)
            if p is None:
                errors.append(f"{where}: document {name} not found")
                continue
            resolved.append((p, s.get("page")))
        if path.name in CHECK_FACTS and resolved:
            for fact in c.get("must_contain", []):
                f = norm(fact)
                ok = False
                for p, page in resolved:
                    if p.suffix.lower() == ".pdf":
                        text = texts.pdf_page(p, page) if page else texts.pdf_all(p)
                    else:
                        text = texts.xml(p)
                    if f in text:
                        ok = True
                        break
                if not ok:
                    errors.append(f"{where}: fact {fact!r} not in "
                                  + ", ".join(f"{p.name} p{pg}" if pg else p.name
                                              for p, pg in resolved))
    return n, kinds, statuses, errors, warnings


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--demo", default=str(REPO / "ingest" / "demo" / "documents"))
    a = ap.parse_args(argv)
    files = [Path(f) for f in a.files] or sorted(HERE.glob("*.jsonl"))
    texts = Texts()
    bad = 0
    for f in files:
        n, kinds, statuses, errors, warnings = check_file(f, Path(a.data), Path(a.demo), texts)
        print(f"{f.name}: {n} cases; kinds {dict(sorted(kinds.items()))}; "
              f"status {dict(sorted(statuses.items()))}")
        for w in warnings:
            print(f"  warning: {w}")
        for e in errors:
            print(f"  ERROR: {e}")
        bad += len(errors)
    print("OK" if not bad else f"{bad} error(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
