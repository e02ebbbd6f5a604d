//! What an SSH client is shown of a TTY terminal's output: the wrapper's
//! exit marker (`terminal::EXIT_MARKER_START`) taken out, the exit status
//! it carries kept. Pure, so the byte handling (a marker split across
//! chunks, something that only looks like one) is tested without a
//! container. A command on pipes has no wrapper: its output passes as it is.

use crate::terminal::EXIT_MARKER_START;
/// Longest exit marker: the start, up to ten digits, BEL.
const EXIT_MARKER_MAX: usize = 32;

#[derive(Debug, Default)]
pub(crate) struct OutputFilter {
    pending: Vec<u8>,
    exit_status: Option<u32>,
}

impl OutputFilter {
    pub fn new() -> OutputFilter {
        OutputFilter::default()
    }

    /// The program's exit status, once its marker was seen.
    pub fn exit_status(&self) -> Option<u32> {
        self.exit_status
    }

    /// The bytes of `chunk` (and of earlier ones held back) to show now.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut shown = Vec::with_capacity(self.pending.len());
        loop {
            let Some(start) = find(&self.pending, EXIT_MARKER_START) else {
                // Hold back a tail that may be the start of a marker.
                let keep = partial_prefix_len(&self.pending, EXIT_MARKER_START);
                let cut = self.pending.len() - keep;
                shown.extend(self.pending.drain(..cut));
                return shown;
            };
            shown.extend(self.pending.drain(..start));
            let after = &self.pending[EXIT_MARKER_START.len()..];
            match after.iter().position(|&byte| byte == 0x07) {
                Some(end) => {
                    let status = std::str::from_utf8(&after[..end])
                        .ok()
                        .and_then(|digits| digits.parse::<u32>().ok());
                    match status {
                        Some(status) => {
                            self.exit_status = Some(status);
                            self.pending.drain(..EXIT_MARKER_START.len() + end + 1);
                        }
                        // Not ours: shown as it is.
                        None => shown.extend(self.pending.drain(..EXIT_MARKER_START.len())),
                    }
                }
                None if self.pending.len() < EXIT_MARKER_MAX => return shown,
                None => shown.extend(self.pending.drain(..EXIT_MARKER_START.len())),
            }
        }
    }

    /// What is still held back, at the end.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The length of the longest tail of `bytes` that is a proper prefix of `marker`.
fn partial_prefix_len(bytes: &[u8], marker: &[u8]) -> usize {
    (1..marker.len().min(bytes.len() + 1))
        .rev()
        .find(|&length| bytes.ends_with(&marker[..length]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(filter: &mut OutputFilter, chunks: &[&[u8]]) -> Vec<u8> {
        let mut shown = Vec::new();
        for chunk in chunks {
            shown.extend(filter.feed(chunk));
        }
        shown.extend(filter.finish());
        shown
    }

    #[test]
    fn markers_split_across_chunks_are_still_found() {
        let mut filter = OutputFilter::new();
        let shown = feed_all(
            &mut filter,
            &[b"out", b"put\x1b", b"]enshu;ex", b"it;1", b"27\x07"],
        );
        assert_eq!(shown, b"output");
        assert_eq!(filter.exit_status(), Some(127));
    }

    #[test]
    fn a_shell_shows_everything_but_the_exit_marker() {
        let mut filter = OutputFilter::new();
        let shown = feed_all(
            &mut filter,
            &[
                "日本語\r\n".as_bytes(),
                b"\x1b]0;title\x07$ exit\r\n\x1b]enshu;exit;3\x07",
            ],
        );
        assert_eq!(shown, "日本語\r\n\x1b]0;title\x07$ exit\r\n".as_bytes());
        assert_eq!(filter.exit_status(), Some(3));
    }

    #[test]
    fn something_that_only_looks_like_a_marker_is_shown() {
        let mut filter = OutputFilter::new();
        let shown = feed_all(&mut filter, &[b"a\x1b]enshu;exit;no\x07b\x1b]ens"]);
        assert_eq!(shown, b"a\x1b]enshu;exit;no\x07b\x1b]ens");
        assert_eq!(filter.exit_status(), None);
    }
}
