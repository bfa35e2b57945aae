//! `report.html`: one self-contained page a référent can open (no script,
//! no external file): headline figures, a table and an inline SVG chart per
//! kind, the worst cases with their answers and sources side by side, and,
//! with a comparison, the cases that got better or worse. Every text from
//! cases and answers is escaped.

use std::fmt::Write;

use crate::run::{CaseResult, Figures, Summary};

/// Escapes text for HTML.
pub use guichet_text::escape_html as esc;

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.1} %", x * 100.0))
}

fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.0} ms"))
}

fn row(name: &str, f: &Figures) -> String {
    format!(
        "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(name),
        f.cases,
        pct(f.correct),
        pct(f.hit_at_5),
        pct(f.mrr),
        pct(f.citation_precision),
        pct(f.must_contain),
        pct(f.groundedness),
        pct(f.abstention_accuracy),
        pct(f.wrongly_refused),
        f.violations,
        ms(f.first_token_p50_ms),
        ms(f.total_p95_ms),
    )
}

const HEAD: &str = "<tr><th></th><th>cas</th><th>corrects</th><th>hit@5</th><th>MRR</th><th>précision des citations</th><th>faits attendus</th><th>ancrage</th><th>refus corrects</th><th>refus à tort</th><th>mots interdits</th><th>1er mot (médiane)</th><th>total (p95)</th></tr>";

/// Horizontal bars of one metric per group, as inline SVG.
fn chart(title: &str, groups: &[(String, Option<f64>)]) -> String {
    let h = 22 * groups.len() + 30;
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"{}\" width=\"460\" height=\"{h}\" viewBox=\"0 0 460 {h}\">",
        esc(title),
        esc(title)
    );
    for (i, (name, v)) in groups.iter().enumerate() {
        let y = 10 + i * 22;
        let w = v.unwrap_or(0.0).clamp(0.0, 1.0) * 280.0;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"120\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#2a5db0\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 12,
            esc(name),
            125.0 + w,
            y + 12,
            pct(*v)
        );
    }
    s.push_str("</svg></figure>");
    s
}

