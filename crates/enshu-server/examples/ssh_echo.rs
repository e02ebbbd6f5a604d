//! Keystroke echo over SSH, the terminal benchmark's client
//! (`infra/bench-terminal.sh`, BENCHMARKS.md): the same client measures
//! the bastion and a container's own sshd, so the two figures differ only
//! by what sits between the client and the shell.
//!
//! ```text
//! ssh_echo latency ADDR USER PASSWORD KEYS
//!     one shell on a pty; KEYS keystrokes, one at a time, each timed from
//!     its send to its echo; prints a JSON line of milliseconds
//! ssh_echo hold SECONDS INTERVAL_MS TARGET...
//!     TARGET = ADDR,USER,PASSWORD,COUNT: COUNT shells for each target,
//!     all opened, then each types a key every INTERVAL_MS and waits for
//!     its echo for SECONDS; prints {"open": N} once every shell is open,
//!     then a JSON line of the echoes, the errors and the latencies
//! ```
//!
//! A key not echoed within 5 s, a session that ends or fails to open is
//! an error; `hold` exits 1 if there was any. With `SSH_ECHO_SAMPLES=FILE`
//! set, `hold` also writes every echo's milliseconds to FILE, one a line,
//! so the samples of several clients can be merged before their
//! percentiles are taken.

use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::ChannelMsg;
use russh::client::{Handle, Msg};

const ECHO_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys typed before the line is cleared (Ctrl-U), so it never wraps.
const LINE_KEYS: usize = 40;

struct Client;

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

struct Shell {
    _handle: Handle<Client>,
    channel: russh::Channel<Msg>,
    typed: usize,
}

async fn open(addr: &str, user: &str, password: &str) -> Result<Shell, String> {
    let config = Arc::new(russh::client::Config::default());
    let mut handle = russh::client::connect(config, addr, Client)
        .await
        .map_err(|error| format!("connect {addr}: {error}"))?;
    let auth = handle
        .authenticate_password(user, password)
        .await
        .map_err(|error| format!("authenticate: {error}"))?;
    if !auth.success() {
        return Err(format!("{user}@{addr}: password refused"));
    }
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|error| format!("open session: {error}"))?;
    channel
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .map_err(|error| format!("pty: {error}"))?;
    channel
        .request_shell(true)
        .await
        .map_err(|error| format!("shell: {error}"))?;
    let mut shell = Shell {
        _handle: handle,
        channel,
        typed: 0,
    };
    // The prompt ends in "$ " (or "# "); then the shell reads keys.
    shell
        .read_until(
            |shown| shown.ends_with(b"$ ") || shown.ends_with(b"# "),
            Duration::from_secs(20),
        )
        .await
        .map_err(|error| format!("prompt: {error}"))?;
    Ok(shell)
}

