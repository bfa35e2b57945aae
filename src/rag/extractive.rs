//! The extractive answer: no LLM. The sentences, list items and table rows
//! of the retrieved chunks that answer the question are selected, kept in
//! their documents' order and joined into a short answer with their `[n]`
//! citations. Amounts, conditions and headings come out exactly as the
//! town wrote them, which a 135M-270M model cannot promise.
//!
//! Each unit is scored against the question on both sides of the hybrid
//! search: the IDF-weighted share of the question's terms it contains (a
//! form number or an amount must match exactly) and the cosine between its
//! embedding and the question's (paraphrases). A unit that introduces a
//! list ("Pièces à fournir :") brings the list items after it, and a list
//! item picked alone comes after its introduction. When the question says
//! what kind of fact it wants (an amount, a delay, a place: see
//! [`super::wanted`]), units that hold one get a bonus: that is what
//! separates "Le passeport coûte 86 €" from a definition of the passport.

use std::collections::{BTreeSet, HashSet};

use guichet_models::{cosine, EmbedKind, Embedder};

use super::confidence::coverage;
use super::wanted::{carries, Wanted};
use crate::Result;

/// Most units embedded per question: bounds the answer's cost (about a
/// second on two cores at 48 short units).
const MAX_UNITS: usize = 48;
/// Longest line kept whole; longer ones are split into sentences.
const LONG_LINE: usize = 350;
/// Most units in an answer.
const MAX_SELECTED: usize = 4;
/// List items brought by a unit that ends with a colon.
const MAX_LIST_ITEMS: usize = 6;
/// Share of a unit's words already in a picked one that makes it a repeat.
const REPEAT_SHARE: f64 = 0.8;
/// Score bonus of a unit holding the kind of fact the question wants.
const WANTED_BONUS: f64 = 0.15;

/// One retrieved chunk offered to the extractor.
#[derive(Debug, Clone)]
pub struct Passage<'a> {
    /// Its source number (1-based, as cited).
    pub n: usize,
    /// The chunk's body (without its context line).
    pub body: &'a str,
    /// Its section path, for context.
    pub section: &'a str,
}

/// An extractive answer.
#[derive(Debug, Clone)]
pub struct Extract {
    /// The answer text, with citations.
    pub text: String,
    /// The sources it cites.
    pub cited: BTreeSet<usize>,
    /// The best unit's score (0-1).
    pub best: f64,
}

#[derive(Debug, Clone)]
struct Unit {
    n: usize,
    passage: usize,
    text: String,
    heading: String,
    intro: bool,
    list_item: bool,
}

/// Whether a line of a chunk body is a sub-heading (a section path line
/// written by the chunker, or a short title line without digits).
fn is_heading(line: &str) -> bool {
    if line.contains(" › ") {
        return true;
    }
    let l = line.trim();
    l.chars().count() < 70
        && !l.ends_with(['.', ';', ':', '!', '?', ','])
        && !l.starts_with("- ")
        && !l.chars().any(|c| c.is_ascii_digit())
        && l.chars().next().is_some_and(char::is_uppercase)
}

/// Whether a line is a table's header: a short title without an amount
/// ("Entrée cinéma Nestor Burma Tarifs 2014") over a row with one. Its
/// rows ("Tarif individuel 6,00 €") only make sense under it.
fn is_table_header(line: &str, next: &str) -> bool {
    let l = line.trim();
    l.chars().count() < 90
        && !l.ends_with(['.', ';', ':', '!', '?', ','])
        && !l.starts_with(['-', '•'])
        && l.chars().next().is_some_and(char::is_uppercase)
        && !carries(Wanted::Amount, l)
        && carries(Wanted::Amount, next)
}

fn units_of(passage: usize, p: &Passage<'_>, out: &mut Vec<Unit>) {
    let mut heading = p.section.rsplit(" › ").next().unwrap_or("").to_string();
    let lines: Vec<&str> = p
        .body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for (i, line) in lines.iter().enumerate() {
        if i + 1 < lines.len() && (is_heading(line) || is_table_header(line, lines[i + 1])) {
            heading = line.rsplit(" › ").next().unwrap_or(line).to_string();
            continue;
        }
        let pieces = if line.chars().count() > LONG_LINE {
            guichet_ingest::split_sentences(line)
        } else {
            vec![line.to_string()]
        };
        for piece in pieces {
            let list_item = piece.starts_with('-') || piece.starts_with('•');
            let text = piece.trim_start_matches(['-', '•', ' ']).trim().to_string();
            if text.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
                continue;
            }
            out.push(Unit {
                n: p.n,
                passage,
                intro: text.ends_with(':'),
                text,
                heading: heading.clone(),
                list_item,
            });
        }
    }
}

