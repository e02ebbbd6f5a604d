//! What an SSH client is shown of a terminal's output: the wrapper's
//! markers (`terminal::READY_MARKER`, `terminal::EXIT_MARKER_START`) taken
//! out, the exit status they carry kept. Pure, so the byte handling (a
//! marker split across chunks, output before the TTY was set up) is tested
//! without a container.

use crate::terminal::{EXIT_MARKER_START, READY_MARKER};

/// Output before the ready marker that is waited for at most: past it the
/// terminal is taken as ready (a wrapper that never printed it).
const READY_WAIT_LIMIT: usize = 4096;
/// Longest exit marker: the start, up to ten digits, BEL.
const EXIT_MARKER_MAX: usize = 32;

#[derive(Debug)]
pub(crate) struct OutputFilter {
    waiting_for_ready: bool,
    pending: Vec<u8>,
    exit_status: Option<u32>,
}

impl OutputFilter {
    /// `wait_for_ready`: the terminal's wrapper prints the ready marker
    /// first (a raw SSH command); what comes before it is not shown.
    pub fn new(wait_for_ready: bool) -> OutputFilter {
        OutputFilter {
            waiting_for_ready: wait_for_ready,
            pending: Vec::new(),
            exit_status: None,
        }
    }

    pub fn ready(&self) -> bool {
        !self.waiting_for_ready
    }

    /// The program's exit status, once its marker was seen.
    pub fn exit_status(&self) -> Option<u32> {
        self.exit_status
    }

    /// The bytes of `chunk` (and of earlier ones held back) to show now.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        if self.waiting_for_ready {
            match find(&self.pending, READY_MARKER) {
                Some(at) => {
                    self.pending.drain(..at + READY_MARKER.len());
                    self.waiting_for_ready = false;
                }
                None if self.pending.len() > READY_WAIT_LIMIT => self.waiting_for_ready = false,
                None => return Vec::new(),
            }
        }
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
        if self.waiting_for_ready {
            self.waiting_for_ready = false;
        }
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
    fn a_raw_command_shows_only_what_follows_the_ready_marker_and_keeps_its_status() {
        let mut filter = OutputFilter::new(true);
        assert!(filter.feed(b"motd noise").is_empty());
        assert!(!filter.ready());
        let shown = filter.feed(b"\x1b]enshu;ready\x07analyst\nanalyst\n\x1b]enshu;exit;0\x07");
        assert!(filter.ready());
        assert_eq!(shown, b"analyst\nanalyst\n");
        assert_eq!(filter.exit_status(), Some(0));
    }

    #[test]
    fn markers_split_across_chunks_are_still_found() {
        let mut filter = OutputFilter::new(true);
        let shown = feed_all(
            &mut filter,
            &[
                b"\x1b]ensh",
                b"u;ready\x07out",
                b"put\x1b",
                b"]enshu;ex",
                b"it;1",
                b"27\x07",
            ],
        );
        assert_eq!(shown, b"output");
        assert_eq!(filter.exit_status(), Some(127));
    }

    #[test]
    fn a_shell_shows_everything_but_the_exit_marker() {
        let mut filter = OutputFilter::new(false);
        assert!(filter.ready());
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
        let mut filter = OutputFilter::new(false);
        let shown = feed_all(&mut filter, &[b"a\x1b]enshu;exit;no\x07b\x1b]ens"]);
        assert_eq!(shown, b"a\x1b]enshu;exit;no\x07b\x1b]ens");
        assert_eq!(filter.exit_status(), None);
    }

    #[test]
    fn a_wrapper_that_never_says_ready_is_shown_after_the_wait_limit() {
        let mut filter = OutputFilter::new(true);
        let noise = vec![b'x'; READY_WAIT_LIMIT + 1];
        let shown = filter.feed(&noise);
        assert!(filter.ready());
        assert_eq!(shown.len(), noise.len());
    }
}