impl Shell {
    async fn read_until(
        &mut self,
        mut done: impl FnMut(&[u8]) -> bool,
        within: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let mut shown = Vec::new();
        while !done(&shown) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.channel.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => shown.extend_from_slice(&data),
                Ok(Some(ChannelMsg::Eof | ChannelMsg::Close | ChannelMsg::ExitStatus { .. }))
                | Ok(None) => {
                    return Err("the session ended".to_owned());
                }
                Ok(Some(_)) => {}
                Err(_) => {
                    return Err(format!(
                        "nothing awaited within {within:?}; shown {:?}",
                        String::from_utf8_lossy(&shown)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Types one key and waits for its echo; the time between.
    async fn keystroke(&mut self) -> Result<Duration, String> {
        if self.typed == LINE_KEYS {
            // Ctrl-U, then a key whose echo shows the line is clear.
            self.channel
                .data(&b"\x15"[..])
                .await
                .map_err(|error| format!("send: {error}"))?;
            self.typed = 0;
            self.read_until(
                |shown| shown.ends_with(b"\x1b[K") || shown.ends_with(b"\x08"),
                ECHO_TIMEOUT,
            )
            .await?;
            // Whatever else the line discipline sends for the erase.
            while let Ok(Some(_)) =
                tokio::time::timeout(Duration::from_millis(20), self.channel.wait()).await
            {
            }
        }
        let key = b"abcdefghijklmnopqrstuvwxyz"[self.typed % 26];
        self.typed += 1;
        let sent = Instant::now();
        self.channel
            .data(&[key][..])
            .await
            .map_err(|error| format!("send: {error}"))?;
        self.read_until(|shown| shown.contains(&key), ECHO_TIMEOUT)
            .await?;
        Ok(sent.elapsed())
    }
}

fn summary(mut samples: Vec<Duration>) -> serde_json::Value {
    samples.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .map(ms)
    };
    serde_json::json!({
        "keys": samples.len(),
        "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99),
        "max_ms": samples.last().copied().map(ms),
    })
}

async fn latency(args: &[String]) -> Result<(), String> {
    let [addr, user, password, keys] = args else {
        return Err("latency ADDR USER PASSWORD KEYS".to_owned());
    };
    let keys: usize = keys
        .parse()
        .map_err(|_| format!("KEYS: not a count: {keys}"))?;
    let mut shell = open(addr, user, password).await?;
    // A few keys first, so the first sample times no warm-up.
    for _ in 0..10 {
        shell.keystroke().await?;
    }
    let mut samples = Vec::with_capacity(keys);
    for _ in 0..keys {
        samples.push(shell.keystroke().await?);
    }
    println!("{}", summary(samples));
    Ok(())
}

async fn hold(args: &[String]) -> Result<bool, String> {
    let [seconds, interval, targets @ ..] = args else {
        return Err("hold SECONDS INTERVAL_MS ADDR,USER,PASSWORD,COUNT...".to_owned());
    };
    let seconds: u64 = seconds.parse().map_err(|_| format!("SECONDS: {seconds}"))?;
    let interval = Duration::from_millis(
        interval
            .parse()
            .map_err(|_| format!("INTERVAL_MS: {interval}"))?,
    );
    let mut opening = Vec::new();
    for target in targets {
        let [addr, user, password, count] = target.split(',').collect::<Vec<_>>()[..] else {
            return Err(format!("not ADDR,USER,PASSWORD,COUNT: {target}"));
        };
        let count: usize = count.parse().map_err(|_| format!("COUNT: {count}"))?;
        for _ in 0..count {
            let (addr, user, password) = (addr.to_owned(), user.to_owned(), password.to_owned());
            opening.push(tokio::spawn(
                async move { open(&addr, &user, &password).await },
            ));
        }
    }
    let started = Instant::now();
    let mut shells = Vec::new();
    let mut errors = Vec::new();
    for task in opening {
        match task.await.expect("an opening task") {
            Ok(shell) => shells.push(shell),
            Err(error) => errors.push(error),
        }
    }
    println!(
        "{}",
        serde_json::json!({"open": shells.len(), "refused": errors.len(),
                           "opened_in_s": started.elapsed().as_secs_f64()})
    );
    let until = Instant::now() + Duration::from_secs(seconds);
    let count = shells.len();
    let typing: Vec<_> = shells
        .into_iter()
        .enumerate()
        .map(|(n, mut shell)| {
            tokio::spawn(async move {
                // Spread the shells' keys over the interval.
                tokio::time::sleep(interval.mul_f64(n as f64 / count.max(1) as f64)).await;
                let mut samples = Vec::new();
                while Instant::now() < until {
                    let next = Instant::now() + interval;
                    match shell.keystroke().await {
                        Ok(took) => samples.push(took),
                        Err(error) => return (samples, Some(error)),
                    }
                    tokio::time::sleep_until(next.into()).await;
                }
                (samples, None)
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in typing {
        let (mine, error) = task.await.expect("a typing task");
        samples.extend(mine);
        errors.extend(error);
    }
    if let Ok(path) = std::env::var("SSH_ECHO_SAMPLES") {
        let lines: String = samples
            .iter()
            .map(|took| format!("{:.3}\n", took.as_secs_f64() * 1000.0))
            .collect();
        std::fs::write(&path, lines).map_err(|error| format!("{path}: {error}"))?;
    }
    let mut report = summary(samples);
    report["terminals"] = count.into();
    report["errors"] = errors.len().into();
    report["first_errors"] = errors.iter().take(5).cloned().collect::<Vec<_>>().into();
    println!("{report}");
    Ok(errors.is_empty())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("latency") => latency(&args[1..]).await.map(|()| true),
        Some("hold") => hold(&args[1..]).await,
        _ => Err(
            "usage: ssh_echo latency ADDR USER PASSWORD KEYS | hold SECONDS INTERVAL_MS TARGET..."
                .to_owned(),
        ),
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(error) => {
            eprintln!("ssh_echo: {error}");
            std::process::exit(1);
        }
    }
}