/// The whole page.
pub fn html(summary: &Summary, results: &[CaseResult]) -> String {
    let mut s = String::from("<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Évaluation Guichet</title><style>body{font-family:sans-serif;margin:2em;max-width:75em;color:#111}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .5em;text-align:right;vertical-align:top}th{background:#eef}td.t{text-align:left}.case{display:grid;grid-template-columns:1fr 1fr;gap:1em;border-top:2px solid #ccc;padding:.5em 0}.bad{color:#a00}.good{color:#070}figure{display:inline-block;margin:0 2em 1em 0}small{color:#555}</style></head><body>");
    let _ = write!(
        s,
        "<h1>Évaluation de Guichet</h1><p>{} — {} — jeux : {}</p>",
        esc(&summary.answerer),
        esc(&summary.date),
        esc(&summary.sets.join(", "))
    );
    let o = &summary.overall;
    let _ = write!(
        s,
        "<h2>En bref</h2><ul><li>{} cas validés</li><li>Cas traités correctement : <b>{}</b></li><li>Réponses relues contenant une affirmation fausse : <b>{}</b> ({} affirmation(s) fausse(s) ; {} réponse(s) relue(s), {} affirmation(s) pas encore relue(s))</li><li>Source attendue parmi les 5 premières : <b>{}</b></li><li>Faits attendus présents : <b>{}</b></li><li>Réponses ancrées dans leurs sources : <b>{}</b></li><li>Questions hors sujet et injections correctement refusées : <b>{}</b></li><li>Questions légitimes refusées à tort : <b>{}</b></li><li>Séparation par le score de confiance (AUC) : <b>{}</b></li><li>Temps de réponse : médiane {}, p95 {}</li></ul>",
        o.cases,
        pct(o.correct),
        pct(o.false_answers),
        o.false_statements,
        o.reviewed_answers,
        o.unreviewed_claims,
        pct(o.hit_at_5),
        pct(o.must_contain),
        pct(o.groundedness),
        pct(o.abstention_accuracy),
        pct(o.wrongly_refused),
        o.confidence_auc.map_or("—".into(), |a| format!("{a:.3}")),
        ms(o.total_p50_ms),
        ms(o.total_p95_ms)
    );
    if let Some(p) = &summary.previous {
        let _ = write!(
            s,
            "<p>Run comparé : faits attendus {} → {}, hit@5 {} → {}, refus corrects {} → {} ; {} cas améliorés, {} dégradés.</p>",
            pct(p.must_contain),
            pct(o.must_contain),
            pct(p.hit_at_5),
            pct(o.hit_at_5),
            pct(p.abstention_accuracy),
            pct(o.abstention_accuracy),
            summary.improved.len(),
            summary.worsened.len()
        );
    }
    s.push_str("<h2>Par type de question</h2><table>");
    s.push_str(HEAD);
    s.push_str(&row("tous", o));
    for (k, f) in &summary.by_kind {
        s.push_str(&row(k, f));
    }
    s.push_str("</table>");
    let kinds: Vec<(String, Option<f64>)> = summary
        .by_kind
        .iter()
        .map(|(k, f)| (k.clone(), f.must_contain))
        .collect();
    s.push_str(&chart("Faits attendus présents, par type", &kinds));
    let kinds: Vec<(String, Option<f64>)> = summary
        .by_kind
        .iter()
        .map(|(k, f)| (k.clone(), f.hit_at_5))
        .collect();
    s.push_str(&chart(
        "Source attendue dans les 5 premières, par type",
        &kinds,
    ));
    s.push_str("<h2>Par jeu et par thème</h2><table>");
    s.push_str(HEAD);
    for (k, f) in summary.by_set.iter().chain(&summary.by_topic) {
        s.push_str(&row(k, f));
    }
    s.push_str("</table>");
    if let Some(d) = &summary.drafts {
        let _ = write!(
            s,
            "<h2>Cas en brouillon (non comptés)</h2><table>{HEAD}{}</table>",
            row("brouillons", d)
        );
    }
    let mut worst: Vec<&CaseResult> = results.iter().collect();
    worst.sort_by(|a, b| a.metrics.score.total_cmp(&b.metrics.score));
    s.push_str("<h2>Les cas les moins bons</h2>");
    for r in worst.iter().take(15) {
        let _ = write!(
            s,
            "<div class=\"case\"><div><b>{}</b> <small>{} · {} · score {:.2}</small><p>{}</p><small>Attendu : {} ; faits : {}</small>{}</div><div><small>{} · confiance {:.2}</small><p>{}</p><ol>",
            esc(&r.case.id),
            esc(r.case.kind.as_str()),
            esc(&r.case.set),
            r.metrics.score,
            esc(&r.case.question),
            esc(&r.case.expected_sources.iter().map(|e| match e.page { Some(p) => format!("{} p. {p}", e.document), None => e.document.clone() }).collect::<Vec<_>>().join(", ")),
            esc(&r.case.must_contain.join(" ; ")),
            r.error.as_ref().map_or(String::new(), |e| format!("<p class=\"bad\">Erreur : {}</p>", esc(e))),
            esc(&r.answered.status),
            r.answered.confidence,
            esc(&r.answered.answer).replace('\n', "<br>"),
        );
        for src in &r.answered.sources {
            let _ = write!(
                s,
                "<li class=\"{}\">{}{} <small>{}</small></li>",
                if src.cited { "good" } else { "" },
                esc(&src.title),
                src.page.map_or(String::new(), |p| format!(", p. {p}")),
                esc(&src.document)
            );
        }
        s.push_str("</ol></div></div>");
    }
    for (title, list, class) in [
        (
            "Cas dégradés depuis le run comparé",
            &summary.worsened,
            "bad",
        ),
        ("Cas améliorés", &summary.improved, "good"),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(s, "<h2>{title}</h2><table><tr><th>cas</th><th>question</th><th>avant</th><th>après</th></tr>");
        for c in list {
            let _ = write!(
                s,
                "<tr class=\"{class}\"><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{:.2}</td><td>{:.2}</td></tr>",
                esc(&c.id),
                esc(&c.question),
                c.before,
                c.after
            );
        }
        s.push_str("</table>");
    }
    s.push_str("</body></html>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_text_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        let page = html(
            &Summary {
                answerer: "<img onerror=x>".into(),
                ..Summary::default()
            },
            &[],
        );
        assert!(!page.contains("<img") && page.contains("&lt;img onerror=x&gt;"));
    }
}
