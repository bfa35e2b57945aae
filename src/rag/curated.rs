//! Curated answers: the référents' validated answers, served verbatim
//! (no model) to questions close enough to one of theirs.

use guichet_models::EmbedKind;

use super::draft::{Draft, Mode};
use super::{confidence, Answer, Assistant, Event, Source, Status};
use crate::Result;

/// Cosine (e5 query embeddings) from which a question is taken for a
/// curated answer's question or variant, with [`CURATED_COVERAGE`] of its
/// words in it. Provisional, from a handful of pairs: paraphrases scored
/// 0.94-0.98 ("horaires d'ouverture de la mairie" / "horaires de la
/// mairie" 0.980), the same question about another place 0.93 ("… de la
/// piscine"), other topics under 0.87. Référents add variants for wordings
/// that fall short; to be calibrated on reviewed pairs.
pub const CURATED_SIMILARITY: f32 = 0.95;
/// Share of the question's words (IDF-weighted, synonyms counted) that the
/// curated question must contain: a lexical check beside the cosine,
/// loose because paraphrases change words ("heures" / "horaires").
pub const CURATED_COVERAGE: f64 = 0.3;

impl Assistant {
    /// The curated answer whose question or variant is close enough to the
    /// question (cosine and lexical check), if any is valid today.
    pub(super) fn curated_match(
        &self,
        question: &str,
        weights: &[confidence::TermGroup],
    ) -> Result<Option<crate::referents::Curated>> {
        let Some(k) = &self.town_knowledge else {
            return Ok(None);
        };
        let live = k.curated_vectors(&crate::time::local_today(&self.town().zone()))?;
        if live.is_empty() {
            return Ok(None);
        }
        // Curated questions are embedded as typed: compare with the
        // question as typed, not with its expanded search form.
        let plain = self
            .embedder()
            .embed(&[question], EmbedKind::Query)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let mut best: Option<(f32, i64)> = None;
        for (id, text, v) in live {
            let cos = guichet_models::cosine(&plain, &v);
            if cos >= CURATED_SIMILARITY
                && confidence::coverage(weights, &[&text]) >= CURATED_COVERAGE
                && best.is_none_or(|(b, _)| cos > b)
            {
                best = Some((cos, id));
            }
        }
        match best {
            Some((_, id)) => k.curated(id),
            None => Ok(None),
        }
    }

    /// Serves `found` verbatim, its sources as the référent gave them.
    pub(super) fn serve_curated(
        &self,
        mut draft: Draft,
        standalone: &str,
        found: crate::referents::Curated,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Answer {
        draft.sources = curated_sources(&found.sources);
        on_event(Event::Sources(&draft.sources));
        let text = super::language::introduce(draft.language, found.answer);
        draft.emit(&text, on_event);
        draft.status = Status::Curated;
        draft.mode = Mode::Curated;
        draft.confidence = 1.0;
        draft.topic = Some(
            self.models()
                .themes
                .topic(standalone, None, std::slice::from_ref(&found.question))
                .to_string(),
        );
        draft.model = format!("réponse validée par {}", found.validated_by);
        draft.text = text;
        draft.finish()
    }
}

/// A curated answer's sources (titles or links), numbered and all cited.
fn curated_sources(given: &[String]) -> Vec<Source> {
    given
        .iter()
        .enumerate()
        .map(|(i, s)| Source {
            n: i + 1,
            document_id: 0,
            chunk_id: 0,
            title: s.clone(),
            section: String::new(),
            page: None,
            page_end: None,
            url: (s.starts_with("http://") || s.starts_with("https://")).then(|| s.clone()),
            source: s.clone(),
            cited: true,
            score: 1.0,
            extract: String::new(),
            text: String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curated_sources_are_numbered_cited_and_linked_when_links() {
        let s = curated_sources(&[
            "Délibération du 12 mars".to_string(),
            "https://www.ville.fr/piscine".to_string(),
        ]);
        assert_eq!(s.iter().map(|s| s.n).collect::<Vec<_>>(), [1, 2]);
        assert!(s.iter().all(|s| s.cited));
        assert_eq!(s[0].url, None);
        assert_eq!(s[1].url.as_deref(), Some("https://www.ville.fr/piscine"));
    }
}
