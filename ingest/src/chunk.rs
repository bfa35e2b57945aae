//! Structure-aware chunking.
//!
//! 1. **Sections first.** Chunks never mix sections unless sections are
//!    short: a section under [`ChunkOptions::min_tokens`] is merged with its
//!    neighbours when they sit under the same parent heading (their paths
//!    differ at most in their last element, or one contains the other; PDF
//!    pages all qualify) and the merge stays within
//!    [`ChunkOptions::target_tokens`]. The merged chunk's path is the common
//!    part, and each merged section's own heading becomes a line of the
//!    text, so nothing is lost.
//! 2. **Units.** Paragraphs are split into sentences ([`split_sentences`]);
//!    a list item or a table row is one unit, cut only if it alone exceeds
//!    the limit. A single unit longer than the limit is cut at word
//!    boundaries, the only case where a chunk may end mid-sentence.
//! 3. **Packing.** Units fill a chunk up to the target size; a chunk never
//!    exceeds [`ChunkOptions::max_tokens`] (checked on the final text with
//!    the caller's counter), and a tail shorter than `min_tokens` joins the
//!    previous chunk when it fits under the maximum. The next chunk of the
//!    same section starts with the last whole sentences of the previous one,
//!    about [`ChunkOptions::overlap`] of the target size, so a fact cut by a
//!    chunk boundary is whole in one of them.
//! 4. **Context line.** Each chunk's text starts with one line, `{title} ›
//!    {section path joined with " › "}` (just the title at the top level),
//!    then a newline and the body: so a chunk read alone, by the embedder,
//!    the lexical index or the answering model, says what it is about. The
//!    line is counted in the chunk's size. [`Chunk::context`] and
//!    [`Chunk::body`] give the two parts.

use serde::{Deserialize, Serialize};

use crate::{Block, Document};

/// Chunk sizes, in the caller's tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkOptions {
    /// The size a chunk is filled to (default 300): well under the 512
    /// tokens of the e5 embedder, and small enough that a retrieved chunk is
    /// about one thing.
    pub target_tokens: usize,
    /// The hard limit (default 380), the context line included: room for a
    /// last list item or table row that would not fit the target, and for
    /// absorbing a short tail.
    pub max_tokens: usize,
    /// The share of `target_tokens` repeated, in whole sentences, at the
    /// start of the next chunk of the same section (default 0.15).
    pub overlap: f32,
    /// Sections shorter than this (default 60) merge with their neighbours
    /// under the same parent heading; a shorter tail joins the previous
    /// chunk.
    pub min_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            target_tokens: 300,
            max_tokens: 380,
            overlap: 0.15,
            min_tokens: 60,
        }
    }
}

/// A piece of a document sized for embedding and retrieval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The context line, a newline, then the body (see the module doc):
    /// the text to embed, index and show.
    pub text: String,
    /// The context line alone: `{title} › {section path}`.
    pub context: String,
    /// The heading path of the content (the common part when short sections
    /// were merged); empty at the top level and for PDFs.
    pub section_path: Vec<String>,
    /// The first page the content comes from (PDFs and paged text).
    pub page_start: Option<u32>,
    /// The last page the content comes from.
    pub page_end: Option<u32>,
    /// The position of the chunk in the document, from 0.
    pub ordinal: usize,
}

impl Chunk {
    /// The text without the context line.
    pub fn body(&self) -> &str {
        self.text
            .strip_prefix(self.context.as_str())
            .map(|b| b.strip_prefix('\n').unwrap_or(b))
            .unwrap_or(&self.text)
    }
}

/// Abbreviations after which a period does not end a sentence (compared
/// in lower case, without the period).
const ABBREVIATIONS: &[&str] = &[
    "m", "mm", "mme", "mmes", "mlle", "mlles", "mgr", "dr", "pr", "me", "st", "ste", "art", "arts",
    "etc", "cf", "p", "pp", "ex", "n", "no", "nos", "vol", "chap", "av", "bd", "tél", "tel", "fax",
    "env", "min", "max", "réf", "ref", "approx", "hab", "ca", "éd", "coll", "fig", "ibid", "op",
    "cit", "janv", "févr", "fév", "avr", "juil", "sept", "oct", "nov", "déc", "dept", "dépt",
    "éts", "ets", "cie", "ch", "al", "sq", "suiv", "vs", "c", "mr", "mrs",
];

