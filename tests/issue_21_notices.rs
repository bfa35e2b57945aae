//! Issue 21: référents' accounts managed over the API (expiry, last use,
//! the last admin kept), and a human told when a citizen needs one: an
//! e-mail through a real SMTP server that requires STARTTLS (Python's
//! `aiosmtpd`, with a certificate authority made for the test) and a
//! webhook whose receiver checks the HMAC signature in Python, on
//! 127.0.0.1.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::support::{call, free_port, run, service_kb, token, Server};

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A certificate authority and a certificate for `localhost` signed by it
/// (`openssl`): (ca.pem, cert.pem, key.pem).
fn certificates(dir: &Path) -> (String, String, String) {
    let p = |f: &str| dir.join(f).display().to_string();
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Guichet test CA",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &p("key.pem"),
        "-out",
        &p("req.csr"),
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("req.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("ext.cnf"),
        "-out",
        &p("cert.pem"),
    ]);
    (p("ca.pem"), p("cert.pem"), p("key.pem"))
}

/// Waits until something listens on 127.0.0.1:`port`.
fn wait_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The webhook receiver: answers 500 to the first call (so the delivery
/// is retried), then 200; appends one JSON line per call with whether
/// the signature verifies under `secret`.
const RECEIVER: &str = r#"
import hashlib, hmac, http.server, json, sys, time
port, secret, log = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
calls = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global calls
        calls += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ts = self.headers.get("X-Guichet-Timestamp", "")
        want = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers.get("X-Guichet-Signature", ""))
        fresh = abs(time.time() - int(ts or 0)) < 300
        with open(log, "a") as f:
            f.write(json.dumps({"call": calls, "signed": ok and fresh,
                                "event": self.headers.get("X-Guichet-Event"),
                                "body": json.loads(body)}) + "\n")
        self.send_response(500 if calls == 1 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

/// The messages of a Maildir, decoded by Python's `email` package (MIME
/// headers and transfer encodings): one `"To: …\nSubject: …\n\nbody"`
/// text each.
fn mails(maildir: &Path) -> Vec<String> {
    const READ: &str = r#"
import json, mailbox, sys
from email import policy
out = []
for key in mailbox.Maildir(sys.argv[1], create=False).keys():
    with open(sys.argv[1] + "/new/" + key, "rb") as f:
        import email
        m = email.message_from_binary_file(f, policy=policy.default)
    out.append("To: %s\nSubject: %s\n\n%s" % (m["To"], m["Subject"], m.get_content()))
print(json.dumps(out))
"#;
    if !maildir.join("new").is_dir() {
        return Vec::new();
    }
    let o = Command::new("python3")
        .args(["-c", READ])
        .arg(maildir)
        .output()
        .expect("python3");
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

fn webhook_calls(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: not after 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `python3 -c "import aiosmtpd"` works (installed by `.ci/run`).
fn aiosmtpd_installed() {
    let o = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "aiosmtpd is missing: python3 -m pip install aiosmtpd (.ci/run does)"
    );
}

#[test]
fn a_handoff_and_a_flagged_answer_reach_the_referents_by_starttls_mail_and_signed_webhook() {
    aiosmtpd_installed();
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let maildir = dir.path().join("maildir");
    let smtp_port = free_port();
    // aiosmtpd refuses MAIL before STARTTLS (require_starttls is on).
    let _smtp = Killed(
        Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{smtp_port}"))
            .args(["--tlscert", &cert, "--tlskey", &key])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd"),
    );
    let hook_port = free_port();
    let hook_log = dir.path().join("webhook.jsonl");
    let _hook = Killed(
        Command::new("python3")
            .args(["-c", RECEIVER, &hook_port.to_string(), "clé-partagée"])
            .arg(&hook_log)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("webhook receiver"),
    );
    wait_port(smtp_port, "aiosmtpd");
    wait_port(hook_port, "the webhook receiver");
    let smtp_port_s = smtp_port.to_string();
    let hook_url = format!("http://127.0.0.1:{hook_port}/guichet");
    let server = Server::start(
        &service_kb(),
        &[
            ("GUICHET_NOTIFY_SMTP_HOST", "localhost"),
            ("GUICHET_NOTIFY_SMTP_PORT", &smtp_port_s),
            ("GUICHET_NOTIFY_SMTP_TLS", "starttls"),
            ("GUICHET_NOTIFY_CA_FILE", &ca),
            ("GUICHET_NOTIFY_FROM", "Guichet <guichet@ville-test.fr>"),
            ("GUICHET_NOTIFY_TO", "[\"accueil@ville-test.fr\"]"),
            ("GUICHET_NOTIFY_WEBHOOK_URL", &hook_url),
            ("GUICHET_NOTIFY_WEBHOOK_SECRET", "clé-partagée"),
            (
                "GUICHET_NOTIFY_CONSOLE_URL",
                "https://guichet.ville-test.fr/console",
            ),
            ("GUICHET_NOTIFY_RETRY_SECS", "1"),
        ],
    );
    let admin = token(&server, "dgs", "admin");
    // A référent for identity papers gets their topic's notices; one for
    // town planning does not.
    for (name, email, topic) in [
        ("ec", "etat-civil@ville-test.fr", "carte d'identité"),
        ("urba", "urbanisme@ville-test.fr", "permis de construire"),
    ] {
        let (status, created) = call(
            &server,
            "POST",
            "/api/users",
            Some(&admin),
            Some(json!({"name": name, "email": email, "topics": [topic]})),
        );
        assert_eq!(status, 201, "{created}");
    }
    let answer = server.ask("Comment refaire ma carte d'identité ?", None);
    let conversation = answer["conversation_id"].as_str().unwrap().to_string();
    let asked = Instant::now();
    let (status, handoff) = call(
        &server,
        "POST",
        "/api/handoff",
        None,
        Some(json!({
            "conversation_id": conversation,
            "contact": {"name": "Jeanne Martin", "email": "jeanne.martin@example.org"},
            "message": "Je ne trouve pas le formulaire, rappelez-moi au 06 12 34 56 78.",
        })),
    );
    assert_eq!(status, 201, "{handoff}");
    // The citizen's answer does not wait for the relay or the webhook.
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let reference = handoff["reference"].as_str().unwrap().to_string();

    let got = wait_for("two e-mails", || {
        let m = mails(&maildir);
        (m.len() >= 2).then_some(m)
    });
    assert_eq!(got.len(), 2, "{got:#?}");
    let to: Vec<bool> = ["accueil@ville-test.fr", "etat-civil@ville-test.fr"]
        .iter()
        .map(|a| got.iter().any(|m| m.contains(&format!("To: {a}"))))
        .collect();
    assert_eq!(to, [true, true], "{got:#?}");
    assert!(!got.iter().any(|m| m.contains("urbanisme@")));
    for m in &got {
        assert!(m.contains(&reference), "{m}");
        assert!(m.contains("guichet.ville-test.fr/console"), "{m}");
        // Personal data stays out: the phone number is masked and the
        // contact details are in the console, not in the mail.
        assert!(
            !m.contains("06 12 34 56 78") && !m.contains("jeanne.martin"),
            "{m}"
        );
    }

    // The webhook failed once (500), was retried, and is signed.
    let calls = wait_for("the webhook retried", || {
        let c = webhook_calls(&hook_log);
        (c.len() >= 2).then_some(c)
    });
    assert!(calls.iter().all(|c| c["signed"] == true), "{calls:#?}");
    assert_eq!(calls[1]["event"], "handoff");
    let body = &calls[1]["body"];
    assert_eq!(body["reference"], reference.as_str());
    assert_eq!(
        body["questions"][0],
        "Comment refaire ma carte d'identité ?"
    );
    assert!(body.get("contact").is_none(), "{body}");
    assert!(!body.to_string().contains("06 12 34 56 78"), "{body}");

    // A thumbs down tells them too.
    let (status, _) = call(
        &server,
        "POST",
        "/api/feedback",
        None,
        Some(json!({"answer_id": answer["answer_id"], "rating": "down", "comment": "Faux."})),
    );
    assert_eq!(status, 204);
    let flagged = wait_for("the flagged answer's webhook", || {
        webhook_calls(&hook_log)
            .into_iter()
            .find(|c| c["event"] == "flagged")
    });
    assert_eq!(flagged["body"]["answer"], answer["answer"]);
    assert!(flagged["signed"] == true);
    wait_for("the flagged answer's e-mails", || {
        let m = mails(&maildir);
        (m.iter().filter(|m| m.contains("Réponse signalée")).count() >= 2).then_some(())
    });
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("guichet_notices_sent_total"), "{metrics}");
}

#[test]
fn admins_manage_accounts_that_expire_and_record_their_last_use() {
    let server = Server::start(&service_kb(), &[]);
    let admin = token(&server, "dgs", "admin");
    let referent = token(&server, "agent", "referent");
    // Only admins manage accounts.
    let (status, _) = call(&server, "GET", "/api/users", Some(&referent), None);
    assert_eq!(status, 403);
    let (status, created) = call(
        &server,
        "POST",
        "/api/users",
        Some(&admin),
        Some(json!({"name": "stagiaire", "role": "referent", "expires_at": "2099-12-31"})),
    );
    assert_eq!(status, 201, "{created}");
    let t = created["token"].as_str().unwrap().to_string();
    assert_eq!(created["user"]["expires_at"], "2099-12-31");
    assert_eq!(created["user"]["last_used_at"], serde_json::Value::Null);
    let (status, _) = call(&server, "GET", "/api/me", Some(&t), None);
    assert_eq!(status, 200);
    let (_, users) = call(&server, "GET", "/api/users", Some(&admin), None);
    let intern = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "stagiaire")
        .unwrap()
        .clone();
    assert!(intern["last_used_at"].is_string(), "{intern}");
    assert!(!users.to_string().contains("gui_"), "no secret is listed");
    // Bad values are refused with the field named; a duplicate is 409.
    for (body, want) in [
        (json!({"name": "x", "expires_at": "2026-02-30"}), 422),
        (json!({"name": "x", "email": "pas une adresse"}), 422),
        (json!({"name": "a#b"}), 422),
        (json!({"name": "stagiaire"}), 409),
    ] {
        let (status, e) = call(
            &server,
            "POST",
            "/api/users",
            Some(&admin),
            Some(body.clone()),
        );
        assert_eq!(status, want, "{body} -> {e}");
    }
    // Expired yesterday: the token stops working at once.
    let (status, changed) = call(
        &server,
        "PATCH",
        "/api/users/stagiaire",
        Some(&admin),
        Some(json!({"expires_at": "2020-01-01"})),
    );
    assert_eq!(status, 200, "{changed}");
    let (status, _) = call(&server, "GET", "/api/me", Some(&t), None);
    assert_eq!(status, 401);
    // Extended again (null: no expiry), then revoked.
    let (status, changed) = call(
        &server,
        "PATCH",
        "/api/users/stagiaire",
        Some(&admin),
        Some(json!({"expires_at": null, "topics": ["état civil"]})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["expires_at"], serde_json::Value::Null);
    assert_eq!(changed["topics"], json!(["état civil"]));
    assert_eq!(call(&server, "GET", "/api/me", Some(&t), None).0, 200);
    assert_eq!(
        call(
            &server,
            "DELETE",
            "/api/users/stagiaire",
            Some(&admin),
            None
        )
        .0,
        204
    );
    assert_eq!(call(&server, "GET", "/api/me", Some(&t), None).0, 401);
    assert_eq!(
        call(
            &server,
            "DELETE",
            "/api/users/stagiaire",
            Some(&admin),
            None
        )
        .0,
        404
    );
    // The last valid admin can be neither demoted nor revoked.
    let (status, e) = call(
        &server,
        "PATCH",
        "/api/users/dgs",
        Some(&admin),
        Some(json!({"role": "referent"})),
    );
    assert_eq!(status, 409, "{e}");
    assert_eq!(
        call(&server, "DELETE", "/api/users/dgs", Some(&admin), None).0,
        409
    );
    assert_eq!(call(&server, "GET", "/api/me", Some(&admin), None).0, 200);
    // Every change is in the audit log, under who made it.
    let (_, audit) = call(&server, "GET", "/api/audit", Some(&admin), None);
    for action in ["user.create", "user.update", "user.revoke"] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action && e["user"] == "dgs"),
            "{action}: {audit:#}"
        );
    }
    // The command line shows the same accounts.
    let (o, stdout, stderr) = run(super::support::guichet()
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["users", "list"]));
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("dgs") && stdout.contains("last used 20"),
        "{stdout}"
    );
}
