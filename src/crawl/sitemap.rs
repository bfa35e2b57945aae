//! `sitemap.xml` files (sitemaps.org 0.9): a `<urlset>` lists pages, a
//! `<sitemapindex>` lists further sitemaps; either may be gzipped. A town's
//! CMS writes one, and it lists pages no menu links to.

use std::io::Read;

/// The most entries read from one sitemap (the protocol's own limit).
pub const MAX_ENTRIES: usize = 50_000;

/// The most bytes of one sitemap, uncompressed (the protocol's limit).
pub const MAX_BYTES: u64 = 50 * 1024 * 1024;

/// What one sitemap lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sitemap {
    /// Pages (`<url><loc>`).
    pub pages: Vec<String>,
    /// Further sitemaps (`<sitemap><loc>`).
    pub sitemaps: Vec<String>,
}

/// Reads a sitemap, gunzipping it first when it is gzipped; an error says
/// why it could not be read.
pub fn parse(bytes: &[u8]) -> Result<Sitemap, String> {
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip : {e}"))?;
        if out.len() as u64 > MAX_BYTES {
            return Err("plan du site de plus de 50 Mo".into());
        }
        String::from_utf8_lossy(&out).into_owned()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    };
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("XML : {e}"))?;
    let mut out = Sitemap::default();
    for node in doc.descendants().filter(|n| n.has_tag_name("loc")) {
        if out.pages.len() + out.sitemaps.len() >= MAX_ENTRIES {
            break;
        }
        let Some(loc) = node.text().map(str::trim).filter(|l| !l.is_empty()) else {
            continue;
        };
        match node.parent_element().map(|p| p.tag_name().name()) {
            Some("url") => out.pages.push(loc.to_string()),
            Some("sitemap") => out.sitemaps.push(loc.to_string()),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_nested_sitemaps_are_told_apart() {
        let set = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> https://www.ville.fr/ </loc><lastmod>2026-11-02</lastmod></url>
  <url><loc>https://www.ville.fr/demarches/etat-civil</loc></url>
  <url><loc></loc></url>
</urlset>"#;
        let s = parse(set.as_bytes()).expect("a valid sitemap");
        assert_eq!(
            s.pages,
            [
                "https://www.ville.fr/",
                "https://www.ville.fr/demarches/etat-civil"
            ]
        );
        assert!(s.sitemaps.is_empty());
        let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.ville.fr/sitemap-pages.xml.gz</loc></sitemap>
</sitemapindex>"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, index.as_bytes()).expect("gzip in memory");
        let s = parse(&gz.finish().expect("gzip in memory")).expect("a gzipped index");
        assert_eq!(s.sitemaps, ["https://www.ville.fr/sitemap-pages.xml.gz"]);
        assert!(parse(b"<html><body>404</body>").is_err());
    }
}
