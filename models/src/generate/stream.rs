//! Turning generated token ids into text deltas that are safe to show.
//!
//! Two things can go wrong when streaming token by token: a token may hold
//! only part of a UTF-8 character (byte-fallback tokens), and the text may be
//! the beginning of a stop string that must never reach the user. The
//! [`TextStream`] holds back both until they resolve.

use super::tokenizer::TextTokenizer;
use crate::Result;

/// Incremental detokenizer with stop strings.
pub struct TextStream {
    ids: Vec<u32>,
    /// Start of the ids decoded together (context for leading spaces).
    prefix: usize,
    /// Ids before this are already part of `text`.
    read: usize,
    text: String,
    emitted: usize,
    stops: Vec<String>,
    stopped: bool,
}

impl TextStream {
    /// A stream that ends at the first of `stops` (which never appears in
    /// the output).
    pub fn new(stops: Vec<String>) -> Self {
        Self {
            ids: Vec::new(),
            prefix: 0,
            read: 0,
            text: String::new(),
            emitted: 0,
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            stopped: false,
        }
    }

    /// Whether a stop string was met.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The text accepted so far (without any stop string).
    pub fn text(&self) -> &str {
        &self.text[..self.emitted]
    }

    /// Adds a token; returns the text that can be shown now (maybe empty).
    pub fn push(&mut self, tok: &TextTokenizer, id: u32) -> Result<String> {
        if self.stopped {
            return Ok(String::new());
        }
        self.ids.push(id);
        let before = tok.decode(&self.ids[self.prefix..self.read])?;
        let now = tok.decode(&self.ids[self.prefix..])?;
        // An incomplete UTF-8 sequence decodes to U+FFFD: wait for the rest.
        if now.len() <= before.len() || now.ends_with('\u{FFFD}') {
            return Ok(String::new());
        }
        let delta = now.get(before.len()..).unwrap_or_default();
        self.text.push_str(delta);
        self.prefix = self.read;
        self.read = self.ids.len();
        Ok(self.release(false))
    }

    /// Ends the stream: returns whatever was held back (an unfinished
    /// character is shown as U+FFFD; a partial stop string is shown as text).
    pub fn finish(&mut self, tok: &TextTokenizer) -> Result<String> {
        if !self.stopped && self.read < self.ids.len() {
            let before = tok.decode(&self.ids[self.prefix..self.read])?;
            let now = tok.decode(&self.ids[self.prefix..])?;
            if let Some(delta) = now.get(before.len()..) {
                self.text.push_str(delta);
            }
            self.read = self.ids.len();
        }
        Ok(self.release(true))
    }

    fn release(&mut self, last: bool) -> String {
        if self.stopped {
            return String::new();
        }
        let longest = self.stops.iter().map(String::len).max().unwrap_or(0);
        // A stop string can only start where it could not have been seen before.
        let mut from = self.emitted.saturating_sub(longest);
        while !self.text.is_char_boundary(from) {
            from -= 1;
        }
        let found = self
            .stops
            .iter()
            .filter_map(|s| self.text[from..].find(s.as_str()).map(|i| from + i))
            .min();
        let end = match found {
            Some(at) => {
                self.stopped = true;
                at
            }
            None if last => self.text.len(),
            None => self.text.len() - self.held_back(),
        };
        let end = end.max(self.emitted);
        let out = self.text[self.emitted..end].to_owned();
        self.emitted = end;
        if self.stopped {
            self.text.truncate(end);
        }
        out
    }

    /// Length of the longest end of the text that begins a stop string.
    fn held_back(&self) -> usize {
        let mut best = 0;
        for s in &self.stops {
            for (i, _) in s.char_indices().skip(1) {
                if i > best && self.text.ends_with(&s[..i]) {
                    best = i;
                }
            }
        }
        best
    }
}
