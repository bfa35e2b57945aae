//! OCR of PDF pages that have no text layer (scanned deliberations,
//! arrêtés, old minutes), with Poppler's `pdftoppm` and Tesseract.
//!
//! Both run as child processes connected by pipes only: the PDF goes to
//! `pdftoppm`'s stdin, one page comes out as a grey PNG on its stdout,
//! which goes to `tesseract stdin stdout … tsv`; nothing is written to
//! disk, so OCR works inside the confined parse worker (no file may be
//! written there, and the children inherit its memory and CPU limits).
//! Tesseract's TSV gives each word with its confidence: the page's text is
//! rebuilt line by line (blocks and paragraphs kept apart) and its mean
//! word confidence reported.
//!
//! The programs are found on `PATH` at run time; without them (or without
//! the French language data) OCR is unavailable and the caller says how
//! to install them.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// Whether and how scanned pages are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OcrOptions {
    /// Read pages without text by OCR when Tesseract is installed.
    pub enabled: bool,
    /// Most pages of one PDF read by OCR (each takes seconds).
    pub max_pages: usize,
    /// Resolution the pages are rendered at (300: Tesseract's best).
    pub dpi: u32,
    /// Tesseract's language data (`fra`; `fra+eng`…).
    pub language: String,
}

impl Default for OcrOptions {
    fn default() -> Self {
        Self {
            enabled: false,
            max_pages: 50,
            dpi: 300,
            language: "fra".into(),
        }
    }
}

/// One page read by OCR.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrPage {
    /// The page's lines, paragraphs separated by an empty line.
    pub lines: Vec<String>,
    /// Mean confidence of its words, 0 to 100.
    pub confidence: f64,
    /// Words recognised.
    pub words: usize,
}

/// Why OCR is not available here, in French, or `None` when `pdftoppm`
/// and `tesseract` with `language` are installed.
pub fn unavailable(language: &str) -> Option<String> {
    let install = "installez Tesseract et Poppler (Debian : apt install tesseract-ocr tesseract-ocr-fra poppler-utils)";
    let runs = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .ok()
    };
    if runs("pdftoppm", "-v").is_none() {
        return Some(format!("pdftoppm est absent : {install}"));
    }
    let Some(langs) = runs("tesseract", "--list-langs") else {
        return Some(format!("tesseract est absent : {install}"));
    };
    let listed = String::from_utf8_lossy(&langs.stdout).into_owned()
        + &String::from_utf8_lossy(&langs.stderr);
    let missing: Vec<&str> = language
        .split('+')
        .filter(|l| !listed.lines().any(|x| x.trim() == *l))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "Tesseract n'a pas la langue {} : {install}",
            missing.join(", ")
        ));
    }
    None
}

/// Runs `program args` with `input` on its stdin; its stdout, at most
/// `limit` bytes. The input is written from another thread so that a
/// child filling its stdout never waits on us.
fn pipe(program: &str, args: &[&str], input: Vec<u8>, limit: u64) -> Result<Vec<u8>, String> {
    let mut child = Command::new(program)
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program} : {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || {
        // A child that stops reading (bad input) closes the pipe: fine.
        let _ = stdin.write_all(&input);
    });
    let mut out = Vec::new();
    let read = child
        .stdout
        .take()
        .ok_or("no stdout")?
        .take(limit + 1)
        .read_to_end(&mut out);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.by_ref().take(4096).read_to_string(&mut err);
    }
    let status = child.wait().map_err(|e| format!("{program} : {e}"))?;
    let _ = writer.join();
    read.map_err(|e| format!("{program} : {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("{program} : sortie de plus de {limit} octets"));
    }
    if !status.success() {
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("{program} a échoué ({status}) {first}")
            .trim()
            .to_string());
    }
    Ok(out)
}

/// Reads page `page` (1-based) of `pdf` by OCR.
pub fn recognise(pdf: &[u8], page: u32, opts: &OcrOptions) -> Result<OcrPage, String> {
    let p = page.to_string();
    let dpi = opts.dpi.clamp(72, 600).to_string();
    // A grey A4 page at 300 dpi is about 9 MB of pixels; PNG is smaller.
    let png = pipe(
        "pdftoppm",
        &[
            "-r",
            &dpi,
            "-gray",
            "-png",
            "-f",
            &p,
            "-l",
            &p,
            "-singlefile",
            "-",
        ],
        pdf.to_vec(),
        256 * 1024 * 1024,
    )?;
    if png.is_empty() {
        return Err(format!("pdftoppm n'a rendu aucune image de la page {page}"));
    }
    let tsv = pipe(
        "tesseract",
        &["stdin", "stdout", "-l", &opts.language, "--psm", "3", "tsv"],
        png,
        64 * 1024 * 1024,
    )?;
    Ok(parse_tsv(&String::from_utf8_lossy(&tsv)))
}

/// The text and confidence of Tesseract's TSV output: one line per
/// (block, paragraph, line), an empty line between paragraphs.
pub fn parse_tsv(tsv: &str) -> OcrPage {
    let mut lines: Vec<String> = Vec::new();
    let mut key = None;
    let mut paragraph = None;
    let (mut sum, mut words) = (0.0, 0usize);
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let word = cols[11].trim();
        let conf: f64 = cols[10].trim().parse().unwrap_or(-1.0);
        if word.is_empty() || conf < 0.0 {
            continue;
        }
        let this_par = (cols[2], cols[3]);
        let this_line = (cols[2], cols[3], cols[4]);
        if key != Some(this_line) {
            if paragraph.is_some() && paragraph != Some(this_par) {
                lines.push(String::new());
            }
            lines.push(String::new());
            key = Some(this_line);
            paragraph = Some(this_par);
        }
        if let Some(last) = lines.last_mut() {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
        sum += conf;
        words += 1;
    }
    OcrPage {
        lines,
        confidence: if words == 0 { 0.0 } else { sum / words as f64 },
        words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_become_lines_and_paragraphs_with_their_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t
5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t96.0\tConseil
5\t1\t1\t1\t1\t2\t70\t10\t50\t20\t90.0\tmunicipal
5\t1\t1\t1\t2\t1\t10\t40\t50\t20\t80.0\tséance
5\t1\t1\t2\t1\t1\t10\t90\t50\t20\t70.0\tDélibération
5\t1\t1\t2\t1\t2\t70\t90\t50\t20\t-1\t
";
        let p = parse_tsv(tsv);
        assert_eq!(p.lines, ["Conseil municipal", "séance", "", "Délibération"]);
        assert_eq!(p.words, 4);
        assert!((p.confidence - 84.0).abs() < 1e-9, "{}", p.confidence);
        assert_eq!(parse_tsv("").words, 0);
    }
}
