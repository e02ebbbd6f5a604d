//! A terminal session recorded as asciicast v2: a JSON header line, then
//! one `[seconds, code, data]` line per event (`"o"` what the terminal
//! showed, `"i"` what was typed, `"r"` a resize to `COLSxROWS`, `"m"` a
//! marker), which asciinema's player and Enshu's replay page read.
//!
//! Recordings are kept outside the range, in the server's recordings
//! directory (`<state>/sessions/<session>.terminals/team-NN/<id>.cast`),
//! 0600 in 0700 directories, and bounded: past `limit_bytes` one marker
//! says the rest was not kept and nothing more is written. Input is
//! recorded as typed, password prompts included: recordings are the
//! operator's, like the event log.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use enshu_backend::terminal::TerminalSize;

/// The header's fields that vary.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub size: TerminalSize,
    /// Unix seconds at the start.
    pub timestamp: i64,
    pub title: String,
}

pub(crate) struct Recording {
    file: Option<std::io::BufWriter<std::fs::File>>,
    started: Instant,
    written: u64,
    limit_bytes: u64,
    /// An output chunk's incomplete UTF-8 tail, kept for the next chunk.
    pending_output: Vec<u8>,
    pending_input: Vec<u8>,
}

/// The directory of team `team`'s recordings under `root`.
pub(crate) fn team_directory(root: &Path, team: u32) -> PathBuf {
    root.join(format!("team-{team:02}"))
}

fn private_directory(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Splits `bytes` (after `pending`) into the longest valid UTF-8 prefix,
/// keeping an incomplete last sequence in `pending`; invalid bytes become
/// U+FFFD.
fn take_text(pending: &mut Vec<u8>, bytes: &[u8]) -> String {
    pending.extend_from_slice(bytes);
    let complete = match std::str::from_utf8(pending) {
        Ok(_) => pending.len(),
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        Err(_) => pending.len(),
    };
    let rest = pending.split_off(complete);
    let text = String::from_utf8_lossy(pending).into_owned();
    *pending = rest;
    text
}

impl Recording {
    /// A new recording at `path` (its directory made 0700, the file 0600,
    /// created fresh: an existing file or link there is an error).
    pub fn create(path: &Path, header: &Header, limit_bytes: u64) -> std::io::Result<Recording> {
        use std::os::unix::fs::OpenOptionsExt as _;
        if let Some(parent) = path.parent() {
            private_directory(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        let mut recording = Recording {
            file: Some(std::io::BufWriter::new(file)),
            started: Instant::now(),
            written: 0,
            limit_bytes,
            pending_output: Vec::new(),
            pending_input: Vec::new(),
        };
        let header = serde_json::json!({
            "version": 2,
            "width": header.size.columns,
            "height": header.size.rows,
            "timestamp": header.timestamp,
            "title": header.title,
            "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"},
        });
        recording.line(&header.to_string());
        Ok(recording)
    }

    pub fn output(&mut self, bytes: &[u8]) {
        let text = take_text(&mut self.pending_output, bytes);
        self.event("o", &text);
    }

    pub fn input(&mut self, bytes: &[u8]) {
        let text = take_text(&mut self.pending_input, bytes);
        self.event("i", &text);
    }

    pub fn resize(&mut self, size: TerminalSize) {
        self.event("r", &format!("{}x{}", size.columns, size.rows));
    }

    pub fn marker(&mut self, label: &str) {
        self.event("m", label);
    }

    fn event(&mut self, code: &str, data: &str) {
        if data.is_empty() || self.file.is_none() {
            return;
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let line = serde_json::json!([(seconds * 1e6).round() / 1e6, code, data]).to_string();
        // Room is always left for the marker that says the rest is gone.
        if self.written + line.len() as u64 + 128 > self.limit_bytes {
            let marker = serde_json::json!([
                (seconds * 1e6).round() / 1e6,
                "m",
                "recording limit reached: the rest of this session was not recorded"
            ])
            .to_string();
            self.line(&marker);
            self.file = None;
            return;
        }
        self.line(&line);
    }

    fn line(&mut self, line: &str) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        // Each event is flushed, so an instructor fetching a live
        // recording gets every line so far.
        let result = file
            .write_all(line.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.flush());
        match result {
            Ok(()) => self.written += line.len() as u64 + 1,
            Err(error) => {
                tracing::warn!(%error, "terminal recording stopped: cannot write");
                self.file = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn temporary(name: &str) -> PathBuf {
        let directory =
            std::env::temp_dir().join(format!("enshu-recording-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        directory.join("team-01").join("t.cast")
    }

    #[test]
    fn a_recording_is_asciicast_v2_with_utf8_split_across_chunks_kept_whole() {
        let path = temporary("utf8");
        let header = Header {
            size: TerminalSize::default(),
            timestamp: 1_700_000_000,
            title: "team 1 analyst".into(),
        };
        let mut recording = Recording::create(&path, &header, 1 << 20).unwrap();
        let bytes = "日本語テスト\r\n".as_bytes();
        recording.output(&bytes[..4]);
        recording.output(&bytes[4..]);
        recording.input(b"ls\r");
        recording.resize(TerminalSize::clamped(120, 40));
        let lines = lines(&path);
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], 80);
        let shown: String = lines[1..]
            .iter()
            .filter(|line| line[1] == "o")
            .map(|line| line[2].as_str().unwrap())
            .collect();
        assert_eq!(shown, "日本語テスト\r\n");
        assert!(lines.iter().any(|line| line[1] == "i" && line[2] == "ls\r"));
        assert!(
            lines
                .iter()
                .any(|line| line[1] == "r" && line[2] == "120x40")
        );
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Never written over.
        assert!(Recording::create(&path, &header, 1 << 20).is_err());
    }

    #[test]
    fn a_recording_stops_at_its_limit_with_a_marker() {
        let path = temporary("limit");
        let header = Header {
            size: TerminalSize::default(),
            timestamp: 0,
            title: String::new(),
        };
        let mut recording = Recording::create(&path, &header, 4096).unwrap();
        for _ in 0..1000 {
            recording.output(&[b'x'; 100]);
        }
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 4096, "{size} bytes");
        let lines = lines(&path);
        assert_eq!(lines.last().unwrap()[1], "m");
    }
}
