//! Mail into the team's mailbox, by SMTP through the scenario's relays:
//! the SOC's `mail` messages and the phishing of `mail` injects.
//!
//! First every hop is asked whether its postfix greets
//! (`scripts/mail/listening.sh`, waiting while one still starts). Then one
//! exec in the sending host (`scripts/mail/send.py`) hands the mail to
//! the first relay; postfix forwards it hop by hop (each relay's next hop
//! is configured by the planner, see `enshu_scenario::plan::MailPlan`). The
//! injector then follows it through every hop's `/var/log/mail.log` by its
//! Message-ID (`scripts/mail/trace.py`, one exec per hop) until the mailbox
//! host logs it delivered. A mail that a hop defers (the next relay is
//! down) or that does not arrive in time is a failed inject, so the
//! engine's retry rule applies; the copy a relay still holds is removed
//! from its queue (`postsuper -d`), so a retry does not deliver it twice
//! once the relay is back.
//!
//! Every exec is bounded twice: by `timeout` inside the container and by
//! a deadline here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use enshu_backend::{Backend, BackendError, ExecOutput, ExecPrivilege};
use enshu_scenario::model::Mail;
use enshu_scenario::plan::{MailPlan, ResolvedTarget};
use enshu_scenario::validate::mail_address_of;
use serde::Serialize;
use serde_json::{Value, json};

use crate::shell;

/// The SMTP client, run with `python3 -c` in the sending host.
pub const SEND_PROGRAM: &str = include_str!("../scripts/mail/send.py");
/// Follows a mail through one host's postfix log.
pub const TRACE_PROGRAM: &str = include_str!("../scripts/mail/trace.py");
/// Waits until the host's postfix greets on tcp/25.
pub const LISTENING_PROGRAM: &str = include_str!("../scripts/mail/listening.sh");
/// Where the mail role's postfix logs (`maillog_file`).
pub const MAIL_LOG: &str = "/var/log/mail.log";
/// How long the sender retries connecting to the first relay: an inject at
/// 0 s fires right after `up`, before postfix listens.
pub const CONNECT_SECONDS: u64 = 15;
/// How long one hop may take to pass the mail on (a healthy postfix takes
/// well under a second).
pub const HOP_SECONDS: u64 = 15;
/// SMTP timeout of each command of the session.
pub const SMTP_TIMEOUT_SECONDS: u64 = 10;
/// Slack between `timeout` inside the container and the deadline here.
const EXEC_SLACK: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{what} in {host}: {source}")]
    Backend {
        what: String,
        host: String,
        source: BackendError,
    },
    #[error("{what} in {host} did not finish within {seconds} s")]
    Timeout {
        what: String,
        host: String,
        seconds: u64,
    },
    #[error("{host} is not a running host of the team: no container")]
    NoContainer { host: String },
    #[error("{host} does not take mail: {reason}")]
    NotTakingMail { host: String, reason: String },
    #[error("{sender} could not hand the mail to {entry} ({address}:25): {reason}")]
    NotAccepted {
        sender: String,
        entry: String,
        address: String,
        reason: String,
    },
    #[error(
        "mail {message_id} to {recipient} stopped at {host}: status={status} ({reason}); removed from its queue"
    )]
    Stopped {
        message_id: String,
        recipient: String,
        host: String,
        status: String,
        /// Why, as the hop's log line says (`connect to …: Connection refused`).
        reason: String,
        /// The hop's whole log line.
        line: String,
    },
    #[error(
        "mail {message_id} to {recipient} was not passed on by {host} within {seconds} s ({state} there)"
    )]
    NotPassedOn {
        message_id: String,
        recipient: String,
        host: String,
        seconds: u64,
        state: String,
    },
}

/// One mail to send: every header value, as the scenario gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub envelope_from: String,
    pub from_name: String,
    pub from_address: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub attachment: Option<(String, String)>,
}

/// What a hop's log says about the mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// `segment/host`.
    pub host: String,
    pub queue_id: Option<String>,
    pub status: String,
    /// The hop's delivery line in `/var/log/mail.log`.
    pub line: Option<String>,
}

/// A delivered mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub message_id: String,
    pub recipient: String,
    /// The mailbox host, `segment/host`.
    pub mailbox: String,
    /// The host it was sent from.
    pub sender: String,
    /// The first relay's reply to the mail (`250 2.0.0 Ok: queued as …`).
    pub accepted: String,
    /// Every hop from the first relay to the mailbox, in order.
    pub hops: Vec<Hop>,
    /// From the send to the mailbox's delivery line.
    pub delivery_ms: u64,
}

