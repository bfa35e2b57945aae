//! Issue 22: the town's website as a source. A real local HTTP server
//! (`tests/fixtures/site/serve.py`) serves a small town site made for the
//! test: pages with a menu, a footer and a cookie banner, a page listed
//! only in the sitemap, a robots.txt forbidding a folder, a linked PDF, a
//! redirect, a redirect loop, a 500 and a slow page; then the site changes
//! (a page edited, a page gone). The crawls run the real binary on the
//! real embedding model.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::{ensure_e5, free_port, guichet, run, Server};

/// The town site, stopped when dropped.
struct Site {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Site {
    fn start(dir: &Path) -> Self {
        use std::io::BufRead;
        let port = free_port();
        let log = dir.join("requests.jsonl");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .arg(root.join("tests/fixtures/site/serve.py"))
            .arg(port.to_string())
            .arg(&log)
            .arg(root.join("ingest/demo/documents/montpellier/2014-05-22-0000072128.pdf"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test site");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("ready"));
        Site {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// The requests served since the last call: (path, status,
    /// If-None-Match sent, arrival in seconds).
    fn requests(&self) -> Vec<(String, u16, Option<String>, f64)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        std::fs::write(&self.log, "").unwrap();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["path"].as_str().unwrap().to_string(),
                    v["status"].as_u64().unwrap() as u16,
                    v["if_none_match"].as_str().map(str::to_string),
                    v["at"].as_f64().unwrap(),
                )
            })
            .collect()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn crawl(data: &Path, site: &Site) -> String {
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(data)
        .args(["crawl", &format!("{}/", site.url), "--source", "ville"])
        .args(["--delay-ms", "0", "--timeout-secs", "2"]));
    assert!(o.status.success(), "{stdout}{stderr}");
    stdout
}

/// The stored documents: (URL, title).
fn documents(data: &Path) -> Vec<String> {
    let (o, stdout, stderr) = run(guichet().arg("--data-dir").arg(data).args(["docs", "list"]));
    assert!(o.status.success(), "{stderr}");
    stdout
        .lines()
        .filter_map(|l| {
            let url = l.rsplit_once('(')?.1.strip_suffix(')')?;
            Some(url.to_string())
        })
        .collect()
}

/// The best hit for `q`: (URL, text).
fn best_hit(data: &Path, q: &str) -> (String, String) {
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(data)
        .args(["search", q, "--json", "-k", "1"]));
    assert!(o.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let chunk = &v["hits"][0]["chunk"];
    (
        chunk["url"].as_str().unwrap_or_default().to_string(),
        chunk["text"].as_str().unwrap_or_default().to_string(),
    )
}

fn summary_has(stdout: &str, part: &str) -> bool {
    stdout.lines().next().is_some_and(|l| l.contains(part))
}

#[test]
fn issue_22_a_town_site_is_crawled_politely_and_a_recrawl_fetches_only_what_changed() {
    ensure_e5();
    let tmp = tempfile::tempdir().unwrap();
    let site = Site::start(tmp.path());
    let data = tmp.path().join("kb");
    let u = |p: &str| format!("{}{p}", site.url);

    let out = crawl(&data, &site);
    // Home, civil status (linked with a fragment, and again through a
    // redirect), the pool (only in the sitemap), news, the page that will
    // disappear, the linked PDF.
    assert!(summary_has(&out, "added 6,"), "{out}");
    assert!(summary_has(&out, "forbidden by robots.txt 1"), "{out}");
    let failed = |path: &str, why: &str| {
        out.lines()
            .any(|l| l.starts_with("failed") && l.contains(&u(path)) && l.contains(why))
    };
    assert!(failed("/erreur", "HTTP 500"), "{out}");
    assert!(failed("/lent", "délai dépassé"), "{out}");
    assert!(failed("/boucle-a", "boucle de redirections"), "{out}");
    let mut docs = documents(&data);
    docs.sort();
    let mut want = vec![
        u("/"),
        u("/a-disparaitre.html"),
        u("/actualites.html"),
        u("/demarches/etat-civil.html"),
        u("/docs/carte-ete-jeunes-2014.pdf"),
        u("/piscine.html"),
    ];
    want.sort();
    assert_eq!(docs, want);

    let served = site.requests();
    let paths: Vec<&str> = served.iter().map(|(p, _, _, _)| p.as_str()).collect();
    // robots.txt's Crawl-delay (0.3 s) spaces the requests, though the
    // command line asked for none.
    let mut arrivals: Vec<f64> = served.iter().map(|r| r.3).collect();
    arrivals.sort_by(f64::total_cmp);
    let closest = arrivals
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    assert!(
        closest >= 0.25,
        "two requests {closest:.3} s apart: {served:?}"
    );
    assert_eq!(
        paths.first(),
        Some(&"/robots.txt"),
        "robots.txt first: {paths:?}"
    );
    assert_eq!(paths.iter().filter(|p| **p == "/robots.txt").count(), 1);
    assert!(
        !paths.iter().any(|p| p.starts_with("/prive/")),
        "a folder robots.txt forbids is never fetched: {paths:?}"
    );
    assert!(
        !paths.contains(&"/images/logo.png"),
        "images are not fetched"
    );
    for page in ["/", "/demarches/etat-civil.html", "/piscine.html"] {
        assert_eq!(
            paths.iter().filter(|p| **p == page).count(),
            1,
            "{page} fetched once: {paths:?}"
        );
    }

    // Every page keeps its URL; the main content is kept, the menu, the
    // footer and the cookie banner are not.
    let (url, text) = best_hit(&data, "horaires du service état civil");
    assert_eq!(url, u("/demarches/etat-civil.html"));
    assert!(text.contains("8 h 30"), "{text}");
    let (url, text) = best_hit(&data, "tarif entrée piscine adulte");
    assert_eq!(url, u("/piscine.html"));
    assert!(text.contains("Entrée piscine adulte | 3,40 €"), "{text}");
    let (url, _) = best_hit(&data, "Carte Été Jeunes 2014 attributions à titre gratuit");
    assert_eq!(url, u("/docs/carte-ete-jeunes-2014.pdf"));
    for q in [
        "cookies traceurs audience",
        "mentions légales droits réservés",
    ] {
        let (_, text) = best_hit(&data, q);
        assert!(
            !text.contains("cookies") && !text.contains("Mentions légales"),
            "page furniture indexed: {text}"
        );
    }

    // The site changes: the news page is edited, a page is removed.
    let resp = Server::agent().post(u("/__phase/2")).send_empty().unwrap();
    assert_eq!(resp.status(), 200);
    site.requests();
    let out = crawl(&data, &site);
    assert!(
        summary_has(&out, "added 0, updated 1, unchanged 4, removed 1"),
        "{out}"
    );
    let served = site.requests();
    let not_modified: Vec<&str> = served
        .iter()
        .filter(|(_, s, inm, _)| *s == 304 && inm.is_some())
        .map(|(p, _, _, _)| p.as_str())
        .collect();
    for page in [
        "/",
        "/piscine.html",
        "/demarches/etat-civil.html",
        "/docs/carte-ete-jeunes-2014.pdf",
    ] {
        assert!(
            not_modified.contains(&page),
            "{page} asked with If-None-Match: {served:?}"
        );
    }
    assert!(!documents(&data).contains(&u("/a-disparaitre.html")));
    let (url, text) = best_hit(&data, "date du marché de Noël");
    assert_eq!(url, u("/actualites.html"));
    assert!(
        text.contains("19 décembre") && !text.contains("12 décembre"),
        "{text}"
    );

    // A backup keeps the crawled pages in the database without calling
    // each one a missing file.
    let archive = tmp.path().join("sauvegarde.tar.gz");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&data)
        .arg("backup")
        .arg("--out")
        .arg(&archive));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(!stdout.contains("not archived"), "{stdout}");
}

#[test]
fn issue_22_the_server_crawls_a_configured_source_and_cites_its_pages() {
    ensure_e5();
    let tmp = tempfile::tempdir().unwrap();
    let site = Site::start(tmp.path());
    let config = tmp.path().join("guichet.toml");
    std::fs::write(
        &config,
        format!(
            "[[sources]]\nname = \"ville\"\nstart = [\"{}/\"]\nevery_hours = 24\ndelay_ms = 0\ntimeout_secs = 2\n",
            site.url
        ),
    )
    .unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let server = Server::start(&empty, &[("GUICHET_CONFIG", config.to_str().unwrap())]);
    let want = format!("{}/piscine.html", site.url);
    let start = std::time::Instant::now();
    loop {
        let answer = server.ask("Combien coûte l'entrée adulte à la piscine ?", None);
        let cited = answer["sources"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["url"] == want.as_str()));
        if cited {
            assert!(
                answer["answer"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("3,40"),
                "{answer}"
            );
            break;
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "the scheduled crawl's page is not cited: {answer}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
