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
use super::situation::{self, Situation};
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
/// Share of the best score a unit needs to answer a part of the question
/// the picked units leave unanswered (« c'est payant et il faut quoi ? »:
/// the fee and the documents).
const FACET_SHARE: f64 = 0.6;
/// Score factor of a unit (or chunk) that points elsewhere instead of answering: a
/// fiche's legal references and further-reading links (« Décret
/// n°2006-1806… », « Pour en savoir plus : … »), and a bare title in a
/// list with no introduction (a dossier's table of contents: « Coût de la
/// carte grise »).
pub const POINTER_FACTOR: f64 = 0.7;
/// The sections of a Service-Public fiche that list links, not answers
/// ([`guichet_ingest`]'s reader writes them last).
const POINTER_SECTIONS: &[&str] = &["Références", "Pour en savoir plus"];
/// The section listing a fiche's forms and online services: one of its
/// lines answers « quel formulaire ? » or « en ligne ? », four of them
/// crowd out the answer.
const FORMS_SECTION: &str = "Services en ligne et formulaires";
/// Words of a question that asks for the law itself: then the references
/// answer it.
const LAW_WORDS: &[&str] = &[
    "loi",
    "decret",
    "article",
    "articles",
    "texte",
    "textes",
    "code",
    "reference",
    "references",
    "arrete",
    "juridique",
    "legal",
    "legale",
];

/// One retrieved chunk offered to the extractor.
#[derive(Debug, Clone)]
pub struct Passage<'a> {
    /// Its source number (1-based, as cited).
    pub n: usize,
    /// The chunk's body (without its context line).
    pub body: &'a str,
    /// Its section path, for context.
    pub section: &'a str,
    /// Its document's title (« Passeport d'un mineur : … »): with the
    /// section, the case it holds for.
    pub title: &'a str,
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
    /// The parts of its passage's section path that name a case (« À
    /// l'étranger », « Vous êtes mineur »), topics such as « Coût » left
    /// out: shown before the unit so that an answer states the case it
    /// holds for.
    case: Vec<String>,
    intro: bool,
    list_item: bool,
    /// Whether it is a line of a fiche's forms and online services.
    forms: bool,
    /// Whether it is a line of a fiche's legal references or further
    /// reading.
    pointer: bool,
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
    // A session line (« Séance publique du jeudi 22 mai 2014 ») heads every
    // deliberation of the session and says nothing of what this one is
    // about: its title does.
    if guichet_ingest::only_a_date(&heading) {
        heading = p.title.to_string();
    }
    let case: Vec<String> = p
        .section
        .split(" › ")
        .map(str::trim)
        .filter(|c| !c.is_empty() && !super::attribution::is_topic(c))
        .map(str::to_string)
        .collect();
    let lines: Vec<&str> = p
        .body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // The top of the section the current line is in (« Références »): a
    // chunk may start in one section and go on into the next.
    let mut top = p
        .section
        .split(" › ")
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    for (i, line) in lines.iter().enumerate() {
        // A line after « Absents : » is one of a list, not a heading.
        let listed = i > 0 && lines[i - 1].ends_with(':');
        if i + 1 < lines.len()
            && !listed
            && !a_name(line)
            && (is_heading(line) || is_table_header(line, lines[i + 1]))
        {
            heading = line.rsplit(" › ").next().unwrap_or(line).to_string();
            if line.contains(" › ") || is_heading(line) {
                top = line.split(" › ").next().unwrap_or(line).trim().to_string();
            }
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
            // « Valable du 15 juin…, elle est destinée… » says nothing
            // alone of what « elle » is: it stays with the sentence before.
            if !list_item && leans_back(&text) {
                if let Some(prev) = out.last_mut().filter(|u| {
                    u.passage == passage && !u.list_item && !u.intro && u.heading == heading
                }) {
                    prev.text = format!("{} {}", prev.text, text);
                    continue;
                }
            }
            out.push(Unit {
                n: p.n,
                passage,
                intro: text.ends_with(':'),
                text,
                heading: heading.clone(),
                case: case.clone(),
                list_item,
                forms: top == FORMS_SECTION,
                pointer: POINTER_SECTIONS.contains(&top.as_str()),
            });
        }
    }
}