impl Delivery {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A Message-ID no one can guess or tie to the scenario's names (a team
/// reads its headers): a digest of the team, the inject and the time.
pub fn message_id(team: &str, inject: &str, domain: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    static SENT: AtomicU64 = AtomicU64::new(0);
    let count = SENT.fetch_add(1, Ordering::Relaxed);
    let digest = shell::sha256_hex(format!("{team}\0{inject}\0{nanos}\0{count}").as_bytes());
    format!("<{}@{domain}>", &digest[..24])
}

/// The domain of an address (`soc@city.saida.lg.jp` → `city.saida.lg.jp`).
fn domain_of(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or(address, |(_, domain)| domain)
}

/// A `mail` inject's mail (already rendered with the team's addresses).
pub fn phishing(team: &str, inject: &str, mail: &Mail) -> Outgoing {
    let address = mail_address_of(&mail.from).to_string();
    let name = match mail.from.rfind('<') {
        Some(open) => mail.from[..open]
            .trim()
            .trim_matches('"')
            .trim()
            .to_string(),
        None => String::new(),
    };
    Outgoing {
        envelope_from: address.clone(),
        from_name: name,
        message_id: message_id(team, inject, domain_of(&address)),
        from_address: address,
        subject: mail.subject.japanese_or_any().to_string(),
        body: mail.body.japanese_or_any().to_string(),
        attachment: mail
            .attachment
            .as_ref()
            .map(|attachment| (attachment.name.clone(), attachment.content.clone())),
    }
}

/// The `send.py` command line: `python3 -c PROGRAM --option=value …`
/// under `timeout`. `--option=value` keeps a value that starts with `-`
/// a value.
pub fn send_command(server: &str, recipient: &str, outgoing: &Outgoing) -> Vec<String> {
    let bound = CONNECT_SECONDS + 3 * SMTP_TIMEOUT_SECONDS;
    let mut command: Vec<String> = [
        "timeout",
        "-k",
        "2",
        &bound.to_string(),
        "python3",
        "-c",
        SEND_PROGRAM,
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    let mut option = |name: &str, value: &str| command.push(format!("--{name}={value}"));
    option("server", server);
    option("envelope-from", &outgoing.envelope_from);
    option("from-name", &outgoing.from_name);
    option("from-address", &outgoing.from_address);
    option("to", recipient);
    option("subject", &outgoing.subject);
    option("body", &outgoing.body);
    option("message-id", &outgoing.message_id);
    if let Some((name, content)) = &outgoing.attachment {
        option("attachment-name", name);
        option("attachment-content", content);
    }
    option("connect-seconds", &CONNECT_SECONDS.to_string());
    option("timeout", &SMTP_TIMEOUT_SECONDS.to_string());
    command
}

/// The `trace.py` command line for one hop.
pub fn trace_command(message_id: &str, seconds: u64) -> Vec<String> {
    [
        "timeout",
        "-k",
        "2",
        &(seconds + 3).to_string(),
        "python3",
        "-c",
        TRACE_PROGRAM,
        MAIL_LOG,
        message_id,
        &seconds.to_string(),
    ]
    .into_iter()
    .map(str::to_string)
    .collect()
}

async fn exec<B: Backend>(
    backend: &B,
    target: &ResolvedTarget,
    what: &str,
    command: &[String],
    seconds: u64,
) -> Result<ExecOutput, MailError> {
    let container = target
        .container
        .as_deref()
        .ok_or_else(|| MailError::NoContainer {
            host: target.reference.clone(),
        })?;
    let bound = Duration::from_secs(seconds) + EXEC_SLACK;
    match tokio::time::timeout(
        bound,
        backend.exec(container, command, ExecPrivilege::Container),
    )
    .await
    {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(source)) => Err(MailError::Backend {
            what: what.to_string(),
            host: target.reference.clone(),
            source,
        }),
        Err(_) => Err(MailError::Timeout {
            what: what.to_string(),
            host: target.reference.clone(),
            seconds: bound.as_secs(),
        }),
    }
}

fn stderr_of(output: &ExecOutput) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if stderr.is_empty() {
        format!("exit {}", output.exit_code)
    } else {
        stderr
    }
}

