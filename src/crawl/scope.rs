//! Which URLs a crawl may fetch: the source's hosts, path prefixes and
//! exclusions, and how a link is turned into one URL per page (resolved,
//! fragment dropped), so that a page linked three ways is fetched once.

use url::Url;

use crate::settings::SourceSettings;
use crate::{Error, Result};

/// Extensions of files that are never documents: not fetched at all, so a
/// crawl does not download a town's photo gallery to throw it away.
const ASSETS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "webp", "svg", "ico", "bmp", "tif", "tiff", "avif", "css", "js",
    "mjs", "map", "json", "mp3", "mp4", "m4a", "ogg", "webm", "avi", "mov", "wav", "zip", "gz",
    "tgz", "rar", "7z", "exe", "msi", "dmg", "iso", "woff", "woff2", "ttf", "otf", "eot", "ics",
    "vcf", "xls", "xlsx", "ods", "ppt", "pptx", "odp", "csv", "rss", "atom", "kml", "gpx",
];

/// The URLs one source may fetch.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Lowercase host names, or `host:port` where a port was given.
    hosts: Vec<String>,
    paths: Vec<String>,
    exclude: Vec<String>,
}

impl Scope {
    /// The scope of `source`: its hosts, or its start URLs' hosts.
    pub fn of(source: &SourceSettings) -> Result<Self> {
        let mut hosts: Vec<String> = source
            .hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        if hosts.is_empty() {
            for start in &source.start {
                let u = Url::parse(start)
                    .map_err(|e| Error::Usage(format!("sources {}: {start}: {e}", source.name)))?;
                hosts.push(authority(&u));
            }
        }
        Ok(Self {
            hosts,
            paths: source.paths.clone(),
            exclude: source.exclude.clone(),
        })
    }

    /// Whether `u` is one of the source's pages.
    pub fn admits(&self, u: &Url) -> bool {
        let Some(host) = u.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let with_port = authority(u);
        let host_ok = self.hosts.iter().any(|h| *h == with_port || *h == host);
        let path = u.path();
        host_ok
            && (self.paths.is_empty() || self.paths.iter().any(|p| path.starts_with(p.as_str())))
            && !self.exclude.iter().any(|p| path.starts_with(p.as_str()))
    }
}

/// `host` or `host:port` (when the URL names a port other than its
/// scheme's default).
fn authority(u: &Url) -> String {
    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// `href` resolved against `base`, as the one URL of that page: http or
/// https only, no fragment, no credentials. `None` for `mailto:`, `tel:`,
/// `javascript:` and what does not parse.
pub fn resolve(base: &Url, href: &str) -> Option<Url> {
    let mut u = base.join(href.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return None;
    }
    u.set_fragment(None);
    if !u.username().is_empty() || u.password().is_some() {
        return None;
    }
    Some(u)
}

/// Whether the URL names a file that is never a document (by extension).
pub fn is_asset(u: &Url) -> bool {
    let last = u.path().rsplit('/').next().unwrap_or_default();
    last.rsplit_once('.')
        .is_some_and(|(_, ext)| ASSETS.contains(&ext.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(start: &str) -> SourceSettings {
        SourceSettings {
            name: "site".into(),
            start: vec![start.into()],
            exclude: vec!["/prive/".into()],
            ..SourceSettings::default()
        }
    }

    #[test]
    fn links_become_one_url_per_page() -> Result<()> {
        let base = Url::parse("http://127.0.0.1:8080/demarches/index.html")
            .map_err(|e| Error::Usage(e.to_string()))?;
        let a = resolve(&base, "etat-civil.html#horaires").map(|u| u.to_string());
        assert_eq!(
            a.as_deref(),
            Some("http://127.0.0.1:8080/demarches/etat-civil.html")
        );
        assert!(resolve(&base, "mailto:mairie@ville.fr").is_none());
        assert!(resolve(&base, "javascript:void(0)").is_none());
        assert!(resolve(&base, "http://user:pw@127.0.0.1:8080/").is_none());
        let scope = Scope::of(&source("http://127.0.0.1:8080/"))?;
        let admits = |href: &str| resolve(&base, href).is_some_and(|u| scope.admits(&u));
        assert!(admits("/a.html"));
        assert!(!admits("/prive/b.html"), "excluded prefix");
        assert!(
            !admits("http://127.0.0.1:9090/a.html"),
            "another port is another site"
        );
        assert!(!admits("https://www.example.org/"), "another host");
        assert!(resolve(&base, "/images/logo.PNG").is_some_and(|u| is_asset(&u)));
        assert!(!resolve(&base, "/docs/tarifs.pdf").is_some_and(|u| is_asset(&u)));
        Ok(())
    }
}
