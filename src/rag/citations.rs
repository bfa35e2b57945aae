//! Citations: the `[n]` markers of an answer, checked against the sources
//! it was given. A marker naming no source is removed; an answer left with
//! no valid citation is not shown as grounded.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*)\]").expect("citation regex: this is a bug")
});

/// The outcome of checking an answer's citations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The text with invalid markers removed.
    pub text: String,
    /// The valid source numbers cited (1-based).
    pub cited: BTreeSet<usize>,
    /// Markers that named no source.
    pub invalid: usize,
}

/// Checks `text`'s markers against `sources` numbered sources. `[1, 3]`,
/// `[1][3]` and `[1-3]` are understood.
pub fn check(text: &str, sources: usize) -> Checked {
    let mut cited = BTreeSet::new();
    let mut invalid = 0;
    let out = MARKER.replace_all(text, |c: &regex::Captures| {
        let inner = &c[1];
        let mut nums: Vec<usize> = Vec::new();
        let range = inner.contains('-') || inner.contains('–');
        let parts: Vec<usize> = inner
            .split([',', ';', '-', '–'])
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        if range && parts.len() == 2 && parts[0] <= parts[1] && parts[1] - parts[0] < 10 {
            nums.extend(parts[0]..=parts[1]);
        } else {
            nums.extend(parts);
        }
        let valid: Vec<usize> = nums
            .into_iter()
            .filter(|&n| {
                let ok = (1..=sources).contains(&n);
                if !ok {
                    invalid += 1;
                }
                ok
            })
            .collect();
        cited.extend(valid.iter().copied());
        if valid.is_empty() {
            String::new()
        } else {
            valid
                .iter()
                .map(|n| format!("[{n}]"))
                .collect::<Vec<_>>()
                .join("")
        }
    });
    Checked {
        text: tidy(&out),
        cited,
        invalid,
    }
}

/// Removes the spaces left before punctuation by removed markers.
fn tidy(s: &str) -> String {
    let mut out = s.replace(" .", ".").replace(" ,", ",");
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_checked_against_the_sources() {
        let c = check(
            "Il faut une photo [1] et un justificatif [2, 7]. Voir aussi [9].",
            3,
        );
        assert_eq!(c.cited.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(c.invalid, 2);
        assert_eq!(
            c.text,
            "Il faut une photo [1] et un justificatif [2]. Voir aussi."
        );
        let c = check("Voir [1-3] et [2][3].", 3);
        assert_eq!(c.cited.len(), 3);
        assert_eq!(c.text, "Voir [1][2][3] et [2][3].");
        let c = check("Aucune source ici.", 3);
        assert!(c.cited.is_empty());
    }
}