/// Send `outgoing` from `sender` into the team's mailbox and follow it
/// there, hop by hop.
pub async fn deliver<B: Backend>(
    backend: &B,
    mail: &MailPlan,
    sender: &ResolvedTarget,
    outgoing: &Outgoing,
) -> Result<Delivery, MailError> {
    let entry = mail.entry();
    let entry_address = entry
        .address
        .map(|address| address.to_string())
        .ok_or_else(|| MailError::NoContainer {
            host: entry.reference.clone(),
        })?;
    let started = Instant::now();
    // Every hop must be taking mail, or the first that is not would
    // defer it (a relay still starting right after `up`, or stopped).
    for hop in &mail.chain {
        let command = shell::bash(
            LISTENING_PROGRAM,
            "enshu-mail-listening",
            &[&CONNECT_SECONDS.to_string()],
        );
        match exec(
            backend,
            hop,
            "waiting for postfix",
            &command,
            CONNECT_SECONDS,
        )
        .await
        {
            Ok(output) if output.exit_code == 0 => {}
            Ok(_) => {
                return Err(MailError::NotTakingMail {
                    host: hop.reference.clone(),
                    reason: format!(
                        "its postfix does not answer on tcp/25 within {CONNECT_SECONDS} s"
                    ),
                });
            }
            Err(MailError::Backend { source, .. }) => {
                return Err(MailError::NotTakingMail {
                    host: hop.reference.clone(),
                    reason: source.to_string(),
                });
            }
            Err(error) => return Err(error),
        }
    }
    let command = send_command(&entry_address, &mail.recipient, outgoing);
    let output = exec(
        backend,
        sender,
        "sending the mail",
        &command,
        CONNECT_SECONDS + 3 * SMTP_TIMEOUT_SECONDS,
    )
    .await?;
    if output.exit_code != 0 {
        return Err(MailError::NotAccepted {
            sender: sender.reference.clone(),
            entry: entry.reference.clone(),
            address: entry_address,
            reason: stderr_of(&output),
        });
    }
    let reply: Value = serde_json::from_str(output.stdout_text().trim()).unwrap_or(Value::Null);
    let accepted = reply["reply"].as_str().unwrap_or_default().to_string();
    let mut hops = Vec::new();
    for hop in &mail.chain {
        let output = exec(
            backend,
            hop,
            "following the mail in the mail log",
            &trace_command(&outgoing.message_id, HOP_SECONDS),
            HOP_SECONDS + 3,
        )
        .await?;
        let seen: Value = serde_json::from_str(output.stdout_text().trim()).unwrap_or(Value::Null);
        let text = |field: &str| seen[field].as_str().map(str::to_string);
        let status = text("status").unwrap_or_else(|| "unknown".to_string());
        match output.exit_code {
            0 if status == "sent" => hops.push(Hop {
                host: hop.reference.clone(),
                queue_id: text("queue_id"),
                status,
                line: text("line"),
            }),
            3 => {
                if let Some(queue_id) = text("queue_id") {
                    withdraw(backend, hop, &queue_id).await;
                }
                let line = text("line").unwrap_or_default();
                return Err(MailError::Stopped {
                    message_id: outgoing.message_id.clone(),
                    recipient: mail.recipient.clone(),
                    host: hop.reference.clone(),
                    reason: reason_of(&line, &status).to_string(),
                    status,
                    line,
                });
            }
            _ => {
                if let Some(queue_id) = text("queue_id") {
                    withdraw(backend, hop, &queue_id).await;
                }
                let state = match status.as_str() {
                    "queued" => "still queued".to_string(),
                    "absent" => "never logged".to_string(),
                    _ => format!("no delivery line: {}", stderr_of(&output)),
                };
                return Err(MailError::NotPassedOn {
                    message_id: outgoing.message_id.clone(),
                    recipient: mail.recipient.clone(),
                    host: hop.reference.clone(),
                    seconds: HOP_SECONDS,
                    state,
                });
            }
        }
    }
    Ok(Delivery {
        message_id: outgoing.message_id.clone(),
        recipient: mail.recipient.clone(),
        mailbox: mail.mailbox().reference.clone(),
        sender: sender.reference.clone(),
        accepted,
        hops,
        delivery_ms: started.elapsed().as_millis() as u64,
    })
}

/// The reason in a postfix delivery line: what follows `status=deferred (`.
fn reason_of<'a>(line: &'a str, status: &str) -> &'a str {
    let marker = format!("status={status} (");
    line.find(&marker)
        .map(|start| &line[start + marker.len()..])
        .map_or(line, |rest| rest.strip_suffix(')').unwrap_or(rest))
}

