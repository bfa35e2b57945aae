//! Notices to the référents: a citizen asked for a person (a handoff) or
//! rated an answer down.
//!
//! A notice is written to the `notifications` outbox in the database when
//! the citizen's request is stored ([`queue`]), one row per e-mail
//! recipient and one for the webhook; the [`deliver`] worker sends the rows
//! in the background and retries a failure with a doubling delay. The
//! citizen's answer never waits for a relay, and a notice survives a
//! restart. A notice carries what the référent needs to act (the reference
//! given to the citizen, the masked questions, the topic, the link to the
//! console) and no personal data that the configuration masks: the
//! citizen's message is masked like stored questions, and the contact
//! details stay in the console unless `[notify] include_contact` is set.

pub mod deliver;

use serde_json::json;

use crate::conversations::StoredMessage;
use crate::referents::notifications::{Channel, NewNotice};
use crate::referents::Referents;
use crate::settings::Settings;
use crate::Result;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A citizen asked to be contacted by a person.
    Handoff,
    /// A citizen rated an answer down.
    Flagged,
}

impl Event {
    /// Its name in the outbox and the webhook's `event` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Handoff => "handoff",
            Event::Flagged => "flagged",
        }
    }
}

/// A notice before it is queued.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    /// What happened.
    pub event: Event,
    /// The reference given to the citizen (`H-…`), or the answer's id.
    pub reference: &'a str,
    /// The exchanges of the conversation concerned (questions stored
    /// masked), oldest first.
    pub exchanges: &'a [StoredMessage],
    /// What the citizen wrote (a handoff's message, a rating's comment).
    pub message: &'a str,
    /// The citizen's contact details, as given.
    pub contact: Option<&'a serde_json::Value>,
}