/// Whether a question asks for the law itself (« quel décret… », « quel
/// article du code… »): then a fiche's references answer it.
pub fn asks_for_law(question: &str) -> bool {
    super::lexicon::folded_words(question)
        .iter()
        .any(|w| LAW_WORDS.contains(&w.as_str()))
}

/// Whether a chunk (its section path and body, the context line left out)
/// is one of a fiche's link lists: its section, or the heading it starts
/// with when it starts a new one, is « Références » or « Pour en savoir
/// plus ». Retrieval lowers such a chunk, so that it does not take a
/// fiche's place from the chunk that says what the fiche says.
pub fn points_elsewhere(section: &str, body: &str) -> bool {
    let top = |s: &str| s.split(" › ").next().unwrap_or("").trim().to_string();
    let first = body.lines().map(str::trim).find(|l| !l.is_empty());
    POINTER_SECTIONS.contains(&top(section).as_str())
        || (section.trim().is_empty()
            && first.is_some_and(|l| POINTER_SECTIONS.contains(&top(l).as_str())))
}

/// Whether a line is only a title: a few words, no number, no verb
/// ending (« Immatriculer un véhicule d'occasion », « Coût de la carte
/// grise »): another page's name, not a statement.
fn bare_title(text: &str) -> bool {
    let t = text.trim();
    t.split_whitespace().count() <= 8
        && !t.chars().any(|c| c.is_ascii_digit())
        && !t.ends_with(['.', ':', ';', '!', '?'])
}

/// Whether a line is a person's name as minutes write them (« Patrick
/// VIGNAL », « Mme Annie YAGUE »): a first name, then a surname in
/// capitals.
fn a_name(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let upper = |w: &str| {
        w.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && w.chars().all(|c| !c.is_alphabetic() || c.is_uppercase())
    };
    let capitalised = |w: &str| {
        let mut c = w.chars();
        c.next().is_some_and(char::is_uppercase) && c.all(|c| !c.is_uppercase())
    };
    (2..=4).contains(&words.len())
        && words.iter().any(|w| capitalised(w))
        && words.last().is_some_and(|w| upper(w))
        && words
            .iter()
            .all(|w| capitalised(w) || upper(w) || *w == "de")
}

/// Whether a sentence's subject is a pronoun standing for something the
/// sentence before names (« Elle est destinée… », « Valable du 15 juin,
/// elle permet… »); impersonal « il » (« Il faut », « Il est possible »)
/// stands for nothing.
fn leans_back(text: &str) -> bool {
    const IMPERSONAL: &[&str] = &[
        "faut",
        "est",
        "existe",
        "s'agit",
        "s’agit",
        "y",
        "suffit",
        "convient",
        "importe",
        "reste",
        "arrive",
        "appartient",
        "sera",
        "était",
        "n'est",
        "n’est",
        "peut",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    let pronoun = |i: usize| {
        let w = words.get(i).copied().unwrap_or("");
        let next = words.get(i + 1).copied().unwrap_or("");
        match w.to_lowercase().as_str() {
            "elle" | "elles" | "ils" | "celle-ci" | "celui-ci" | "ceux-ci" | "celles-ci" => true,
            "il" => !IMPERSONAL.contains(&next),
            _ => false,
        }
    };
    if pronoun(0) {
        return true;
    }
    // A leading phrase, then the pronoun: « Valable du 15 juin au 12
    // septembre, elle est destinée » (« La carte est gratuite, elle
    // aussi » has its subject first).
    const DETERMINERS: &[&str] = &[
        "le", "la", "les", "l'", "un", "une", "des", "ce", "cet", "cette", "ces", "son", "sa",
        "ses", "leur", "leurs", "votre", "vos", "notre", "nos",
    ];
    let first = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
    if DETERMINERS.contains(&first.as_str()) || first.starts_with("l'") || first.starts_with("l’")
    {
        return false;
    }
    words
        .iter()
        .take(12)
        .position(|w| w.ends_with(','))
        .is_some_and(|i| pronoun(i + 1))
}

fn key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The units of the retrieved passages, scored against the question: what
/// the extractive answer picks from by score, and what the reader mode
/// offers the model to choose from ([`super::reader`]).
#[derive(Debug, Clone)]
pub struct Candidates {
    units: Vec<Unit>,
    /// Embedded units with their scores, best first.
    scored: Vec<(usize, f64)>,
    /// What the question asks for, and what each scored unit holds of it
    /// (indexed like `units`; empty for units not embedded).
    wanted: Vec<Wanted>,
    holds: Vec<Vec<Wanted>>,
}

/// One unit as offered to a reader model.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// The unit's index in its [`Candidates`].
    pub unit: usize,
    /// Where it stands: the section path and sub-heading (the case it
    /// holds for: « Passeport › À l'étranger › Coût »).
    pub label: String,
    /// Its text; an introduction carries its list items.
    pub text: String,
}