fn key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The extractive answer to a question from `passages` (best first), or
/// `None` when no unit shares anything with the question. `wanted` is
/// what the question asks for ([`super::wanted::wanted`]); a unit holding
/// any of it gets the bonus.
pub fn extract(
    question_vec: &[f32],
    terms: &[super::confidence::TermGroup],
    wanted: &[Wanted],
    passages: &[Passage<'_>],
    embedder: &dyn Embedder,
) -> Result<Option<Extract>> {
    let mut units = Vec::new();
    for (i, p) in passages.iter().enumerate() {
        units_of(i, p, &mut units);
    }
    // Overlapping chunks repeat sentences: keep the first.
    let mut seen = HashSet::new();
    units.retain(|u| seen.insert(key(&u.text)));
    if units.is_empty() {
        return Ok(None);
    }
    let lexical: Vec<f64> = units
        .iter()
        .map(|u| coverage(terms, &[&u.text]) + 0.3 * coverage(terms, &[&u.heading]))
        .collect();
    // Embed the most promising units only.
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| {
        lexical[b]
            .total_cmp(&lexical[a])
            .then(units[a].passage.cmp(&units[b].passage))
            .then(a.cmp(&b))
    });
    order.truncate(MAX_UNITS);
    let texts: Vec<String> = order
        .iter()
        .map(|&i| {
            let u = &units[i];
            if u.heading.is_empty() {
                u.text.clone()
            } else {
                format!("{} : {}", u.heading, u.text)
            }
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed(&refs, EmbedKind::Passage)?;
    let mut scored: Vec<(usize, f64)> = order
        .iter()
        .zip(&vectors)
        .map(|(&i, v)| {
            let dense = ((f64::from(cosine(question_vec, v)) - 0.75) / 0.15).clamp(0.0, 1.0);
            let prior = 0.04 / (1.0 + units[i].passage as f64);
            let u = &units[i];
            let holds = |w: &Wanted| match w {
                Wanted::Documents => carries(
                    *w,
                    &format!(
                        "{} › {} › {}",
                        passages[u.passage].section, u.heading, u.text
                    ),
                ),
                _ => carries(*w, &u.text),
            };
            let fact = if wanted.iter().any(holds) {
                WANTED_BONUS
            } else {
                0.0
            };
            (i, 0.55 * dense + 0.45 * lexical[i].min(1.0) + prior + fact)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let Some(&(_, best)) = scored.first() else {
        return Ok(None);
    };
    if best <= 0.05 {
        return Ok(None);
    }
    // The best units, most relevant first; an introduction ("Pièces à
    // fournir :") brings its list items right after it.
    let mut picked: Vec<usize> = Vec::new();
    let mut passages_used = HashSet::new();
    for &(i, s) in &scored {
        if picked.len() >= MAX_SELECTED || s < best * 0.85 {
            break;
        }
        if picked.contains(&i)
            || (passages_used.len() >= 2 && !passages_used.contains(&units[i].passage))
            || picked
                .iter()
                .any(|&j| repeats(&units[j].text, &units[i].text))
        {
            continue;
        }
        passages_used.insert(units[i].passage);
        picked.push(i);
        if units[i].intro {
            let mut j = i + 1;
            while j < units.len()
                && units[j].passage == units[i].passage
                && units[j].list_item
                && j - i <= MAX_LIST_ITEMS
            {
                if !picked.contains(&j) {
                    picked.push(j);
                }
                j += 1;
            }
        }
    }
    // A list item picked without its introduction reads after it ("…
    // permet l'accès : au musée du Vieux Montpellier").
    let lines: Vec<(String, &Unit)> = picked
        .iter()
        .map(|&i| {
            let u = &units[i];
            match intro_of(&units, i) {
                Some(j) if !picked.contains(&j) => (format!("{} {}", units[j].text, u.text), u),
                _ => (u.text.clone(), u),
            }
        })
        .collect();
    let cited: BTreeSet<usize> = lines.iter().map(|(_, u)| u.n).collect();
    let text = if lines.len() == 1 {
        let (t, u) = &lines[0];
        format!("{} [{}]", with_heading(t, &u.heading, true), u.n)
    } else {
        let mut s = String::from("Voici ce qu'indiquent les documents :");
        let mut last_heading = String::new();
        for (t, u) in &lines {
            let show = u.heading != last_heading && !u.list_item;
            s.push_str(&format!(
                "\n- {} [{}]",
                with_heading(t, &u.heading, show),
                u.n
            ));
            last_heading = u.heading.clone();
        }
        s
    };
    Ok(Some(Extract { text, cited, best }))
}

/// Words of three letters or more and numbers, folded: what two units are
/// compared on.
fn words(text: &str) -> HashSet<String> {
    super::lexicon::folded_words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 3 || w.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// Whether `candidate` says again what `kept` said: it has no number
/// `kept` lacks, and most of the shorter one's words are in the other (two
/// fiches, or two overlapping chunks, stating the same deadline). A row
/// that differs by its amount is never a repeat.
fn repeats(kept: &str, candidate: &str) -> bool {
    let (a, b) = (words(kept), words(candidate));
    let number = |w: &&String| w.chars().any(|c| c.is_ascii_digit());
    if b.iter().filter(number).any(|n| !a.contains(n)) {
        return false;
    }
    let shorter = a.len().min(b.len());
    shorter > 0 && a.intersection(&b).count() as f64 >= REPEAT_SHARE * shorter as f64
}

/// The introduction ("Pièces à fournir :") of the list item `i`, if it is
/// one.
fn intro_of(units: &[Unit], i: usize) -> Option<usize> {
    if !units[i].list_item {
        return None;
    }
    let mut j = i;
    while j > 0 && units[j - 1].passage == units[i].passage {
        j -= 1;
        if !units[j].list_item {
            return units[j].intro.then_some(j);
        }
    }
    None
}

/// A unit's text, after its heading when that adds context.
fn with_heading(text: &str, heading: &str, show: bool) -> String {
    let h = heading.trim();
    if show && !h.is_empty() && !key(text).contains(&key(h)) {
        format!("{h} : {text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The units of one passage with this section and body.
    fn units(section: &str, body: &str) -> Vec<Unit> {
        let mut u = Vec::new();
        units_of(
            0,
            &Passage {
                n: 1,
                body,
                section,
            },
            &mut u,
        );
        u
    }

    #[test]
    fn headings_are_told_from_table_rows_and_sentences() {
        assert!(is_heading("Majeur › Pièces à fournir"));
        assert!(is_heading("Où s'adresser"));
        assert!(!is_heading("Maternelle 3,38 €"));
        assert!(!is_heading("La demande se fait en mairie."));
        assert!(!is_heading("- une photo d'identité"));
    }

    #[test]
    fn units_keep_their_heading_and_list_items() {
        let u = units("Carte d'identité › Majeur", "Pièces à fournir\nVous devez fournir :\n- une photo d'identité\n- un justificatif de domicile\nLa carte est gratuite.");
        let texts: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Vous devez fournir :",
                "une photo d'identité",
                "un justificatif de domicile",
                "La carte est gratuite."
            ]
        );
        assert!(u[0].intro && u[1].list_item && !u[3].list_item);
        assert!(u.iter().all(|u| u.heading == "Pièces à fournir"));
    }

    #[test]
    fn a_table_header_is_the_heading_of_its_rows() {
        let u = units(
            "Tarifs",
            "Entrée cinéma Nestor Burma Tarifs 2014\nTarif individuel 6,00 €\nTarif réduit 5,00 €",
        );
        let texts: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(texts, ["Tarif individuel 6,00 €", "Tarif réduit 5,00 €"]);
        assert!(u
            .iter()
            .all(|u| u.heading == "Entrée cinéma Nestor Burma Tarifs 2014"));
    }

    #[test]
    fn a_list_item_knows_its_introduction() {
        let u = units("", "Le parcours permet l'accès :\n- au musée du Vieux Montpellier\n- à la chapelle\nLa visite dure une heure.");
        assert_eq!(intro_of(&u, 2), Some(0));
        assert_eq!(intro_of(&u, 1), Some(0));
        assert_eq!(intro_of(&u, 3), None);
        assert_eq!(intro_of(&u, 0), None);
    }

    #[test]
    fn a_sentence_saying_the_same_again_is_a_repeat() {
        assert!(repeats(
            "Il faut demander à être inscrit au plus tard le 6e vendredi précédant le 1er tour de scrutin.",
            "au plus tard le 6e vendredi précédant le 1er tour de scrutin"
        ));
        assert!(!repeats(
            "Entre 0 et 14 ans, le passeport coûte 17 €.",
            "Entre 0 et 14 ans, le passeport coûte 8,5 €."
        ));
        assert!(!repeats(
            "La demande se fait en mairie.",
            "La carte est gratuite pour les mineurs."
        ));
    }
}