/// Splits French text into sentences.
///
/// A sentence ends at `.`, `!`, `?` or `…` (possibly followed by closing
/// quotes or brackets) when white space and then an upper-case letter, a
/// digit or an opening quote, bracket or dash follow. A period does not end
/// a sentence after a known abbreviation (`M.`, `Mme.`, `art.`, `etc.`,
/// `cf.`, `p.`, `n.`, month abbreviations…), after a single letter (an
/// initial: `J. Dupont`), or inside a dotted acronym (`E.R.D.F.`).
/// The pieces are trimmed; joined with spaces they give back the text with
/// its white space collapsed.
pub fn split_sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '.' | '!' | '?' | '…') {
            // Include runs like "?!", "...", and closing quotes/brackets.
            let mut end = i + 1;
            while end < chars.len() && matches!(chars[end], '.' | '!' | '?' | '…') {
                end += 1;
            }
            loop {
                if end < chars.len() && matches!(chars[end], '»' | '"' | '”' | '’' | ')' | ']')
                {
                    end += 1;
                    continue;
                }
                // French closing guillemets come after a space: "Bonjour. »".
                let mut j = end;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if j > end && chars.get(j) == Some(&'»') {
                    end = j + 1;
                    continue;
                }
                break;
            }
            let mut next = end;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let spaced = next > end;
            let starts_new = chars.get(next).is_some_and(|&n| {
                n.is_uppercase()
                    || n.is_ascii_digit()
                    || matches!(n, '«' | '"' | '“' | '(' | '[' | '–' | '—' | '-' | '•')
            });
            // The word before the period is all that matters: looking
            // back further would make a text of periods without spaces
            // quadratic.
            let word_from = start.max(i.saturating_sub(MAX_ABBREVIATION_LOOKBACK));
            let abbreviation = c == '.' && end == i + 1 && is_abbreviation(&chars[word_from..i]);
            if spaced && starts_new && !abbreviation {
                let s: String = chars[start..end].iter().collect();
                let s = s.trim();
                if !s.is_empty() {
                    sentences.push(crate::clean::collapse_ws(s));
                }
                start = next;
                i = next;
                continue;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    let rest: String = chars[start.min(chars.len())..].iter().collect();
    let rest = rest.trim();
    if !rest.is_empty() {
        sentences.push(crate::clean::collapse_ws(rest));
    }
    sentences
}

/// How far back, in characters, [`split_sentences`] looks for the word
/// before a period: longer than any abbreviation or dotted acronym.
const MAX_ABBREVIATION_LOOKBACK: usize = 32;

/// Words longer than this many bytes are cut to this size, followed by
/// `…`, before chunking: a 1 MB "word" (a hostile file, a base64 blob
/// pasted in a page) would otherwise be one unit that no chunk can hold,
/// tokenized whole at every attempt, and its pieces would be noise to
/// embed. Real words and the URLs of municipal pages are shorter.
pub const MAX_WORD_BYTES: usize = 256;

/// `text` with every word longer than [`MAX_WORD_BYTES`] cut (at a
/// character boundary) and marked with `…`; borrowed when none is.
fn cut_long_words(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.split_whitespace().any(|w| w.len() > MAX_WORD_BYTES) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(1 << 20));
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if word.len() <= MAX_WORD_BYTES {
            out.push_str(word);
        } else {
            let mut end = MAX_WORD_BYTES;
            while !word.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&word[..end]);
            out.push('…');
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether the word just before a period is an abbreviation or an initial.
fn is_abbreviation(before: &[char]) -> bool {
    let word_start = before
        .iter()
        .rposition(|c| c.is_whitespace() || matches!(c, '(' | '«' | '"' | '\''))
        .map_or(0, |p| p + 1);
    let word: String = before[word_start..].iter().collect();
    if word.is_empty() {
        return false;
    }
    // Dotted acronyms (E.R.D.F) and single letters (initials).
    if word.contains('.') && word.chars().all(|c| c.is_alphabetic() || c == '.') {
        return true;
    }
    let letters: Vec<char> = word.chars().collect();
    if letters.len() == 1 && letters[0].is_alphabetic() {
        return true;
    }
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// How a unit is written after the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    /// A new line (a new block).
    Line,
    /// A space (the next sentence of the same paragraph, or the rest of a
    /// cut sentence).
    Space,
}

/// The smallest piece that packing moves: a sentence, a list item, a table
/// row, a merged section's heading, or a word-cut part of one of them.
#[derive(Debug, Clone)]
struct Unit {
    text: String,
    tokens: usize,
    join: Join,
    /// Index of the section it comes from.
    section: usize,
    page: Option<u32>,
    /// A merged section's heading: rendered only when the chunk's path is
    /// shorter than its section's, never the last unit of a chunk.
    heading: bool,
    /// A table row.
    row: bool,
}

/// The longest line taken for a table's caption, in characters.
const MAX_CAPTION_CHARS: usize = 120;

/// The caption of the table a chunk starting at `start` opens inside of:
/// the short line before the table's first row (« Théâtre Gérard Philippe
/// Tarifs 2014 »), when that line is in an earlier chunk. Repeated at the
/// top of the chunk, it keeps its rows from reading as another table's
/// (« Tarification pour matinée | 35,00 € » under the previous heading).
fn caption_of(units: &[Unit], start: usize) -> Option<usize> {
    if !units.get(start)?.row {
        return None;
    }
    let section = units[start].section;
    let mut first = start;
    while first > 0 && units[first - 1].row && units[first - 1].section == section {
        first -= 1;
    }
    let c = &units[first.checked_sub(1)?];
    let text = c.text.trim();
    (c.section == section
        && !c.heading
        && !c.row
        && text.chars().count() <= MAX_CAPTION_CHARS
        && !text.ends_with(['.', ';', ',', '!', '?'])
        && !text.starts_with('-'))
    .then_some(first - 1)
}

/// Splits a document into chunks (see the module doc for the rules).
///
/// `count_tokens` measures a text in the embedder's tokens, without the
/// special tokens the tokenizer may add (`[CLS]`, `</s>`): the limits are
/// checked with it. Tests may pass a word count. A document without text
/// gives no chunk.
pub fn chunk(
    doc: &Document,
    opts: &ChunkOptions,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Chunk> {
    let max = opts.max_tokens.max(8);
    let target = opts.target_tokens.clamp(4, max);
    let min = opts.min_tokens.min(target);

    // Section sizes, for merging short sections only: a block far longer
    // than a chunk is estimated from its length (a token holds at most a
    // few bytes, so the estimate is still past the target) rather than
    // tokenized whole once more.
    let block_size = |t: &str| {
        if t.len() > 64 * max {
            t.len() / 4
        } else {
            count_tokens(t)
        }
    };
    let sizes: Vec<usize> = doc
        .sections
        .iter()
        .map(|s| s.blocks.iter().map(|b| block_size(b.text())).sum())
        .collect();

    // 1. Groups of consecutive sections.
    let mut groups: Vec<(Vec<usize>, Vec<String>, usize)> = Vec::new();
    for (i, section) in doc.sections.iter().enumerate() {
        if let Some((members, common, tokens)) = groups.last_mut() {
            let cp = common_prefix(common, &section.path);
            // One section: a sibling or a parent/child; merged sections:
            // only what lies under their common heading.
            let related = if members.len() == 1 {
                cp + 1 >= common.len().min(section.path.len())
            } else {
                cp >= common.len()
            };
            let small = *tokens < min || sizes[i] < min;
            if related && small && *tokens + sizes[i] <= target {
                members.push(i);
                common.truncate(cp);
                *tokens += sizes[i];
                continue;
            }
        }
        groups.push((vec![i], section.path.clone(), sizes[i]));
    }

    let mut chunks = Vec::new();
    for (members, common, _) in groups {
        // The longest context line of the group bounds the body's budget.
        let contexts: Vec<String> = members
            .iter()
            .map(|&i| context_line(&doc.title, &doc.sections[i].path, max, count_tokens))
            .collect();
        let context_tokens = contexts.iter().map(|c| count_tokens(c)).max().unwrap_or(0) + 1;
        let body_max = max.saturating_sub(context_tokens).max(1);
        let body_target = target.saturating_sub(context_tokens).max(1).min(body_max);

        // 2. Units.
        let mut units = Vec::new();
        for &i in &members {
            let section = &doc.sections[i];
            if section.path.len() > common.len() {
                let text = section.path[common.len()..].join(" › ");
                units.push(Unit {
                    tokens: count_tokens(&text),
                    text,
                    join: Join::Line,
                    section: i,
                    page: section.page,
                    heading: true,
                    row: false,
                });
            }
            for block in &section.blocks {
                block_units(block, i, section.page, body_max, count_tokens, &mut units);
            }
        }

        // 3. Packing. `after[i]`: the tokens of `units[i..]`, so that the
        // size of the rest is known without summing it again per chunk.
        let mut after = vec![0usize; units.len() + 1];
        for i in (0..units.len()).rev() {
            after[i] = after[i + 1] + units[i].tokens;
        }
        let overlap_budget = (opts.overlap.clamp(0.0, 0.5) * target as f32) as usize;
        let mut start = 0;
        while start < units.len() {
            let mut end = start;
            let mut tokens = 0;
            while end < units.len() && tokens + units[end].tokens <= body_target {
                tokens += units[end].tokens;
                end += 1;
            }
            if end == start {
                tokens = units[start].tokens;
                end = start + 1;
            }
            let rest = after[end];
            if rest > 0 && rest < min && tokens + rest <= body_max {
                end = units.len();
            }
            while end - start > 1 && units[end - 1].heading {
                end -= 1;
            }
            let caption = caption_of(&units, start).map(|c| units[c].text.as_str());
            let mut rendered = render(doc, &units[start..end], caption, count_tokens, max);
            while count_tokens(&rendered.text) > max && end - start > 1 {
                end -= 1;
                rendered = render(doc, &units[start..end], caption, count_tokens, max);
            }
            rendered.ordinal = chunks.len();
            chunks.push(rendered);
            if end >= units.len() {
                break;
            }
            // Overlap: whole units from the end of this chunk, never all of
            // it, so that `start` always moves on.
            let mut next = end;
            let mut overlap = 0;
            while next > start + 1
                && !units[next - 1].heading
                && overlap + units[next - 1].tokens <= overlap_budget
            {
                next -= 1;
                overlap += units[next].tokens;
            }
            // An overlap the next unit does not fit beside would make a
            // chunk of overlap alone, a copy of this chunk's tail: keep
            // only what leaves room for it.
            while next < end && overlap + units[end].tokens > body_target {
                overlap -= units[next].tokens;
                next += 1;
            }
            start = next;
        }
    }
    chunks
}

/// The length of the common prefix of two paths.
fn common_prefix(a: &[String], b: &[String]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// `{title} › {path}`, shortened by words to a third of the limit.
fn context_line(title: &str, path: &[String], max: usize, count: &dyn Fn(&str) -> usize) -> String {
    let mut parts = vec![title.trim()];
    parts.extend(path.iter().map(|p| p.trim()));
    parts.retain(|p| !p.is_empty());
    let line = parts.join(" › ");
    let limit = (max / 3).max(1);
    if count(&line) <= limit {
        return line;
    }
    let words: Vec<&str> = line.split_whitespace().take(limit).collect();
    let k = longest_fitting(&words, limit, count).max(1);
    format!("{} …", words[..k.min(words.len())].join(" "))
}

/// The largest `k` such that the first `k` words fit in `limit` tokens
/// (binary search, so that a long text costs few calls to the counter).
/// Callers pass at most `limit` words (a word is at least one token), so
/// that each call costs in proportion to what it can keep.
fn longest_fitting(words: &[&str], limit: usize, count: &dyn Fn(&str) -> usize) -> usize {
    let (mut lo, mut hi) = (0usize, words.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if count(&words[..mid].join(" ")) <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Turns one block into units.
fn block_units(
    block: &Block,
    section: usize,
    page: Option<u32>,
    body_max: usize,
    count: &dyn Fn(&str) -> usize,
    units: &mut Vec<Unit>,
) {
    let unit = |text: String, tokens: usize, join: Join| Unit {
        text,
        tokens,
        join,
        section,
        page,
        heading: false,
        row: matches!(block, Block::TableRow(_)),
    };
    let text = cut_long_words(block.text());
    let whole = match block {
        Block::Paragraph(_) | Block::TableRow(_) => text.into_owned(),
        Block::ListItem(_) => format!("- {text}"),
    };
    // List items and table rows stay whole when they fit.
    if !matches!(block, Block::Paragraph(_)) {
        let whole_tokens = count(&whole);
        if whole_tokens <= body_max {
            units.push(unit(whole, whole_tokens, Join::Line));
            return;
        }
    }
    let pieces = match block {
        Block::TableRow(_) => vec![whole],
        _ => split_sentences(&whole),
    };
    let mut join = Join::Line;
    for sentence in pieces {
        let tokens = count(&sentence);
        if tokens <= body_max {
            units.push(unit(sentence, tokens, join));
        } else {
            // A single over-long sentence: cut at word boundaries.
            let words: Vec<&str> = sentence.split_whitespace().collect();
            let mut i = 0;
            while i < words.len() {
                let window = &words[i..(i + body_max).min(words.len())];
                let k = longest_fitting(window, body_max, count).max(1);
                let part = words[i..i + k].join(" ");
                let tokens = count(&part);
                units.push(unit(part, tokens, join));
                join = Join::Space;
                i += k;
            }
        }
        join = Join::Space;
    }
}

/// Writes a chunk from its units, after the `caption` of the table it
/// opens inside of, if any.
fn render(
    doc: &Document,
    units: &[Unit],
    caption: Option<&str>,
    count: &dyn Fn(&str) -> usize,
    max: usize,
) -> Chunk {
    // The chunk's path: common to the sections of its content units.
    let mut path: Option<Vec<String>> = None;
    for u in units {
        let p = &doc.sections[u.section].path;
        path = Some(match path {
            None => p.clone(),
            Some(mut acc) => {
                let n = common_prefix(&acc, p);
                acc.truncate(n);
                acc
            }
        });
    }
    let path = path.unwrap_or_default();
    let context = context_line(&doc.title, &path, max, count);
    let mut body = caption.map(str::to_string).unwrap_or_default();
    for u in units {
        let text = if u.heading {
            let p = &doc.sections[u.section].path;
            if p.len() <= path.len() {
                continue;
            }
            p[path.len()..].join(" › ")
        } else {
            u.text.clone()
        };
        if !body.is_empty() {
            body.push(match u.join {
                Join::Line => '\n',
                Join::Space => ' ',
            });
        }
        body.push_str(&text);
    }
    let pages = units.iter().filter_map(|u| u.page);
    let page_start = pages.clone().min();
    let page_end = pages.max();
    Chunk {
        text: format!("{context}\n{body}"),
        context,
        section_path: path,
        page_start,
        page_end,
        ordinal: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_sentences() {
        let s = split_sentences(
            "M. Dupont est arrivé. Il a vu Mme. Martin, art. 3 du code, etc. Puis il est parti ! \
             Le tarif est de 3.38 € par repas. « Bonjour. » Voir E.R.D.F. Montpellier… 2 enfants.",
        );
        assert_eq!(
            s,
            vec![
                "M. Dupont est arrivé.",
                "Il a vu Mme. Martin, art. 3 du code, etc. Puis il est parti !",
                "Le tarif est de 3.38 € par repas.",
                "« Bonjour. »",
                "Voir E.R.D.F. Montpellier…",
                "2 enfants.",
            ]
        );
    }

    #[test]
    fn no_split_without_capital() {
        assert_eq!(split_sentences("le 1.5 km. et ensuite").len(), 1);
    }
}