/// The scored units of `passages` (best first), or `None` when no unit
/// shares anything with the question. `wanted` is what the question asks
/// for ([`super::wanted::wanted`]); a unit holding any of it gets the
/// bonus; one whose case contradicts the citizen's `situation` is
/// lowered ([`situation::CASE_FACTOR`]).
pub fn candidates(
    question: &str,
    question_vec: &[f32],
    terms: &[super::confidence::TermGroup],
    wanted: &[Wanted],
    situation: &Situation,
    passages: &[Passage<'_>],
    embedder: &dyn Embedder,
) -> Result<Option<Candidates>> {
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
    let asks_for_law = asks_for_law(question);
    let mut holds: Vec<Vec<Wanted>> = vec![Vec::new(); units.len()];
    for &i in &order {
        let u = &units[i];
        holds[i] = wanted
            .iter()
            .copied()
            .filter(|w| match w {
                Wanted::Documents => carries(
                    *w,
                    &format!(
                        "{} › {} › {}",
                        passages[u.passage].section, u.heading, u.text
                    ),
                ),
                _ => carries(*w, &u.text),
            })
            .collect();
    }
    let mut scored: Vec<(usize, f64)> = order
        .iter()
        .zip(&vectors)
        .map(|(&i, v)| {
            let dense = ((f64::from(cosine(question_vec, v)) - 0.75) / 0.15).clamp(0.0, 1.0);
            let prior = 0.04 / (1.0 + units[i].passage as f64);
            let u = &units[i];
            let fact = if holds[i].is_empty() {
                0.0
            } else {
                WANTED_BONUS
            };
            // A unit of another case than the citizen's (« Entre 0 et 14
            // ans » for an adult, « À l'étranger » for a resident) ranks
            // after those of the right case.
            let p = &passages[u.passage];
            let mut case = situation::of_source(p.title, &format!("{} {}", p.section, u.heading));
            if case.minor.is_none() {
                case.minor = situation::age_of(&u.text).map(|a| a < 18);
            }
            let mut factor = situation::CASE_FACTOR.powi(situation.conflicts(&case) as i32);
            if (u.pointer && !asks_for_law)
                || (u.list_item && !u.forms && intro_of(&units, i).is_none() && bare_title(&u.text))
            {
                factor *= POINTER_FACTOR;
            }
            (
                i,
                (0.55 * dense + 0.45 * lexical[i].min(1.0) + prior + fact) * factor,
            )
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    match scored.first() {
        Some(&(_, best)) if best > 0.05 => Ok(Some(Candidates {
            units,
            scored,
            wanted: wanted.to_vec(),
            holds,
        })),
        _ => Ok(None),
    }
}

impl Candidates {
    /// The best unit's score (0-1).
    pub fn best(&self) -> f64 {
        self.scored.first().map_or(0.0, |s| s.1)
    }

    /// The answer from the best-scored units: at most four (`MAX_SELECTED`)
    /// within 85 % of the best, from at most two passages, no repeats.
    pub fn extract(&self) -> Extract {
        let best = self.best();
        let units = &self.units;
        let mut picked: Vec<usize> = Vec::new();
        let mut passages_used = HashSet::new();
        for &(i, s) in &self.scored {
            if picked.len() >= MAX_SELECTED || s < best * 0.85 {
                break;
            }
            if picked.contains(&i)
                || (units[i].forms && picked.iter().any(|&j| units[j].forms))
                || (passages_used.len() >= 2 && !passages_used.contains(&units[i].passage))
                || picked
                    .iter()
                    .any(|&j| repeats(&units[j].text, &units[i].text))
            {
                continue;
            }
            passages_used.insert(units[i].passage);
            self.pick(i, &mut picked);
        }
        // A part of the question the picked units leave unanswered (the
        // documents of « c'est payant et il faut quoi ? ») gets the best
        // unit holding it, from any passage, when it scores near enough.
        for w in &self.wanted {
            if picked.iter().any(|&j| self.holds[j].contains(w)) {
                continue;
            }
            let answer = self.scored.iter().find(|&&(i, s)| {
                s >= best * FACET_SHARE
                    && self.holds[i].contains(w)
                    && !units[i].pointer
                    && !picked.contains(&i)
                    && !picked
                        .iter()
                        .any(|&j| repeats(&units[j].text, &units[i].text))
            });
            if let Some(&(i, _)) = answer {
                self.pick(i, &mut picked);
            }
        }
        self.render(&picked)
    }

    /// Adds the unit `i` to `picked`; an introduction brings its list
    /// items (they count).
    fn pick(&self, i: usize, picked: &mut Vec<usize>) {
        picked.push(i);
        if self.units[i].intro {
            for j in self.items_of(i) {
                if !picked.contains(&j) {
                    picked.push(j);
                }
            }
        }
    }

    /// The units a reader model chooses from: the best-scored ones, best
    /// first, until `max_chars` of text. An introduction carries its list
    /// items (« Pièces à fournir : une photo ; un justificatif… »), whose
    /// own offers are then left out.
    pub fn offers(&self, max_chars: usize) -> Vec<Offer> {
        let units = &self.units;
        let mut out: Vec<Offer> = Vec::new();
        let mut used = 0;
        let mut covered: HashSet<usize> = HashSet::new();
        for &(i, _) in &self.scored {
            if covered.contains(&i)
                || out
                    .iter()
                    .any(|o| repeats(&units[o.unit].text, &units[i].text))
            {
                continue;
            }
            let u = &units[i];
            let mut text = u.text.clone();
            if u.intro {
                let items = self.items_of(i);
                let listed: Vec<&str> = items.iter().map(|&j| units[j].text.as_str()).collect();
                if !listed.is_empty() {
                    text = format!("{} {}", text, listed.join(" ; "));
                }
                covered.extend(items);
            } else if let Some(j) = intro_of(units, i) {
                text = format!("{} {}", units[j].text, text);
            }
            let label = case_label(u);
            let cost = label.len() + text.len() + 8;
            if used + cost > max_chars && !out.is_empty() {
                break;
            }
            used += cost;
            covered.insert(i);
            out.push(Offer {
                unit: i,
                label,
                text,
            });
        }
        out
    }

    /// The answer from the units a reader chose, in its order.
    pub fn compose(&self, chosen: &[usize]) -> Option<Extract> {
        let mut picked: Vec<usize> = Vec::new();
        for &i in chosen {
            if i < self.units.len()
                && !picked.contains(&i)
                && !picked
                    .iter()
                    .any(|&j| repeats(&self.units[j].text, &self.units[i].text))
            {
                picked.push(i);
            }
        }
        (!picked.is_empty()).then(|| self.render(&picked))
    }

    /// The list items right after the introduction `i`.
    fn items_of(&self, i: usize) -> Vec<usize> {
        let units = &self.units;
        let mut out = Vec::new();
        let mut j = i + 1;
        while j < units.len()
            && units[j].passage == units[i].passage
            && units[j].list_item
            && j - i <= MAX_LIST_ITEMS
        {
            out.push(j);
            j += 1;
        }
        out
    }

    /// The answer text of `picked` units, most relevant first; an
    /// introduction brings its list items right after it, and a list item
    /// picked without its introduction reads after it (« … permet l'accès :
    /// au musée du Vieux Montpellier »).
    fn render(&self, chosen: &[usize]) -> Extract {
        let units = &self.units;
        let mut picked: Vec<usize> = Vec::new();
        for &i in chosen {
            if !picked.contains(&i) {
                picked.push(i);
            }
            if units[i].intro {
                for j in self.items_of(i) {
                    if !picked.contains(&j) {
                        picked.push(j);
                    }
                }
            }
        }
        let lines: Vec<(String, &Unit)> = picked
            .iter()
            .map(|&i| {
                let u = &units[i];
                match intro_of(units, i) {
                    Some(j) if !picked.contains(&j) => (format!("{} {}", units[j].text, u.text), u),
                    _ => (u.text.clone(), u),
                }
            })
            .collect();
        let cited: BTreeSet<usize> = lines.iter().map(|(_, u)| u.n).collect();
        let text = if lines.len() == 1 {
            let (t, u) = &lines[0];
            format!("{} [{}]", with_heading(t, &case_label(u), true), u.n)
        } else {
            let mut s = String::from("Voici ce qu'indiquent les documents :");
            let mut last_label = String::new();
            for (t, u) in &lines {
                let label = case_label(u);
                // A list item states its case too when it is the first of
                // it (« En Guyane : Entre 0 et 14 ans, 8,5 € »): under the
                // previous case's label it would read as that case's.
                let show = label != last_label;
                s.push_str(&format!("\n- {} [{}]", with_heading(t, &label, show), u.n));
                last_label = label;
            }
            s
        };
        Extract {
            text,
            cited,
            best: self.best(),
        }
    }
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

/// What a unit is introduced by: the last two parts of its case that its
/// heading does not repeat, then its heading (« À l'étranger › Si vous
/// fournissez la photo »).
fn case_label(u: &Unit) -> String {
    let h = u.heading.trim();
    let mut parts: Vec<&str> = u
        .case
        .iter()
        .map(String::as_str)
        .filter(|c| key(c) != key(h))
        .collect();
    if parts.len() > 2 {
        parts.drain(..parts.len() - 2);
    }
    if !h.is_empty() {
        parts.push(h);
    }
    parts.join(" › ")
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
                title: "",
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
    fn a_list_item_of_another_case_states_its_case() {
        let units = units(
            "Passeport › Coût",
            "Cas général\n- Entre 0 et 14 ans, le passeport coûte 17 €.\nEn Guyane\n- Entre 0 et 14 ans, le passeport coûte 8,5 €.",
        );
        assert_eq!(units.len(), 2);
        let c = Candidates {
            scored: vec![(0, 0.9), (1, 0.9)],
            holds: vec![Vec::new(); units.len()],
            wanted: Vec::new(),
            units,
        };
        let text = c.render(&[0, 1]).text;
        assert!(
            text.contains("- Passeport › Cas général : Entre 0 et 14 ans, le passeport coûte 17 €")
                && text.contains(
                    "- Passeport › En Guyane : Entre 0 et 14 ans, le passeport coûte 8,5 €"
                ),
            "{text}"
        );
    }

    #[test]
    fn each_part_of_the_question_gets_its_unit() {
        // « c'est payant et il faut quoi ? »: two units on the fee score
        // best, the documents' list comes further down.
        let units = units(
            "Carte grise › Changement d'adresse",
            "Le changement d'adresse est gratuit.\nLe changement d'adresse ne coûte rien en ligne, 0 €.\nLa démarche se fait en ligne.\nVous devez fournir :\n- un justificatif de domicile\n- votre carte grise",
        );
        assert_eq!(units.len(), 6);
        let holds = vec![
            vec![Wanted::Amount],
            vec![Wanted::Amount],
            vec![],
            vec![Wanted::Documents],
            vec![Wanted::Documents],
            vec![Wanted::Documents],
        ];
        let c = |wanted: Vec<Wanted>| Candidates {
            scored: vec![(0, 0.9), (1, 0.85), (2, 0.7), (3, 0.6), (4, 0.4), (5, 0.3)],
            holds: holds.clone(),
            wanted,
            units: units.clone(),
        };
        let both = c(vec![Wanted::Amount, Wanted::Documents]).extract().text;
        assert!(
            both.contains("gratuit") && both.contains("justificatif de domicile"),
            "{both}"
        );
        // Under 60 % of the best, or not asked for: left out.
        let fee = c(vec![Wanted::Amount]).extract().text;
        assert!(!fee.contains("justificatif"), "{fee}");
        let mut low = c(vec![Wanted::Amount, Wanted::Documents]);
        low.scored = vec![(0, 0.9), (1, 0.85), (2, 0.7), (3, 0.5), (4, 0.4), (5, 0.3)];
        assert!(!low.extract().text.contains("justificatif"));
    }

    #[test]
    fn link_lists_are_told_from_content() {
        assert!(points_elsewhere(
            "Références",
            "- Code du travail : article L3142-73"
        ));
        assert!(points_elsewhere(
            "",
            "Références\n- Code du travail : article L3142-73"
        ));
        assert!(points_elsewhere(
            "Pour en savoir plus › Liens",
            "- Livret d'accueil"
        ));
        assert!(!points_elsewhere(
            "Autre situation › Fin du CSI",
            "Références\nÀ la fin du CSI, le salarié retrouve son emploi."
        ));
        assert!(!points_elsewhere(
            "",
            "Le CSI permet à un salarié de partir."
        ));
        assert!(asks_for_law("Quel décret fixe le tarif ?"));
        assert!(!asks_for_law("Combien coûte un passeport ?"));
    }

    #[test]
    fn names_and_listed_lines_are_no_headings() {
        assert!(a_name("Patrick VIGNAL"));
        assert!(a_name("Henri DE VERBIZIER"));
        assert!(!a_name("ACCUEIL SOIR"));
        assert!(!a_name("Où s'adresser"));
        assert!(!a_name("Théâtre Gérard Philippe"));
        let u = units(
            "Séance publique du jeudi 22 mai 2014",
            "Absents :\nPatrick VIGNAL\nLa Ville a mis en place la Carte Eté Jeunes.\nValable du 15 juin au 12 septembre, elle est destinée aux 12-29 ans.",
        );
        assert!(u.iter().all(|u| u.heading != "Patrick VIGNAL"), "{u:?}");
        // The pronoun's sentence stays with the one naming the card.
        let last = &u.last().unwrap().text;
        assert!(
            last.starts_with("La Ville a mis en place la Carte Eté Jeunes.")
                && last.ends_with("elle est destinée aux 12-29 ans."),
            "{last}"
        );
    }

    #[test]
    fn a_pronoun_leans_on_the_sentence_before() {
        assert!(leans_back("Elle est destinée aux jeunes."));
        assert!(leans_back("Valable du 15 juin, elle permet l'accès."));
        assert!(leans_back("Il coûte 25 €."));
        assert!(!leans_back("Il faut fournir une photo."));
        assert!(!leans_back("Il est possible de payer en ligne."));
        assert!(!leans_back("La carte est gratuite, elle aussi."));
        assert!(!leans_back("Le passeport coûte 86 €."));
    }

    #[test]
    fn a_session_line_gives_way_to_the_title_as_heading() {
        let mut u = Vec::new();
        let passage = |section| Passage {
            n: 1,
            body: "La Ville propose d'octroyer 250 cartes gratuites.",
            section,
            title: "Carte Été Jeunes 2014 Attributions à titre gratuit",
        };
        units_of(0, &passage("Séance publique du jeudi 22 mai 2014"), &mut u);
        assert_eq!(
            u[0].heading,
            "Carte Été Jeunes 2014 Attributions à titre gratuit"
        );
        units_of(0, &passage("Tarifs › Autres tarifs"), &mut u);
        assert_eq!(u[1].heading, "Autres tarifs");
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
