//! Prints what `guichet-ingest` makes of files: the document (title, URL,
//! date, metadata, sections and blocks) and, with `--chunks`, its chunks
//! sized with a word count; with `--text`, only its plain text. A tool for
//! looking at real files:
//!
//! ```sh
//! cargo run -p guichet-ingest --example dump -- [--chunks | --text] FILE...
//! ```

use std::path::Path;

use guichet_ingest::{chunk, load_file, ChunkOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let chunks = args.iter().any(|a| a == "--chunks");
    let text = args.iter().any(|a| a == "--text");
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        match load_file(Path::new(path)) {
            Err(e) => println!("ERROR {e}"),
            Ok(doc) if text => print!("{}", doc.plain_text()),
            Ok(doc) => {
                println!(
                    "# {} [{}] url={:?} date={:?}",
                    doc.title, doc.format, doc.url, doc.date
                );
                for (k, v) in &doc.metadata {
                    println!("  {k} = {v}");
                }
                if chunks {
                    let words = |s: &str| s.split_whitespace().count();
                    for c in chunk(&doc, &ChunkOptions::default(), &words) {
                        println!(
                            "--- chunk {} pages {:?}-{:?} words {}\n{}",
                            c.ordinal,
                            c.page_start,
                            c.page_end,
                            words(&c.text),
                            c.text
                        );
                    }
                } else {
                    for s in &doc.sections {
                        println!("## {:?} page {:?}", s.path, s.page);
                        for b in &s.blocks {
                            println!("  {b:?}");
                        }
                    }
                }
            }
        }
    }
}
