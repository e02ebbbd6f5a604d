//! Mail for real, against the Docker engine: the SOC's alert and a phishing
//! mail travel by SMTP through two relays (one segment: they reach each
//! other directly) and the router into the LGWAN mailbox, each relay logs
//! them, and the analyst reads both with its own mail client over IMAP. A
//! relay the team blocked at its router defers the mail: the inject fails
//! saying where, and the held copy is taken out of the queue. A stopped
//! relay fails it at once, naming the relay.
//!
//! Needs a Docker engine, root (host guard) and the role images (`make
//! images`); without them it FAILS, it never skips. Everything carries the
//! session label `mail<pid>` and is removed when the test ends, passed or
//! failed. Addresses come from 10.229.0.0/16, which no other test uses.

mod support;

use std::time::{Duration, Instant};

use support::{SessionDown, container, inject, plan_one_team};

use enshu_backend::{Backend, ExecPrivilege};
use enshu_docker::{DockerBackend, HostGuard};
use enshu_injector::{InjectError, fire};
use enshu_scenario::plan::Plan;

const POOL: &str = "10.229.0.0/16";
const SCENARIO: &str = include_str!("fixtures/mail-range.yaml");

fn mail_plan(session: &str) -> Plan {
    plan_one_team("mail-range.yaml", SCENARIO.as_bytes(), session, POOL)
}