/// Take a mail a hop could not pass on out of its queue (best effort: a
/// failure here leaves at most a late duplicate).
async fn withdraw<B: Backend>(backend: &B, hop: &ResolvedTarget, queue_id: &str) {
    let command: Vec<String> = ["timeout", "10", "postsuper", "-d", queue_id]
        .into_iter()
        .map(str::to_string)
        .collect();
    match exec(
        backend,
        hop,
        "removing the mail from the queue",
        &command,
        10,
    )
    .await
    {
        Ok(output) if output.exit_code == 0 => {}
        Ok(output) => {
            tracing::warn!(host = %hop.reference, "postsuper -d {queue_id}: {}", stderr_of(&output))
        }
        Err(error) => tracing::warn!("{error}"),
    }
}

/// A phishing inject's ground truth: the mail as sent and where it went.
pub fn phishing_truth(mail: &Mail, outgoing: &Outgoing, delivery: &Delivery) -> Value {
    json!({
        "kind": "mail",
        "from": mail.from,
        "subject": outgoing.subject,
        "body": outgoing.body,
        "attachment": outgoing.attachment.as_ref().map(|(name, content)| json!({
            "name": name,
            "sha256": shell::sha256_hex(content.as_bytes()),
        })),
        "delivered": "mailbox",
        "mail": delivery.to_json(),
    })
}

#[cfg(test)]
mod tests {
    use enshu_scenario::model::{MailAttachment, Text};

    use super::*;

    fn phish() -> Mail {
        Mail {
            from: "\"総務課\" <soumu@clty-saida.example>".into(),
            to: None,
            subject: Text {
                ja: Some("【至急】請求書の確認".into()),
                en: Some("Invoice".into()),
            },
            body: Text {
                ja: None,
                en: Some("--see attached".into()),
            },
            attachment: Some(MailAttachment {
                name: "請求書.docm".into(),
                content: "harmless".into(),
            }),
        }
    }

    #[test]
    fn a_phishing_mail_takes_its_sender_apart_and_one_language() {
        let outgoing = phishing("t01", "phish", &phish());
        assert_eq!(outgoing.from_name, "総務課");
        assert_eq!(outgoing.from_address, "soumu@clty-saida.example");
        assert_eq!(outgoing.envelope_from, "soumu@clty-saida.example");
        assert_eq!(outgoing.subject, "【至急】請求書の確認");
        assert_eq!(outgoing.body, "--see attached");
        assert!(outgoing.message_id.ends_with("@clty-saida.example>"));
        assert!(
            !outgoing.message_id.contains("phish"),
            "{}",
            outgoing.message_id
        );
    }

    #[test]
    fn every_value_is_one_argument_of_a_bounded_command() {
        let outgoing = phishing("t01", "phish", &phish());
        let command = send_command("10.1.50.11", "team@city.saida.lg.jp", &outgoing);
        assert_eq!(&command[..4], ["timeout", "-k", "2", "45"]);
        assert_eq!(command[4..6], ["python3", "-c"]);
        assert_eq!(command[6], SEND_PROGRAM);
        assert!(command.contains(&"--body=--see attached".to_string()));
        assert!(command.contains(&"--to=team@city.saida.lg.jp".to_string()));
        assert!(command.contains(&"--attachment-name=請求書.docm".to_string()));
        let trace = trace_command("<abc@x>", 15);
        assert_eq!(trace[7..], [MAIL_LOG, "<abc@x>", "15"]);
    }

    #[test]
    fn a_deferral_is_told_by_its_reason() {
        let line = "Dec 01 20:14:30 san01 postfix/smtp[229]: AE85234: to=<team@city.saida.lg.jp>, relay=none, delay=5, dsn=4.4.1, status=deferred (connect to 10.229.20.14[10.229.20.14]:25: Connection timed out)";
        assert_eq!(
            reason_of(line, "deferred"),
            "connect to 10.229.20.14[10.229.20.14]:25: Connection timed out"
        );
        assert_eq!(reason_of("no status", "deferred"), "no status");
    }

    #[test]
    fn message_ids_differ_between_tries() {
        let first = message_id("t01", "soc", "city.saida.lg.jp");
        let second = message_id("t01", "soc", "city.saida.lg.jp");
        assert_ne!(first, second);
    }
}
