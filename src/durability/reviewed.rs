//! Evaluation cases made from the référents' review verdicts: what
//! `guichet eval import-reviews` adds to a set and what an export carries
//! in `eval-cases.jsonl`. Read from the référents' and the conversations'
//! stores only, so that durability needs nothing of the answering engine.

/// The evaluation cases made from référents' review verdicts (`guichet
/// eval import-reviews`, exports): approved when the verdict confirmed or
/// corrected the answer, drafts when it only said it was wrong.
pub fn cases(db: &std::path::Path) -> crate::Result<Vec<serde_json::Value>> {
    let referents = crate::referents::Referents::open(db)?;
    let conv = crate::conversations::Conversations::open(db, false)?;
    let mut cases = Vec::new();
    for r in referents.reviews()? {
        let Some((question, answer)) = conv.answer_text(&r.answer_id)? else {
            continue;
        };
        let (status, cited) = conv.answer_outcome(&r.answer_id)?.unwrap_or_default();
        let abstention = r.reason.as_deref() == Some("should_have_refused")
            || (r.verdict == "correct" && matches!(status.as_str(), "not_found" | "out_of_scope"));
        let kind = if status == "refused" && r.verdict == "correct" {
            "injection"
        } else if abstention {
            "out_of_scope"
        } else {
            "procedure"
        };
        let expected = if !r.expected_sources.is_empty() {
            file_names(&r.expected_sources)
        } else if r.verdict == "correct" && !abstention {
            file_names(&cited)
        } else {
            Vec::new()
        };
        let reference = match (&r.corrected_answer, r.verdict.as_str()) {
            (Some(c), _) => Some(c.clone()),
            (None, "correct") if !abstention => Some(answer),
            _ => None,
        };
        let case = serde_json::json!({
            "id": format!("review-{}", &r.answer_id[..12.min(r.answer_id.len())]),
            "question": question,
            "kind": kind,
            "expected_sources": expected,
            "must_contain": [],
            "reference_answer": reference,
            "topic": "",
            "status": if r.verdict == "incorrect" { "draft" } else { "approved" },
            "reviewed_by": r.reviewer,
            "reviewed_at": r.created_at.get(..10).unwrap_or(""),
            "note": format!(
                "from the review of answer {}: verdict {}{}",
                r.answer_id,
                r.verdict,
                r.reason.as_deref().map_or(String::new(), |x| format!(", reason {x}"))
            ),
        });
        cases.push(case);
    }
    Ok(cases)
}

fn file_names(sources: &[String]) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    for s in sources {
        let name = std::path::Path::new(s)
            .file_name()
            .map_or(s.clone(), |f| f.to_string_lossy().into_owned());
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.into_iter()
        .map(|d| serde_json::json!({ "document": d }))
        .collect()
}
