//! The `[n]` citation markers of an answer: `[1]`, `[1, 3]`, `[1][3]`,
//! `[1-3]`. One pattern, so that the engine that checks an answer's
//! citations and the evaluation that scores them read the same markers.

use std::sync::LazyLock;

use regex::Regex;

/// A citation marker; group 1 holds what is between the brackets.
pub static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*)\]").expect("citation regex: this is a bug")
});

/// The source numbers a marker's inside names: `1, 3` → [1, 3]; a short
/// range `1-3` → [1, 2, 3] (a range of ten or more, or backwards, is read
/// as its two ends).
pub fn numbers(inside: &str) -> Vec<usize> {
    let range = inside.contains('-') || inside.contains('–');
    let parts: Vec<usize> = inside
        .split([',', ';', '-', '–'])
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    if range && parts.len() == 2 && parts[0] <= parts[1] && parts[1] - parts[0] < 10 {
        (parts[0]..=parts[1]).collect()
    } else {
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_their_numbers() {
        let found: Vec<Vec<usize>> = MARKER
            .captures_iter("a [1] b [2, 3] c [4-6] d [9–2] e [x] f [ 7 ]")
            .map(|c| numbers(&c[1]))
            .collect();
        assert_eq!(
            found,
            [vec![1], vec![2, 3], vec![4, 5, 6], vec![9, 2], vec![7]]
        );
    }
}
