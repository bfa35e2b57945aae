//! The frames between the parent and a parse worker, over its stdin and
//! stdout. Length-prefixed binary, so that a file's bytes travel as they
//! are and the reader knows a frame's size before allocating it:
//!
//! - request: `u32` name length, the name (UTF-8), `u64` body length, the
//!   body (the file's bytes);
//! - reply: one tag byte ([`REPLY_DOCUMENT`] or [`REPLY_REFUSED`]), `u64`
//!   payload length, the payload: the document as JSON, or the loader's
//!   error message.
//!
//! All integers are little-endian.

use std::io::{self, Read, Write};

/// Reply tag: the payload is a `guichet_ingest::Document` in JSON.
pub const REPLY_DOCUMENT: u8 = 0;
/// Reply tag: the payload is the loader's error message (UTF-8).
pub const REPLY_REFUSED: u8 = 1;

/// The longest file name a request may carry, in bytes.
pub const MAX_NAME_BYTES: u32 = 4096;

/// One file to parse.
#[derive(Debug)]
pub struct Request {
    /// The file name.
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Writes a request and flushes.
pub fn write_request(out: &mut impl Write, name: &str, bytes: &[u8]) -> io::Result<()> {
    let name = truncate(name, MAX_NAME_BYTES as usize);
    out.write_all(&(name.len() as u32).to_le_bytes())?;
    out.write_all(name.as_bytes())?;
    out.write_all(&(bytes.len() as u64).to_le_bytes())?;
    out.write_all(bytes)?;
    out.flush()
}

/// Reads a request; `Ok(None)` at a clean end of input (the parent closed
/// the pipe: the worker's time is over). A body over `max_body` bytes is
/// an error: the parent never sends one, so the stream is not ours.
pub fn read_request(input: &mut impl Read, max_body: u64) -> io::Result<Option<Request>> {
    let mut len = [0u8; 4];
    if !read_or_end(input, &mut len)? {
        return Ok(None);
    }
    let name_len = u32::from_le_bytes(len);
    if name_len > MAX_NAME_BYTES {
        return Err(invalid("file name too long"));
    }
    let mut name = vec![0u8; name_len as usize];
    input.read_exact(&mut name)?;
    let name = String::from_utf8(name).map_err(|_| invalid("file name not UTF-8"))?;
    let mut len = [0u8; 8];
    input.read_exact(&mut len)?;
    let body_len = u64::from_le_bytes(len);
    if body_len > max_body {
        return Err(invalid("request larger than the file size limit"));
    }
    let mut bytes = Vec::new();
    input.take(body_len).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != body_len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
    }
    Ok(Some(Request { name, bytes }))
}

/// Writes a reply and flushes.
pub fn write_reply(out: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    out.write_all(&[tag])?;
    out.write_all(&(payload.len() as u64).to_le_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

/// What [`read_reply`] found.
#[derive(Debug)]
pub enum Reply {
    /// A whole frame.
    Frame {
        /// [`REPLY_DOCUMENT`] or [`REPLY_REFUSED`].
        tag: u8,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A frame announced larger than the limit (its payload left unread).
    TooLarge(u64),
}

/// Reads one reply; `Ok(None)` at the end of input (the worker is gone).
pub fn read_reply(input: &mut impl Read, max_payload: u64) -> io::Result<Option<Reply>> {
    let mut head = [0u8; 9];
    if !read_or_end(input, &mut head)? {
        return Ok(None);
    }
    let tag = head[0];
    let mut len = [0u8; 8];
    len.copy_from_slice(&head[1..]);
    let len = u64::from_le_bytes(len);
    if tag != REPLY_DOCUMENT && tag != REPLY_REFUSED {
        return Err(invalid("unknown reply tag"));
    }
    if len > max_payload {
        return Ok(Some(Reply::TooLarge(len)));
    }
    let mut payload = Vec::new();
    input.take(len).read_to_end(&mut payload)?;
    if payload.len() as u64 != len {
        return Ok(None);
    }
    Ok(Some(Reply::Frame { tag, payload }))
}

/// Fills `buf`; `false` when the input ended first (the other side closed
/// the pipe).
fn read_or_end(input: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    match input.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply_round_trip() {
        let mut buf = Vec::new();
        write_request(&mut buf, "délib.pdf", b"%PDF-1.4 ...").unwrap();
        write_request(&mut buf, "b.txt", b"").unwrap();
        let mut input = buf.as_slice();
        let r = read_request(&mut input, 1024).unwrap().unwrap();
        assert_eq!(
            (r.name.as_str(), r.bytes.as_slice()),
            ("délib.pdf", &b"%PDF-1.4 ..."[..])
        );
        let r = read_request(&mut input, 1024).unwrap().unwrap();
        assert_eq!((r.name.as_str(), r.bytes.len()), ("b.txt", 0));
        assert!(read_request(&mut input, 1024).unwrap().is_none());

        let mut buf = Vec::new();
        write_reply(&mut buf, REPLY_REFUSED, "vide".as_bytes()).unwrap();
        write_reply(&mut buf, REPLY_DOCUMENT, &[b'x'; 100]).unwrap();
        let mut input = buf.as_slice();
        match read_reply(&mut input, 50).unwrap() {
            Some(Reply::Frame { tag, payload }) => {
                assert_eq!((tag, payload.as_slice()), (REPLY_REFUSED, &b"vide"[..]))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_reply(&mut input, 50).unwrap(),
            Some(Reply::TooLarge(100))
        ));
    }

    #[test]
    fn oversized_or_truncated_requests_are_errors() {
        let mut buf = Vec::new();
        write_request(&mut buf, "a", &[0u8; 64]).unwrap();
        assert!(read_request(&mut buf.as_slice(), 63).is_err());
        buf.truncate(buf.len() - 1);
        assert!(read_request(&mut buf.as_slice(), 64).is_err());
        let long = "é".repeat(5000);
        let mut buf = Vec::new();
        write_request(&mut buf, &long, b"x").unwrap();
        let r = read_request(&mut buf.as_slice(), 1).unwrap().unwrap();
        assert!(r.name.len() <= MAX_NAME_BYTES as usize && r.name.starts_with('é'));
    }
}