/// The titles of the sources an exchange cited.
fn source_titles(m: &StoredMessage) -> Vec<String> {
    m.sources
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["title"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Queues `notice` for every configured channel: e-mail to `[notify] to`
/// and to the users whose topics match, the webhook. Returns the rows
/// queued (0 when notices are off, or off for this event).
pub fn queue(store: &Referents, settings: &Settings, notice: &Notice<'_>) -> Result<usize> {
    let n = &settings.notify;
    if !n.enabled() || (notice.event == Event::Flagged && !n.on_flagged) {
        return Ok(0);
    }
    let message = guichet_text::privacy::mask_personal_data(notice.message);
    let questions: Vec<&str> = notice
        .exchanges
        .iter()
        .map(|m| m.question.as_str())
        .collect();
    let topic = notice.exchanges.iter().rev().find_map(|m| m.topic.clone());
    let sources: Vec<String> = notice.exchanges.iter().flat_map(source_titles).collect();
    let contact = notice.contact.filter(|_| n.include_contact);
    let town = &settings.town.name;
    let mut rows = Vec::new();
    if !n.smtp_host.trim().is_empty() {
        let matched = format!(
            "{}\n{}\n{}\n{}",
            questions.join("\n"),
            message,
            topic.as_deref().unwrap_or_default(),
            sources.join("\n")
        );
        let today = crate::time::local_today(&settings.town.zone());
        let mut to: Vec<String> = n.to.iter().map(|t| t.trim().to_string()).collect();
        for a in store.notice_recipients(&matched, &today)? {
            if !to.contains(&a) {
                to.push(a);
            }
        }
        let (subject, body) = mail_text(
            notice,
            town,
            &questions,
            &message,
            topic.as_deref(),
            contact,
            &n.console_url,
        );
        for recipient in to.into_iter().filter(|t| !t.is_empty()) {
            rows.push(NewNotice {
                event: notice.event.as_str().into(),
                reference: notice.reference.into(),
                channel: Channel::Email,
                recipient,
                subject: subject.clone(),
                body: body.clone(),
            });
        }
    }
    if !n.webhook_url.trim().is_empty() {
        let mut payload = json!({
            "event": notice.event.as_str(),
            "reference": notice.reference,
            "town": town,
            "created_at": crate::time::utc(crate::time::now_secs()),
            "topic": topic,
            "questions": questions,
            "message": message,
            "sources": sources,
        });
        if let Some(c) = contact {
            payload["contact"] = c.clone();
        }
        if !n.console_url.is_empty() {
            payload["console_url"] = json!(n.console_url);
        }
        if notice.event == Event::Flagged {
            payload["answer"] = json!(notice.exchanges.last().map(|m| m.answer.as_str()));
        }
        rows.push(NewNotice {
            event: notice.event.as_str().into(),
            reference: notice.reference.into(),
            channel: Channel::Webhook,
            recipient: n.webhook_url.trim().to_string(),
            subject: String::new(),
            body: payload.to_string(),
        });
    }
    store.enqueue_notices(&rows)?;
    Ok(rows.len())
}

/// The subject and plain-text body of a notice's e-mail, in French.
fn mail_text(
    notice: &Notice<'_>,
    town: &str,
    questions: &[&str],
    message: &str,
    topic: Option<&str>,
    contact: Option<&serde_json::Value>,
    console_url: &str,
) -> (String, String) {
    let mut body = String::new();
    let subject = match notice.event {
        Event::Handoff => {
            body.push_str("Un citoyen demande à être recontacté par un agent.\n\n");
            format!("[Guichet {town}] Demande de contact {}", notice.reference)
        }
        Event::Flagged => {
            body.push_str(
                "Un citoyen a signalé une réponse de l'assistant comme inexacte ou inutile.\n\n",
            );
            format!("[Guichet {town}] Réponse signalée")
        }
    };
    body.push_str(&format!("Référence : {}\n", notice.reference));
    if let Some(t) = topic {
        body.push_str(&format!("Thème : {t}\n"));
    }
    if !questions.is_empty() {
        body.push_str("\nQuestions posées :\n");
        for q in questions {
            body.push_str(&format!("  - {q}\n"));
        }
    }
    if notice.event == Event::Flagged {
        if let Some(m) = notice.exchanges.last() {
            body.push_str(&format!("\nRéponse donnée :\n{}\n", m.answer));
        }
    }
    if !message.trim().is_empty() {
        let label = match notice.event {
            Event::Handoff => "Message du citoyen",
            Event::Flagged => "Commentaire du citoyen",
        };
        body.push_str(&format!("\n{label} :\n{}\n", message.trim()));
    }
    if notice.event == Event::Handoff {
        match contact
            .and_then(|c| c.as_object())
            .filter(|c| !c.is_empty())
        {
            Some(c) => {
                body.push_str("\nCoordonnées :\n");
                for (k, v) in c {
                    body.push_str(&format!("  {k} : {}\n", v.as_str().unwrap_or_default()));
                }
            }
            None => body.push_str("\nLes coordonnées du citoyen sont dans la console.\n"),
        }
    }
    if !console_url.is_empty() {
        body.push_str(&format!("\nTraiter dans la console : {console_url}\n"));
    }
    body.push_str(
        "\n-- \nMessage envoyé automatiquement par Guichet ; merci de ne pas y répondre.\n",
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(question: &str, topic: &str) -> StoredMessage {
        StoredMessage {
            answer_id: "a1".into(),
            question: question.into(),
            standalone_question: question.into(),
            answer: "La mairie est ouverte le lundi [1].".into(),
            status: "answered".into(),
            confidence: 0.8,
            topic: Some(topic.into()),
            sources: json!([{"title": "Carte grise : changement d'adresse"}]),
            timings: json!({}),
            model: "extractive".into(),
            created_at: "2026-12-03T10:00:00Z".into(),
        }
    }

    #[test]
    fn notices_go_to_matching_topics_and_carry_no_masked_personal_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = Referents::open(&dir.path().join("g.db")).unwrap();
        let profile = |email: &str, topics: &[&str]| crate::referents::Profile {
            email: Some(email.into()),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        };
        let role = crate::referents::Role::Referent;
        store
            .add_user(
                "etat-civil",
                role,
                &profile("ec@ville.fr", &["état civil", "passeport"]),
            )
            .unwrap();
        store
            .add_user("mobilite", role, &profile("mob@ville.fr", &["carte grise"]))
            .unwrap();
        store
            .add_user("tous", role, &profile("dgs@ville.fr", &[]))
            .unwrap();
        store
            .add_user("sans-mail", role, &Default::default())
            .unwrap();
        let mut settings = Settings::default();
        settings.notify.smtp_host = "127.0.0.1".into();
        settings.notify.from = "guichet@ville.fr".into();
        settings.notify.to = vec!["accueil@ville.fr".into()];
        settings.notify.webhook_url = "http://127.0.0.1:9/hook".into();
        let exchanges = [exchange(
            "Changer l'adresse des CARTES GRISES ?",
            "transports",
        )];
        let contact = json!({"email": "jean.dupont@example.org"});
        let notice = Notice {
            event: Event::Handoff,
            reference: "H-0000ABCD",
            exchanges: &exchanges,
            message: "Rappelez-moi au 06 12 34 56 78",
            contact: Some(&contact),
        };
        assert_eq!(queue(&store, &settings, &notice).unwrap(), 4);
        let due = store.due_notices("2999-01-01T00:00:00Z", 10).unwrap();
        let emails: Vec<&str> = due
            .iter()
            .filter(|d| d.channel == Channel::Email)
            .map(|d| d.recipient.as_str())
            .collect();
        assert_eq!(emails, ["accueil@ville.fr", "mob@ville.fr", "dgs@ville.fr"]);
        for d in &due {
            assert!(!d.body.contains("06 12 34 56 78"), "{}", d.body);
            assert!(!d.body.contains("jean.dupont"), "{}", d.body);
            assert!(d.body.contains("H-0000ABCD"), "{}", d.body);
        }
        // With include_contact the référent gets the details.
        settings.notify.include_contact = true;
        settings.notify.webhook_url.clear();
        queue(&store, &settings, &notice).unwrap();
        let due = store.due_notices("2999-01-01T00:00:00Z", 10).unwrap();
        assert!(due.last().unwrap().body.contains("jean.dupont@example.org"));
        // A rating down is told only when on_flagged is on.
        settings.notify.on_flagged = false;
        let flagged = Notice {
            event: Event::Flagged,
            ..notice
        };
        assert_eq!(queue(&store, &settings, &flagged).unwrap(), 0);
    }
}
