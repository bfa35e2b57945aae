#!/usr/bin/env python3
"""Build eval/sets/service-public.jsonl from Etalab's PIAF-ML Service-Public QA files.

Usage (from the repository root):

    python3 eval/sets/build_service_public.py [DATA_DIR] [-o OUTPUT]

DATA_DIR defaults to ../shared/data relative to the repository root (the
repository root is two folders above this script). It must hold
``piaf-ml-service-public-qa/`` and ``service-public-fiches/particuliers/``.

Two parts, written in this order:

(a) ``sp-span-NNN``: the 105 questions of ``filtered_spf_qr_test.json`` (SQuAD
    v1, one human-annotated extractive answer span each). kind "fact",
    must_contain = [span], reference_answer = span, expected source = the fiche.
    Each span is checked against the text content of the fiche XML after
    whitespace normalisation; the ``note`` says when it is not found verbatim.
(b) ``sp-muni-NNN``: the 127 rows of ``qa_index.csv`` with municipal_topic
    True. kind "procedure", expected source = the fiche, must_contain = the
    annotated span when qa_index.csv has one (checked the same way), else [].

The output is deterministic: input order is kept, JSON keys are written in a
fixed order, no timestamps are taken from the clock.
"""

import argparse
import csv
import json
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "service-public.jsonl"

REVIEWED_BY = "etalab-piaf-ml (annotations)"
REVIEWED_AT = "2021-01-13"

# Service-Public sous-thème (SousThemePere) -> short municipal topic used in the eval sets.
TOPICS = {
    "Identité - Authentification": "papiers d'identité",
    "Citoyenneté": "élections et citoyenneté",
    "État civil": "état civil",
    "Couple": "état civil",
    "Décès": "décès et funéraire",
    "Urbanisme": "urbanisme",
    "Expropriation - Préemption": "urbanisme",
    "Scolarité": "scolarité et restauration",
    "Enfant": "enfance et famille",
    "Aides sociales": "social",
    "Handicap": "social",
    "Hébergement": "social",
    "Protection des personnes": "social",
    "Aides financières pour le logement": "logement",
    "Vie pratique dans un logement": "logement",
    "Location immobilière": "logement",
    "Copropriété": "logement",
    "Protection et sécurité de l'habitat": "logement",
    "Relations avec l'administration": "démarches administratives",
    "Temps libre": "loisirs et vie locale",
    "Étranger en France": "étrangers",
}

# dc:subject (first part) -> topic, for fiches outside the municipal sous-thèmes.
SUBJECT_TOPICS = {
    "famille": "enfance et famille",
    "loisirs": "loisirs et vie locale",
    "étranger": "étrangers",
    "papiers": "papiers d'identité",
}


def norm(s: str) -> str:
    """Lowercase, NFC, typographic apostrophes/spaces unified, whitespace collapsed."""
    s = unicodedata.normalize("NFC", s)
    s = s.replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", s).strip().lower()


class Fiches:
    def __init__(self, folder: Path):
        self.folder = folder
        self._cache = {}

    def path(self, fid: str) -> Path:
        return self.folder / f"{fid}.xml"

    def info(self, fid: str):
        """(normalised text, text without spaces, sous-thème, dc:subject) or None."""
        if fid not in self._cache:
            p = self.path(fid)
            if not p.exists():
                self._cache[fid] = None
            else:
                root = ET.parse(p).getroot()
                text = " ".join(root.itertext())
                st = root.find("SousThemePere")
                sous_theme = (st.text or "").strip() if st is not None else ""
                subj = root.find("{http://purl.org/dc/elements/1.1/}subject")
                subject = (subj.text or "").strip() if subj is not None else ""
                n = norm(text)
                self._cache[fid] = (n, n.replace(" ", ""), sous_theme, subject)
        return self._cache[fid]

    def check_span(self, fid: str, span: str) -> str:
        """'exact', 'nospace' (only matches once all spaces are removed) or 'missing'."""
        info = self.info(fid)
        if info is None:
            return "nofile"
        n, nospace = info[0], info[1]
        s = norm(span)
        if s in n:
            return "exact"
        if s.replace(" ", "") in nospace:
            return "nospace"
        return "missing"