async fn sh(
    backend: &DockerBackend,
    container: &str,
    script: &str,
    arguments: &[&str],
) -> (i64, String) {
    let command: Vec<String> = ["bash", "-c", script, "test"]
        .into_iter()
        .chain(arguments.iter().copied())
        .map(str::to_string)
        .collect();
    let output = backend
        .exec(container, &command, ExecPrivilege::Container)
        .await
        .unwrap_or_else(|error| panic!("exec in {container}: {error}"));
    (
        output.exit_code,
        format!(
            "{}{}",
            output.stdout_text(),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The analyst's own mail client, as a trainee runs it: `s-nail` with the
/// `~/.mailrc` the image rendered, listing the inbox over IMAP (the
/// password is the team's, here the image's default).
const LIST_INBOX: &str = r#"
exec setpriv --reuid=analyst --regid=analyst --init-groups env HOME=/home/analyst USER=analyst \
  timeout 20 s-nail -N -# -S "password-team@$1=enshu" -Y headers -Y "print 1 2" -Y quit -f +INBOX </dev/null
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soc_and_phishing_mail_reach_the_mailbox_through_every_relay() {
    HostGuard::new()
        .ensure()
        .await
        .expect("the host guard must install (root and iptables needed)");
    let backend = DockerBackend::connect()
        .await
        .expect("the docker engine must be reachable on the local socket");
    let session = format!("mail{}", std::process::id());
    let plan = mail_plan(&session);
    let _down = SessionDown {
        session: session.clone(),
    };
    let started = Instant::now();
    enshu_controller::up(&backend, &plan, 6, &|_| {})
        .await
        .expect("enshu up (are the images built? `make images`)");
    eprintln!("up in {:.1} s", started.elapsed().as_secs_f64());
    let team = &plan.teams[0];
    let mail = team.mail.as_ref().expect("the mail block is planned");

    // The SOC's alert fires right after `up` (an inject at 0 s): the sender
    // waits for postfix to listen.
    let sent = Instant::now();
    let soc = fire(&backend, team, inject(team, "soc-alert"), 0, 1)
        .await
        .expect("the SOC's alert is delivered");
    eprintln!(
        "soc-alert delivered in {:.2} s (fired right after up): {}",
        sent.elapsed().as_secs_f64(),
        soc.ground_truth["mail"]
    );
    assert_eq!(soc.ground_truth["delivered"], "mailbox");
    assert_eq!(
        soc.ground_truth["mail"]["recipient"],
        "team@city.saida.lg.jp"
    );
    assert_eq!(soc.ground_truth["mail"]["mailbox"], "lgwan/lgmail");
    let hops: Vec<&str> = soc.ground_truth["mail"]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hop| hop["host"].as_str().unwrap())
        .collect();
    assert_eq!(hops, ["seccloud/sc-mail", "seccloud/san01", "lgwan/lgmail"]);

    // The phishing mail, from the attacker on the internet, through the router.
    let sent = Instant::now();
    let phish = fire(&backend, team, inject(team, "phish"), 60_000, 1)
        .await
        .expect("the phishing mail is delivered");
    let phish_ms = sent.elapsed().as_millis();
    eprintln!(
        "phish delivered in {phish_ms} ms: {}",
        phish.ground_truth["mail"]
    );
    assert_eq!(phish.ground_truth["kind"], "mail");
    assert_eq!(phish.ground_truth["attachment"]["name"], "請求書.docm");

    // Each relay logged both mails as sent on, and the mailbox as delivered.
    for truth in [&soc.ground_truth, &phish.ground_truth] {
        let message_id = truth["mail"]["message_id"].as_str().unwrap();
        for (host, status) in [
            ("sc-mail", "status=sent (250 2.0.0 Ok: queued as "),
            ("san01", "status=sent (250 2.0.0 Ok: queued as "),
            ("lgmail", "status=sent (delivered to maildir)"),
        ] {
            let (code, log) = sh(
                &backend,
                container(team, host),
                r#"queue=$(grep -F "message-id=$1" /var/log/mail.log | sed -n 's/.*\]: \([0-9A-F]*\): message-id=.*/\1/p' | head -1)
                   [ -n "$queue" ] && grep -F " $queue: to=<team@city.saida.lg.jp>" /var/log/mail.log"#,
                &[message_id],
            )
            .await;
            assert_eq!(code, 0, "{host} did not log {message_id}: {log}");
            assert!(log.contains(status), "{host}: {log}");
        }
    }

    // A mail to a staff member's mailbox on san01 stops there: san01
    // logs it delivered into its own maildir, and the team mailbox never
    // sees it, while the team's mail above went on through san01.
    let staff = fire(&backend, team, inject(team, "staff-phish"), 90_000, 1)
        .await
        .expect("the staff phishing mail is delivered");
    assert_eq!(staff.ground_truth["mail"]["mailbox"], "seccloud/san01");
    assert_eq!(
        staff.ground_truth["mail"]["recipient"],
        "staff@city.saida.lg.jp"
    );
    let hops: Vec<&str> = staff.ground_truth["mail"]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hop| hop["host"].as_str().unwrap())
        .collect();
    assert_eq!(hops, ["seccloud/sc-mail", "seccloud/san01"]);
    let message_id = staff.ground_truth["mail"]["message_id"].as_str().unwrap();
    let (code, kept) = sh(
        &backend,
        container(team, "san01"),
        "grep -l -r -i -F \"message-id: $1\" /var/mail/vhosts/city.saida.lg.jp/staff/new/ || { ls -lR /var/mail/vhosts; grep -F \"$1\" /var/log/mail.log; exit 1; }",
        &[message_id],
    )
    .await;
    assert_eq!(code, 0, "no mail in san01's staff maildir: {kept}");
    let (code, _) = sh(
        &backend,
        container(team, "lgmail"),
        "grep -q -F \"message-id=$1\" /var/log/mail.log",
        &[message_id],
    )
    .await;
    assert_ne!(code, 0, "the staff mail went on to the team mailbox");

    // The analyst lists both with its mail client over IMAP, which its
    // ~/.mailrc points at the scenario's mailbox.
    let mailbox = mail.mailbox().address.unwrap().to_string();
    let (_, mailrc) = sh(
        &backend,
        container(team, "analyst"),
        "setpriv --reuid=analyst --regid=analyst --init-groups cat /home/analyst/.mailrc",
        &[],
    )
    .await;
    assert!(
        mailrc.contains(&format!("set inbox=imap://team@{mailbox}/INBOX\n")),
        "{mailrc}"
    );
    let (code, listing) = sh(
        &backend,
        container(team, "analyst"),
        LIST_INBOX,
        &[&mailbox],
    )
    .await;
    eprintln!("s-nail on the analyst:\n{listing}");
    assert_eq!(code, 0, "{listing}");
    assert!(listing.contains("不審な通信の検知"), "{listing}");
    assert!(listing.contains("【至急】請求書の確認"), "{listing}");
    assert!(listing.contains("セキュリティ監視センター"), "{listing}");
    assert!(listing.contains("総務課"), "{listing}");

    // The team blocks san01 at its router: san01 cannot reach the mailbox,
    // defers the mail, and the inject fails saying where; the held copy is
    // taken out of san01's queue, so no late duplicate follows a retry.
    let san01 = team
        .containers
        .iter()
        .find(|container| container.hostname == "san01")
        .and_then(|container| container.primary_address())
        .unwrap()
        .to_string();
    let (code, output) = sh(
        &backend,
        container(team, "router"),
        "nft add element inet enshu team_blocked \"{ $1 }\"",
        &[&san01],
    )
    .await;
    assert_eq!(code, 0, "{output}");
    let failed = Instant::now();
    let error = fire(&backend, team, inject(team, "soc-alert"), 120_000, 1)
        .await
        .expect_err("no delivery past a blocked relay");
    eprintln!(
        "with san01 blocked, failed in {:.2} s: {error}",
        failed.elapsed().as_secs_f64()
    );
    assert!(matches!(error, InjectError::Mail { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("stopped at seccloud/san01: status=deferred"),
        "{text}"
    );
    assert!(text.contains("removed from its queue"), "{text}");
    let (_, queue) = sh(&backend, container(team, "san01"), "postqueue -p", &[]).await;
    assert!(queue.contains("Mail queue is empty"), "{queue}");
    let (code, output) = sh(
        &backend,
        container(team, "router"),
        "nft delete element inet enshu team_blocked \"{ $1 }\"",
        &[&san01],
    )
    .await;
    assert_eq!(code, 0, "{output}");

    // A stopped relay: the inject fails at once, naming it.
    backend
        .stop_container(container(team, "san01"))
        .await
        .expect("stop san01");
    let failed = Instant::now();
    let error = fire(&backend, team, inject(team, "soc-alert"), 180_000, 1)
        .await
        .expect_err("no delivery through a stopped relay");
    eprintln!(
        "with san01 stopped, failed in {:.2} s: {error}",
        failed.elapsed().as_secs_f64()
    );
    assert!(
        error
            .to_string()
            .contains("seccloud/san01 does not take mail"),
        "{error}"
    );
    assert!(
        failed.elapsed() < Duration::from_secs(5),
        "a stopped relay fails the inject at once"
    );
    eprintln!("test in {:.1} s", started.elapsed().as_secs_f64());
}
