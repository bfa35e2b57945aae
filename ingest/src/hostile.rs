//! Builders of hostile and broken files, for the tests and benchmarks that
//! check that no file can take ingestion down (here, in the parse workers
//! of the root crate and in `guichet serve`). Each builder makes its file
//! in memory from a few parameters, so no test ships megabytes of
//! fixtures and every size can be scaled.

use std::io::Write;

/// A PDF made of `objects` (numbered from 1, the first one the catalog),
/// with a correct cross-reference table.
pub fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A stream object: its dictionary entries (besides `/Length`) and data.
fn stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut s = format!("<< /Length {}{extra} >>\nstream\n", data.len()).into_bytes();
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

/// The five objects of a PDF with one page per text of `pages`, in
/// Helvetica, with `resources` as the pages' resources dictionary and
/// `extra` objects after them.
fn pages_pdf(pages: &[&str], resources: &[u8], extra: Vec<Vec<u8>>) -> Vec<u8> {
    let n = pages.len();
    // 1 catalog, 2 page tree, 3 font, then (page, content) pairs.
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    for (i, text) in pages.iter().enumerate() {
        let mut page = format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R /Resources ",
            5 + 2 * i
        )
        .into_bytes();
        page.extend_from_slice(resources);
        page.extend_from_slice(b" >>");
        objects.push(page);
        let escaped = text
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        let content = format!("BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET");
        objects.push(stream("", content.as_bytes()));
    }
    objects.extend(extra);
    pdf(&objects)
}

/// The resources of [`text_pdf`]'s pages.
const FONT_RESOURCES: &[u8] = b"<< /Font << /F1 3 0 R >> >>";

/// A valid PDF with one page of ASCII text per item of `pages`.
pub fn text_pdf(pages: &[&str]) -> Vec<u8> {
    pages_pdf(pages, FONT_RESOURCES, Vec::new())
}

/// A valid one-page PDF plus an object of `depth` nested arrays: lopdf's
/// parser recurses once per level.
pub fn nested_arrays_pdf(depth: usize) -> Vec<u8> {
    let mut deep = "[".repeat(depth).into_bytes();
    deep.extend(std::iter::repeat_n(b']', depth));
    pages_pdf(
        &["Horaires de la mairie : du lundi au vendredi."],
        FONT_RESOURCES,
        vec![deep],
    )
}

/// A one-page PDF whose page resources hold `depth` nested dictionaries.
pub fn nested_dictionaries_pdf(depth: usize) -> Vec<u8> {
    let mut resources = b"<< /Font << /F1 3 0 R >> /X ".to_vec();
    resources.extend("<< /A ".repeat(depth).bytes());
    resources.extend(">> ".repeat(depth).bytes());
    resources.extend_from_slice(b">>");
    pages_pdf(
        &["Horaires de la mairie : du lundi au vendredi."],
        &resources,
        Vec::new(),
    )
}

/// A one-page PDF whose content stream is deflate-compressed and
/// inflates to `inflated` bytes of text operators (a 1 GiB one is about
/// 1.5 MB on disk).
pub fn inflation_bomb_pdf(inflated: usize) -> Vec<u8> {
    let block = b"0 0 Td ".repeat(1 << 14);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let mut left = inflated;
    while left > 0 {
        let n = left.min(block.len());
        // Writing into a Vec cannot fail.
        let _ = z.write_all(&block[..n]);
        left -= n;
    }
    let data = z.finish().unwrap_or_default();
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >> >>".to_vec(),
        stream(" /Filter /FlateDecode", &data),
    ];
    pdf(&objects)
}

/// Text that is one word of `bytes` letters: no space, no sentence end.
pub fn one_word_text(bytes: usize) -> Vec<u8> {
    b"anticonstitutionnellement"
        .iter()
        .copied()
        .cycle()
        .take(bytes)
        .collect()
}

/// About `bytes` of real-looking French prose, in paragraphs.
pub fn long_text(bytes: usize) -> Vec<u8> {
    let sentence = "La mairie est ouverte du lundi au vendredi de 8 h 30 à 17 h 30, et le samedi matin sur rendez-vous. ";
    let paragraph = format!("{}\n\n", sentence.repeat(8));
    paragraph.bytes().cycle().take(bytes).collect()
}

/// One line of `bytes` of words, without a sentence end or a line break.
pub fn long_line(bytes: usize) -> Vec<u8> {
    b"dossier de demande de subvention municipale "
        .iter()
        .copied()
        .cycle()
        .take(bytes)
        .collect()
}

/// Text of `bytes` made of periods between letters, never followed by a
/// capital (`a.b.c.d. e.f.`): one endless sentence in which every period
/// asks whether the word before it is an abbreviation.
pub fn dotted_text(bytes: usize) -> Vec<u8> {
    b"a.b.c.d.e.f.g.h. "
        .iter()
        .copied()
        .cycle()
        .take(bytes)
        .collect()
}