def topic_for(sous_theme: str, subject: str = "") -> str:
    """Municipal topic from the sous-thème; otherwise the fiche's dc:subject, lowercased."""
    if sous_theme in TOPICS:
        return TOPICS[sous_theme]
    if subject:
        first = subject.split(",")[0].split(" - ")[0].strip().lower()
        return SUBJECT_TOPICS.get(first, first)
    return "démarches administratives"


def span_note(status: str) -> str:
    if status == "exact":
        return "span found verbatim in the fiche XML text (whitespace-normalised)"
    if status == "nospace":
        return ("span found in the fiche XML text only when spaces are ignored "
                "(element boundary or spacing differs)")
    if status == "nofile":
        return "fiche XML missing from service-public-fiches/particuliers"
    return ("span NOT found verbatim in the fiche XML text (the fiche was edited between the "
            "annotation and the Nov 2020 XML snapshot, or the span was taken from a different "
            "flattening); the must_contain check may be too strict for this case")


def case(cid, question, kind, fid, must, ref, topic, note):
    c = {
        "id": cid,
        "question": question,
        "kind": kind,
        "expected_sources": [{"document": f"{fid}.xml"}],
        "must_contain": must,
    }
    if ref:
        c["reference_answer"] = ref
    c.update({
        "topic": topic,
        "status": "approved",
        "reviewed_by": REVIEWED_BY,
        "reviewed_at": REVIEWED_AT,
        "note": note,
    })
    return c


def clean_span(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    return s.rstrip(" ,;:")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default=str(DEFAULT_DATA),
                    help="shared data folder (default: ../shared/data from the repo root)")
    ap.add_argument("-o", "--output", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)

    data = Path(args.data)
    qa_dir = data / "piaf-ml-service-public-qa"
    fiches = Fiches(data / "service-public-fiches" / "particuliers")

    out = []
    stats = {"exact": 0, "nospace": 0, "missing": 0, "nofile": 0}

    # (a) annotated spans
    squad = json.loads((qa_dir / "filtered_spf_qr_test.json").read_text(encoding="utf-8"))
    n = 0
    for art in squad["data"]:
        fid = art["title"].strip()
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                for ans in qa["answers"][:1]:
                    n += 1
                    span = clean_span(ans["text"])
                    st = fiches.check_span(fid, span)
                    stats[st] += 1
                    info = fiches.info(fid)
                    out.append(case(
                        f"sp-span-{n:03d}", qa["question"].strip(), "fact", fid, [span], span,
                        topic_for(info[2], info[3]) if info else "démarches administratives",
                        "origin: etalab-ia/piaf-ml data/evaluation-datasets/filtered_spf_qr_test.json "
                        f"(human-annotated extractive span, fiche {fid}); {span_note(st)}",
                    ))

    # (b) municipal questions of qa_index.csv
    with open(qa_dir / "qa_index.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    m = 0
    for row in rows:
        if row["municipal_topic"].strip().lower() != "true":
            continue
        m += 1
        fid = row["fiche_id"].strip()
        span = clean_span(row["annotated_span"] or "")
        must, ref = [], None
        note = ("origin: etalab-ia/piaf-ml data/questions_spf.json via qa_index.csv "
                f"(municipal_topic true, fiche {fid}"
                + (", question = fiche title" if row["question_equals_title"] == "True" else "")
                + "); no key fact annotated, judge on sources and answer")
        if span:
            st = fiches.check_span(fid, span)
            stats[st] += 1
            must, ref = [span], span
            note = ("origin: etalab-ia/piaf-ml data/questions_spf.json via qa_index.csv "
                    f"(municipal_topic true, fiche {fid}); annotated span from spf_qr_test.json; "
                    + span_note(st))
        info = fiches.info(fid)
        topic = topic_for(row["sous_theme"].strip() or (info[2] if info else ""),
                          info[3] if info else "")
        out.append(case(f"sp-muni-{m:03d}", row["question"].strip(), "procedure", fid, must, ref,
                        topic, note))

    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        for c in out:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} cases ({n} span, {m} municipal) to {args.output}; "
          f"span checks: {stats}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
