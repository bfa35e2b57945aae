//! Issue 21: Guichet behind Debian's nginx, configured with the shipped
//! `deploy/nginx/guichet-locations.conf`: a streamed answer arrives event
//! by event, each citizen has their own rate limit, and forwarding headers
//! are believed only from the trusted proxy. Also what a proxy in front
//! relies on: the `Bearer` scheme in any case, and an upload announced
//! larger than the limit refused before its body is read.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{free_port, service_kb, Server};

/// Debian's nginx on 127.0.0.1, its files in a temporary folder, serving
/// the shipped locations on `port`.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: &str) -> Self {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect(
                "nginx is needed for the reverse-proxy tests (Debian: apt install nginx-light)",
            );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let locations =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx/guichet-locations.conf");
        let port = free_port();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream guichet {{ server {upstream}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        include {locations};
    }}
}}
"#,
            locations = locations.display()
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as it arrived: status, body, and when each SSE event came.
struct Arrived {
    status: u16,
    body: String,
    events: Vec<(String, Duration)>,
}

/// `POST path` with a JSON body, sent from the loopback address `from` (a
/// citizen of its own) to `to`, in HTTP/1.0 so that the body comes
/// unchunked and ends with the connection; read as it arrives.
fn post_from(from: &str, to: u16, path: &str, body: &str, extra: &[(&str, &str)]) -> Arrived {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let source: SocketAddr = SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0);
    socket.bind(&source.into()).unwrap();
    let target: SocketAddr = SocketAddr::from(([127, 0, 0, 1], to));
    socket.connect(&target.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let headers: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    let sent = Instant::now();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut events = Vec::new();
    let mut scanned = 0;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        while let Some(end) = text[scanned..].find('\n') {
            let line = &text[scanned..scanned + end];
            if let Some(name) = line.strip_prefix("event: ") {
                events.push((name.trim().to_string(), sent.elapsed()));
            }
            scanned += end + 1;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    Arrived {
        status,
        body,
        events,
    }
}

/// Time from the first event to `done`: how long the citizen watched the
/// answer arrive instead of waiting for all of it.
fn spread(a: &Arrived) -> Duration {
    let first = a.events.first().map(|e| e.1).unwrap();
    let done = a
        .events
        .iter()
        .find(|e| e.0 == "done")
        .map(|e| e.1)
        .unwrap_or_else(|| panic!("no done event: {}", a.body));
    done - first
}

#[test]
fn behind_nginx_answers_stream_and_each_citizen_has_their_own_limit() {
    let server = Server::start(
        &service_kb(),
        &[
            ("GUICHET_ANSWER_MODE", "generative"),
            ("GUICHET_SERVER_TRUSTED_PROXIES", r#"["127.0.0.1"]"#),
            ("GUICHET_LIMITS_RATE_PER_MINUTE", "3"),
        ],
    );
    let upstream = server.url.trim_start_matches("http://").to_string();
    let guichet_port: u16 = upstream.rsplit(':').next().unwrap().parse().unwrap();
    let nginx = Nginx::start(&upstream);

    // (a) A generated answer through the proxy arrives event by event:
    // its sources while the model is still writing, long before `done`.
    let question = r#"{"message": "Quel est le prix de la cantine en maternelle ?"}"#;
    let streamed = post_from("127.0.0.10", nginx.port, "/api/chat", question, &[]);
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert_eq!(
        streamed.events.first().map(|e| e.0.as_str()),
        Some("sources")
    );
    assert!(
        spread(&streamed) >= Duration::from_millis(300),
        "the whole answer arrived within {:?}: {:?}",
        spread(&streamed),
        streamed.events
    );

    // (b) Two citizens behind the same proxy have separate limits.
    let hello = r#"{"message": "Bonjour ?", "stream": false}"#;
    let ask = |from: &str, port: u16, extra: &[(&str, &str)]| {
        post_from(from, port, "/api/chat", hello, extra).status
    };
    let first: Vec<u16> = (0..4).map(|_| ask("127.0.0.2", nginx.port, &[])).collect();
    assert_eq!(first, [200, 200, 200, 429]);
    assert_eq!(ask("127.0.0.3", nginx.port, &[]), 200);

    // (c) A forwarding header is believed only from the trusted proxy:
    // sent straight to Guichet by another peer, or written by a citizen
    // before nginx appends the real address, it changes nothing.
    let spoof = [("X-Forwarded-For", "127.0.0.2")];
    assert_eq!(ask("127.0.0.4", guichet_port, &spoof), 200);
    assert_eq!(ask("127.0.0.5", nginx.port, &spoof), 200);
    // And the exhausted citizen is still limited, whatever they claim.
    let claim = [("X-Forwarded-For", "198.51.100.1")];
    assert_eq!(ask("127.0.0.2", nginx.port, &claim), 429);
}

#[test]
fn tokens_are_read_case_insensitively_and_an_oversized_upload_is_refused_before_its_body() {
    let server = Server::start(&service_kb(), &[]);
    let admin = super::support::token(&server, "root", "admin");
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let request = |head: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // Read until the response head and some body are in, or the end.
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&out).contains("\r\n\r\n{") {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    // RFC 7235: the scheme is case-insensitive.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = request(&format!(
            "GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: {scheme} {admin}\r\nConnection: close\r\n\r\n"
        ));
        assert!(r.starts_with("HTTP/1.1 200"), "{scheme}: {r}");
    }
    // 2 GB announced, not one byte sent: the 413 comes at once.
    let start = Instant::now();
    let r = request(&format!(
        "POST /api/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 2000000000\r\n\r\n"
    ));
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert!(r.contains("too_large"), "{r}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// GET `url` (any server): status and body (0 when refused).
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = Server::agent().get(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    // Refused while the server is still starting: status 0.
    match req.call() {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    }
}

#[test]
fn a_real_prometheus_scrapes_the_metrics_with_their_token() {
    let bin = PathBuf::from("/usr/bin/prometheus");
    assert!(
        bin.exists(),
        "prometheus is needed for the monitoring test (Debian: apt install prometheus)"
    );
    let server = Server::start(&service_kb(), &[("GUICHET_SERVER_METRICS_TOKEN", "s3cret")]);
    let r = server.ask("Combien coûte une carte d'identité ?", None);
    assert!(r["status"].is_string(), "{r}");

    // Restricted, and in the OpenMetrics conventions.
    let url = format!("{}/metrics", server.url);
    assert_eq!(get(&url, None).0, 401);
    assert_eq!(get(&url, Some("wrong")).0, 401);
    let (status, text) = get(&url, Some("s3cret"));
    assert_eq!(status, 200);
    for family in [
        "guichet_answers",
        "guichet_answer_duration_seconds",
        "guichet_retrieval_duration_seconds",
        "guichet_build",
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "process_open_fds",
        "guichet_index_chunks",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} "))
                && text.contains(&format!("# HELP {family} ")),
            "{family} lacks its TYPE or HELP:\n{text}"
        );
    }
    assert!(!text.contains("_ms"), "units are base units:\n{text}");
    assert!(text.trim_end().ends_with("# EOF"));

    // Debian's prometheus scrapes it every second with the token.
    let dir = tempfile::tempdir().unwrap();
    let target = server.url.trim_start_matches("http://");
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: guichet\n    authorization:\n      credentials: s3cret\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let mut prometheus = Command::new(&bin)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let query = |q: &str| -> Vec<serde_json::Value> {
        let (s, body) = get(
            &format!(
                "http://127.0.0.1:{port}/api/v1/query?query={}",
                q.replace('{', "%7B")
                    .replace('}', "%7D")
                    .replace('"', "%22")
                    .replace('=', "%3D")
            ),
            None,
        );
        if s != 200 {
            return Vec::new();
        }
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    };
    let value = |r: &serde_json::Value| -> f64 { r["value"][1].as_str().unwrap().parse().unwrap() };
    let start = Instant::now();
    let up = loop {
        let r = query(r#"up{job="guichet"}"#);
        if let Some(x) = r.first() {
            if value(x) == 1.0 {
                break true;
            }
        }
        if start.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // Every query of the shipped Grafana dashboard is valid PromQL on
    // these metrics, and names families the service exports (those of
    // notices and generation appear only when they are on).
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/guichet-dashboard.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let family = regex::Regex::new(r"\b(?:guichet|process)_[a-z_]+").unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$job", "guichet")
                .replace("$__rate_interval", "1m");
            let encoded: String = expr
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let (status, body) = get(
                &format!("http://127.0.0.1:{port}/api/v1/query?query={encoded}"),
                None,
            );
            assert!(
                status == 200 && body.contains("\"status\":\"success\""),
                "{}: {expr} -> {status} {body}",
                panel["title"]
            );
            for name in family.find_iter(&expr) {
                let name = name.as_str();
                // Labelled counters (refusals by reason) have no sample
                // before their first event.
                assert!(
                    text.contains(name)
                        || name.starts_with("guichet_notices_")
                        || name.starts_with("guichet_generat")
                        || name == "guichet_rejected_total",
                    "{}: {name} is not exported",
                    panel["title"]
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked} queries");
    let answers = query("sum(guichet_answers_total)");
    let memory = query("process_resident_memory_bytes");
    let build = query("guichet_build_info");
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert!(up, "prometheus never saw the target up");
    assert!(
        answers.first().is_some_and(|a| value(a) >= 1.0),
        "{answers:?}"
    );
    assert!(memory.first().is_some_and(|m| value(m) > 1e6), "{memory:?}");
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(build[0]["metric"]["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_shipped_systemd_unit_verifies_and_is_confined() {
    let unit = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/guichet.service"),
    )
    .unwrap();
    // The unit as installed, pointing at this build's binary.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guichet.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/guichet", env!("CARGO_BIN_EXE_guichet")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze is needed for the unit test (Debian: apt install systemd)");
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // systemd's own measure of what the service can reach: "OK" is under 4.
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let exposure: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for guichet.service:").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(exposure <= 3.0, "exposure {exposure}:\n{text}");
}

/// Runs `program args`, failing the test with its output unless it works;
/// its stdout.
fn succeed(program: &str, args: &[&std::ffi::OsStr]) -> String {
    let o = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        o.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_debian_package_holds_the_binary_the_unit_and_the_configuration() {
    // cargo-deb packages this build's binary as it is (`.ci/run` installs
    // cargo-deb; a release package is `cargo deb`).
    let out = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new(env!("CARGO"))
        .args([
            "deb",
            "--no-build",
            "--profile",
            "dev",
            "--no-strip",
            "--no-dbgsym",
            "--fast",
            "-q",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("-o")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cargo deb (cargo install --locked cargo-deb): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let deb = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");
    let deb = deb.as_os_str();
    let fields = succeed(
        "dpkg-deb",
        &[
            "-f".as_ref(),
            deb,
            "Package".as_ref(),
            "Depends".as_ref(),
            "Recommends".as_ref(),
        ],
    );
    assert!(fields.contains("Package: guichet"), "{fields}");
    assert!(fields.contains("libc6"), "{fields}");
    assert!(fields.contains("python3-pip"), "{fields}");
    // The files, with the secrets file readable by root only.
    let listing = succeed("dpkg-deb", &["-c".as_ref(), deb]);
    for (mode, path) in [
        ("-rwxr-xr-x", "./usr/bin/guichet"),
        ("-rw-r--r--", "./usr/lib/systemd/system/guichet.service"),
        ("-rw-r--r--", "./etc/guichet/guichet.toml"),
        ("-rw-------", "./etc/guichet/secrets.env"),
        ("-rw-r--r--", "./usr/share/doc/guichet/guichet.example.toml"),
        (
            "-rw-r--r--",
            "./usr/share/doc/guichet/nginx/guichet-site.conf",
        ),
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(mode) && l.ends_with(path)),
            "{mode} {path} in:\n{listing}"
        );
    }
    // The configuration survives upgrades (conffiles); the scripts reload
    // systemd and restart a running service on upgrade.
    let control = tempfile::tempdir().unwrap();
    succeed(
        "dpkg-deb",
        &["-e".as_ref(), deb, control.path().as_os_str()],
    );
    let conffiles = std::fs::read_to_string(control.path().join("conffiles")).unwrap();
    assert!(
        conffiles.contains("/etc/guichet/guichet.toml"),
        "{conffiles}"
    );
    assert!(
        conffiles.contains("/etc/guichet/secrets.env"),
        "{conffiles}"
    );
    let postinst = std::fs::read_to_string(control.path().join("postinst")).unwrap();
    assert!(
        postinst.contains("daemon-reload") && postinst.contains("try-restart guichet.service"),
        "{postinst}"
    );
    // Unpacked: the unit is the shipped one, it verifies against the
    // packaged binary, and the packaged configuration loads.
    let tree = tempfile::tempdir().unwrap();
    succeed("dpkg-deb", &["-x".as_ref(), deb, tree.path().as_os_str()]);
    let unit = std::fs::read_to_string(tree.path().join("usr/lib/systemd/system/guichet.service"))
        .unwrap();
    assert_eq!(
        unit,
        std::fs::read_to_string(root.join("deploy/guichet.service")).unwrap()
    );
    let binary = tree.path().join("usr/bin/guichet");
    let verify = tree.path().join("guichet.service");
    std::fs::write(
        &verify,
        unit.replace("/usr/bin/guichet", &binary.display().to_string()),
    )
    .unwrap();
    let said = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&verify)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&said.stderr).into_owned();
    assert!(said.status.success() && text.trim().is_empty(), "{text}");
    let data = tempfile::tempdir().unwrap();
    let o = Command::new(&binary)
        .arg("--config")
        .arg(tree.path().join("etc/guichet/guichet.toml"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["users", "list"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn logs_have_one_line_per_request_in_text_or_json_without_questions_or_colours() {
    let question = "Quels sont les horaires de la piscine Zorglub ?";
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("serve.log");
        let file = std::fs::File::create(&log).unwrap();
        let server = Server::start_logging(
            &service_kb(),
            &[("GUICHET_LOG_FORMAT", format), ("RUST_LOG", "info")],
            Stdio::from(file),
        );
        server.ask(question, None);
        let (status, _) = server.get("/api/documents/12?jeton=secret");
        assert_eq!(status, 401);
        drop(server);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            !text.contains('\u{1b}'),
            "{format}: colour codes in a file:\n{text}"
        );
        assert!(
            !text.contains("Zorglub"),
            "{format}: the question was logged:\n{text}"
        );
        assert!(
            !text.contains("jeton=secret"),
            "{format}: a query string was logged:\n{text}"
        );
        let requests: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("finished processing request"))
            .collect();
        let find = |route: &str, status: &str| {
            requests
                .iter()
                .find(|l| l.contains(route) && l.contains(status))
                .unwrap_or_else(|| panic!("{format}: no {route} {status} line in:\n{text}"))
                .to_string()
        };
        match format {
            "json" => {
                for l in text.lines().filter(|l| !l.trim().is_empty()) {
                    serde_json::from_str::<serde_json::Value>(l)
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
                }
                let chat: serde_json::Value =
                    serde_json::from_str(&find("\"/api/chat\"", "200")).unwrap();
                assert_eq!(chat["level"], "INFO", "{chat}");
                assert_eq!(chat["span"]["method"], "POST", "{chat}");
                assert_eq!(chat["status"], 200, "{chat}");
                assert!(chat["latency"].as_str().unwrap().ends_with("ms"), "{chat}");
                let doc: serde_json::Value =
                    serde_json::from_str(&find("/api/documents/{id}", "401")).unwrap();
                assert_eq!(doc["span"]["method"], "GET", "{doc}");
            }
            _ => {
                let chat = find("route=/api/chat", "status=200");
                assert!(
                    chat.contains("INFO") && chat.contains("method=POST"),
                    "{chat}"
                );
                find("route=/api/documents/{id}", "status=401");
            }
        }
    }
}
