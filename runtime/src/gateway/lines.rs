//! Reading a backend's lines with a size limit: a line past it is skipped whole (the bytes
//! are not kept) and reported, and the next line reads normally.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// One line from a backend.
#[derive(Debug, PartialEq)]
pub(crate) enum Line {
    /// A line, without its `\n` (nor a `\r` before it).
    Text(String),
    /// A line over the limit, skipped; its length in bytes.
    TooLong(usize),
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Splits a byte stream into lines of at most `max` bytes.
pub(crate) struct LineReader<R> {
    inner: BufReader<R>,
    max: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner: BufReader::with_capacity(64 * 1024, inner),
            max,
        }
    }

    /// The next non-empty line; `None` at the end of the stream (a partial last line is
    /// dropped: the backend closed in the middle of it).
    pub(crate) async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut line = Vec::new();
        let mut length = 0usize;
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                return Ok(None);
            }
            let (taken, ends) = match available.iter().position(|&byte| byte == b'\n') {
                Some(end) => (end, true),
                None => (available.len(), false),
            };
            length += taken;
            if length <= self.max {
                line.extend_from_slice(&available[..taken]);
            } else if !line.is_empty() {
                line = Vec::new();
            }
            self.inner.consume(taken + usize::from(ends));
            if !ends {
                continue;
            }
            if length > self.max {
                return Ok(Some(Line::TooLong(length)));
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                line.clear();
                length = 0;
                continue;
            }
            return Ok(Some(match String::from_utf8(line) {
                Ok(text) => Line::Text(text),
                Err(_) => Line::NotUtf8,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_skipped_and_the_next_one_reads() {
        let mut input = Vec::new();
        input.extend_from_slice(b"first\r\n\n");
        input.extend(std::iter::repeat_n(b'x', 100_000));
        input.extend_from_slice(b"\nsecond\n\xff\xfe\nlast-without-newline");
        let mut reader = LineReader::new(&input[..], 1000);
        assert_eq!(
            reader.next_line().await.ok().flatten(),
            Some(Line::Text("first".into()))
        );
        assert_eq!(
            reader.next_line().await.ok().flatten(),
            Some(Line::TooLong(100_000))
        );
        assert_eq!(
            reader.next_line().await.ok().flatten(),
            Some(Line::Text("second".into()))
        );
        assert_eq!(reader.next_line().await.ok().flatten(), Some(Line::NotUtf8));
        assert_eq!(reader.next_line().await.ok().flatten(), None);
    }
}
