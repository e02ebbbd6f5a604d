//! Command lines out of what a team types, for its timeline.
//!
//! The server sees keystrokes, not the shell's parse, so a line is what
//! the keys spell: printable text, minus what backspace, Ctrl-U, Ctrl-W
//! and Ctrl-C took away, ended by Enter. Keys whose effect only the shell
//! knows (Tab completion, arrow keys and history, other escape sequences)
//! are dropped and mark the line `edited`: the line shown may then differ
//! from the one that ran. A line typed at a password prompt (`sudo`,
//! `ssh`, `su`: the output since the last Enter asks for a password or a
//! passphrase) is never a command and never reaches the log.
//!
//! Pure, so the rules are unit-tested.

/// Longest command line kept, in characters; the rest is cut.
pub(crate) const MAX_COMMAND_CHARS: usize = 1024;

/// One line the team entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandLine {
    pub text: String,
    /// Keys whose effect the server cannot know were pressed.
    pub edited: bool,
}

#[derive(Debug, Default)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// In a CSI (`ESC [`), until its final byte.
    Csi,
    /// After `ESC O`: one more byte.
    Ss3,
}

/// The line being typed in one terminal.
#[derive(Debug, Default)]
pub(crate) struct LineTracker {
    line: Vec<char>,
    pending_utf8: Vec<u8>,
    edited: bool,
    escape: Escape,
    /// What the terminal showed since the last Enter (bounded): the prompt.
    shown: String,
    /// What was shown before the line's first key: the prompt it answers.
    prompt: Option<String>,
}

/// Output kept to read the prompt a line is typed at.
const SHOWN_KEPT_BYTES: usize = 1024;

/// Whether a prompt asks for a secret.
fn asks_for_secret(prompt: &str) -> bool {
    let prompt = prompt.to_lowercase();
    ["password", "passphrase", "パスワード", "pin:"]
        .iter()
        .any(|word| prompt.contains(word))
}

impl LineTracker {
    /// Output from the terminal (for the echo rule).
    pub fn shown(&mut self, bytes: &[u8]) {
        self.shown.push_str(&String::from_utf8_lossy(bytes));
        if self.shown.len() > SHOWN_KEPT_BYTES {
            let mut cut = self.shown.len() - SHOWN_KEPT_BYTES;
            while !self.shown.is_char_boundary(cut) {
                cut += 1;
            }
            self.shown.drain(..cut);
        }
    }

    /// Keys typed; every line they completed.
    pub fn typed(&mut self, bytes: &[u8]) -> Vec<CommandLine> {
        let mut completed = Vec::new();
        for &byte in bytes {
            if self.prompt.is_none() && byte != b'\r' && byte != b'\n' {
                self.prompt = Some(std::mem::take(&mut self.shown));
            }
            match self.escape {
                Escape::Start => {
                    self.escape = match byte {
                        b'[' => Escape::Csi,
                        b'O' => Escape::Ss3,
                        _ => Escape::None,
                    };
                    self.edited = true;
                    continue;
                }
                Escape::Csi => {
                    if (0x40..=0x7e).contains(&byte) {
                        self.escape = Escape::None;
                    }
                    continue;
                }
                Escape::Ss3 => {
                    self.escape = Escape::None;
                    continue;
                }
                Escape::None => {}
            }
            match byte {
                0x1b => self.escape = Escape::Start,
                b'\r' | b'\n' => {
                    if let Some(line) = self.finish_line() {
                        completed.push(line);
                    }
                }
                0x7f | 0x08 => {
                    self.line.pop();
                }
                // Ctrl-C, Ctrl-U: the line is gone.
                0x03 | 0x15 => {
                    self.line.clear();
                    self.edited = false;
                }
                // Ctrl-W: the last word.
                0x17 => {
                    while self.line.last().is_some_and(|c| c.is_whitespace()) {
                        self.line.pop();
                    }
                    while self.line.last().is_some_and(|c| !c.is_whitespace()) {
                        self.line.pop();
                    }
                }
                b'\t' => self.edited = true,
                0x00..=0x1f => {}
                _ => {
                    self.pending_utf8.push(byte);
                    match std::str::from_utf8(&self.pending_utf8) {
                        Ok(text) => {
                            let characters: Vec<char> = text.chars().collect();
                            self.pending_utf8.clear();
                            for character in characters {
                                if self.line.len() < MAX_COMMAND_CHARS {
                                    self.line.push(character);
                                }
                            }
                        }
                        // An incomplete sequence waits for its next byte;
                        // an invalid one is dropped.
                        Err(error) if error.error_len().is_some() => self.pending_utf8.clear(),
                        Err(_) if self.pending_utf8.len() >= 4 => self.pending_utf8.clear(),
                        Err(_) => {}
                    }
                }
            }
        }
        completed
    }

    fn finish_line(&mut self) -> Option<CommandLine> {
        let text: String = self.line.iter().collect();
        let text = text.trim().to_owned();
        let edited = std::mem::take(&mut self.edited);
        self.line.clear();
        self.pending_utf8.clear();
        let shown = std::mem::take(&mut self.shown);
        let prompt = self.prompt.take().unwrap_or(shown);
        if text.is_empty() {
            return None;
        }
        if asks_for_secret(&prompt) {
            return None;
        }
        Some(CommandLine { text, edited })
    }
}

/// The command lines of a shell reading its input from pipes (`ssh -T
/// host`): no keys, no echo, each line as it was sent, ended by a newline;
/// blank lines and comments are no commands. A line longer than
/// [`MAX_COMMAND_CHARS`] is cut and marked edited.
#[derive(Debug, Default)]
pub(crate) struct PipedLines {
    line: Vec<u8>,
    cut: bool,
}

impl PipedLines {
    pub fn sent(&mut self, bytes: &[u8]) -> Vec<CommandLine> {
        let mut lines = Vec::new();
        for &byte in bytes {
            if byte == b'\n' {
                lines.extend(self.take());
            } else if self.line.len() < MAX_COMMAND_CHARS * 4 {
                self.line.push(byte);
            } else {
                self.cut = true;
            }
        }
        lines
    }

    /// The last line, when the input ended without a newline.
    pub fn finish(&mut self) -> Option<CommandLine> {
        self.take()
    }

    fn take(&mut self) -> Option<CommandLine> {
        let bytes = std::mem::take(&mut self.line);
        let cut = std::mem::take(&mut self.cut);
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end_matches('\r');
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return None;
        }
        let chars = text.chars().count();
        Some(CommandLine {
            text: text.chars().take(MAX_COMMAND_CHARS).collect(),
            edited: cut || chars > MAX_COMMAND_CHARS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed_with_echo(keys: &[&[u8]]) -> Vec<CommandLine> {
        let mut tracker = LineTracker::default();
        let mut lines = Vec::new();
        for key in keys {
            tracker.shown(key);
            lines.extend(tracker.typed(key));
        }
        lines
    }

    fn texts(lines: &[CommandLine]) -> Vec<&str> {
        lines.iter().map(|line| line.text.as_str()).collect()
    }

    #[test]
    fn enter_completes_a_line_and_backspace_and_control_keys_edit_it() {
        let lines = typed_with_echo(&[b"ls -la\r", b"cat /etc/hostx", &[0x7f], b"s\r"]);
        assert_eq!(texts(&lines), ["ls -la", "cat /etc/hosts"]);
        assert!(lines.iter().all(|line| !line.edited));
        let lines = typed_with_echo(&[b"rm -rf /", &[0x03], b"id\r"]);
        assert_eq!(texts(&lines), ["id"]);
        let lines = typed_with_echo(&[b"echo one two", &[0x17], b"three\r"]);
        assert_eq!(texts(&lines), ["echo one three"]);
        assert!(typed_with_echo(&[b"   \r", b"\r"]).is_empty());
    }

    #[test]
    fn japanese_split_across_chunks_is_one_command() {
        let text = "echo 日本語テスト\r".as_bytes();
        let (first, second) = text.split_at(7);
        let lines = typed_with_echo(&[first, second]);
        assert_eq!(texts(&lines), ["echo 日本語テスト"]);
    }

    #[test]
    fn arrows_and_tab_are_dropped_and_mark_the_line_edited() {
        let lines = typed_with_echo(&[b"tcpd", b"\t", b" -i any", b"\x1b[D\x1bOA", b"\r"]);
        assert_eq!(texts(&lines), ["tcpd -i any"]);
        assert!(lines[0].edited);
        // Bracketed paste's markers are escape sequences too; a paste of
        // two lines is two commands.
        let lines = typed_with_echo(&[b"\x1b[200~whoami\rhostname\x1b[201~\r"]);
        assert_eq!(texts(&lines), ["whoami", "hostname"]);
    }

    #[test]
    fn a_line_typed_at_a_password_prompt_is_no_command() {
        let mut tracker = LineTracker::default();
        tracker.shown(b"analyst@ws:~$ ");
        assert_eq!(texts(&tracker.typed(b"sudo -i\r")), ["sudo -i"]);
        tracker.shown(b"\r\n$ ");
        tracker.typed(b"g");
        tracker.shown(b"grep password auth.log");
        assert_eq!(
            texts(&tracker.typed(b"rep password auth.log\r")),
            ["grep password auth.log"]
        );
        tracker.shown(b"\r\n[sudo] password for analyst: ");
        assert!(tracker.typed(b"s3cret-Passw0rd\r").is_empty());
        tracker.shown("\r\nroot@ws:~# ".as_bytes());
        assert_eq!(texts(&tracker.typed(b"id\r")), ["id"]);
        tracker.shown("\r\nパスワード: ".as_bytes());
        assert!(tracker.typed(b"himitsu\r").is_empty());
    }

    #[test]
    fn a_long_line_is_cut() {
        let long = "x".repeat(5000) + "\r";
        let lines = typed_with_echo(&[long.as_bytes()]);
        assert_eq!(lines[0].text.chars().count(), MAX_COMMAND_CHARS);
    }

    #[test]
    fn a_piped_shells_lines_are_its_commands_as_sent() {
        let mut lines = PipedLines::default();
        let found = lines.sent("ls -la\n\n# a comment\necho 日本".as_bytes());
        assert_eq!(
            found,
            [CommandLine {
                text: "ls -la".to_owned(),
                edited: false
            }]
        );
        assert!(lines.sent("語".as_bytes()).is_empty());
        assert_eq!(
            lines.finish(),
            Some(CommandLine {
                text: "echo 日本語".to_owned(),
                edited: false
            })
        );
        assert_eq!(lines.finish(), None);
        let long = "x".repeat(MAX_COMMAND_CHARS * 5) + "\n";
        let found = lines.sent(long.as_bytes());
        assert_eq!(found[0].text.chars().count(), MAX_COMMAND_CHARS);
        assert!(found[0].edited);
    }
}
