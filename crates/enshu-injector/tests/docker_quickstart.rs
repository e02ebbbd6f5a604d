//! The injector against the real Docker engine: the quickstart scenario for
//! one team, its injects fired, its checks run before and after the team's
//! response.
//!
//! This test needs a Docker engine on the local socket, root (host guard,
//! nsenter) and the role images (`make images`); without them it FAILS, it
//! never skips. Everything it creates carries the session label
//! `inj<pid>` and is removed by `enshu_controller::down` when the test
//! ends, passed or failed. Addresses come from 10.224.0.0/12, which no other
//! test uses (one /16 per test, as they run concurrently).
//!
//! The web role's root filesystem is read-only, so a deface cannot write
//! `/var/www/html` as the image stands; the test prototypes the fix
//! (a tmpfs on `/var/www/html`, seeded with the image's homepage, which the
//! web role's init would do) by changing the planned hardening.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::{SessionDown, check, container, inject};

use enshu_backend::{Backend, ExecPrivilege};
use enshu_docker::{DockerBackend, HostGuard};
use enshu_engine::checks::run_check;
use enshu_injector::fire;
use enshu_injector::shell::sha256_hex;
use enshu_scenario::model::{
    Action, Artefact, ArtefactKind, Check, CheckKind, Duration as ScenarioDuration,
};
use enshu_scenario::plan::{Plan, PlannedCheck, PlannedInject};
use enshu_scenario::{NoFiles, PlanOptions};
use enshu_store::GroundTruth;
use serde_json::Value;

/// The ground truth as the engine hands it to the checks (typed, as the
/// log records it).
fn typed(ground_truth: &BTreeMap<String, Value>) -> BTreeMap<String, GroundTruth> {
    ground_truth
        .iter()
        .map(|(inject, truth)| (inject.clone(), GroundTruth::from_json(truth.clone())))
        .collect()
}

/// Each test takes its own /16 of 10.224.0.0/12: they run concurrently.
const POOL_QUICKSTART: &str = "10.224.0.0/16";
const POOL_AS_BUILT: &str = "10.225.0.0/16";
const HOMEPAGE: &str = include_str!("../../../images/web/rootfs/var/www/html/index.html");

fn session_name(letter: char) -> String {
    format!("inj{}{letter}", std::process::id())
}

fn quickstart_plan(session: &str, pool: &str) -> Plan {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/quickstart.yaml"
    );
    let bytes = std::fs::read(path).expect("scenarios/quickstart.yaml");
    let loaded = enshu_scenario::load("quickstart.yaml", &bytes).expect("quickstart loads");
    let options = PlanOptions {
        session: session.to_string(),
        teams: 1,
        pool: Some(pool.parse().unwrap()),
        files: &NoFiles,
    };
    enshu_scenario::plan(&loaded, &options).expect("quickstart plans")
}

async fn sh(backend: &DockerBackend, container: &str, script: &str) -> (i64, String) {
    let command = vec!["bash".to_string(), "-c".to_string(), script.to_string()];
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

async fn wait_until(backend: &DockerBackend, container: &str, script: &str, what: &str) {
    let started = Instant::now();
    loop {
        if let Ok(output) = backend
            .exec(
                container,
                &["bash".into(), "-c".into(), script.into()],
                ExecPrivilege::Container,
            )
            .await
            && output.exit_code == 0
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}: not ready after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_injects_and_checks_against_docker() {
    HostGuard::new()
        .ensure()
        .await
        .expect("the host guard must install (root and iptables needed)");
    let backend = DockerBackend::connect()
        .await
        .expect("the docker engine must be reachable on the local socket");
    let session = session_name('q');
    let plan = quickstart_plan(&session, POOL_QUICKSTART);
    let _down = SessionDown {
        session: session.clone(),
    };
    let started = Instant::now();
    enshu_controller::up(&backend, &plan, 4, &|_| {})
        .await
        .expect("enshu up (are the images built? `make images`)");
    eprintln!("up in {:?}", started.elapsed());
    let team = &plan.teams[0];
    let (pc01, www, c2, router) = (
        container(team, "pc01"),
        container(team, "www"),
        container(team, "c2"),
        container(team, "router"),
    );
    for name in [pc01, www, c2] {
        wait_until(&backend, name, "test -e /run/enshu/ready", name).await;
    }
    // The web role's init seeds its tmpfs web root from the image.
    wait_until(
        &backend,
        www,
        "curl -fsS -o /dev/null http://127.0.0.1/",
        "www homepage",
    )
    .await;
    let c2_address = inject(team, "beacon").addresses["internet/c2"].clone();
    let mut ground_truth: BTreeMap<String, Value> = BTreeMap::new();

    // Beacon: every second, a bounded count.
    let mut beacon = inject(team, "beacon").clone();
    if let Action::Traffic(traffic) = &mut beacon.action {
        traffic.interval = Some(ScenarioDuration::from_secs(1));
        traffic.count = Some(120);
    }
    let fired = fire(&backend, team, &beacon, 60_000, 1)
        .await
        .expect("beacon fires");
    eprintln!("beacon: {}", fired.ground_truth);
    assert_eq!(fired.target, "office/pc01");
    assert_eq!(fired.ground_truth["destination"], c2_address.as_str());
    assert_eq!(fired.ground_truth["port"], 8080);
    assert_eq!(fired.ground_truth["count"], 120);
    assert_eq!(fired.ground_truth["interval_ms"], 1000);
    assert_eq!(
        fired.ground_truth["source"],
        team.containers
            .iter()
            .find(|c| c.hostname == "pc01")
            .unwrap()
            .primary_address()
            .unwrap()
            .to_string()
    );
    let beacon_pid = fired.ground_truth["pid"].clone();
    ground_truth.insert(fired.inject.clone(), fired.ground_truth);
    // Fired again (a controller crashed before recording it): no second generator.
    let again = fire(&backend, team, &beacon, 60_000, 1)
        .await
        .expect("beacon fires again");
    assert_eq!(again.ground_truth["pid"], beacon_pid);

    // Dropper file.
    let fired = fire(&backend, team, inject(team, "dropper"), 60_100, 1)
        .await
        .expect("dropper fires");
    eprintln!("dropper: {}", fired.ground_truth);
    let dropper_content = "#!/bin/sh\n# enshu marker: harmless stand-in for a downloader\n";
    assert_eq!(fired.ground_truth["path"], "/home/staff/.cache/update.sh");
    assert_eq!(
        fired.ground_truth["sha256"],
        sha256_hex(dropper_content.as_bytes())
    );
    // Root in the container has no DAC_OVERRIDE: read staff's home as staff.
    let (_, on_disk) = sh(
        &backend,
        pc01,
        "setpriv --reuid=staff --regid=staff --clear-groups sh -c \"sha256sum /home/staff/.cache/update.sh; stat -c '%a' /home/staff/.cache/update.sh\"",
    )
    .await;
    assert!(
        on_disk.starts_with(&sha256_hex(dropper_content.as_bytes())),
        "{on_disk}"
    );
    assert!(on_disk.ends_with("755\n"), "{on_disk}");
    ground_truth.insert(fired.inject.clone(), fired.ground_truth);

    // Cron persistence in staff's crontab.
    let fired = fire(&backend, team, inject(team, "persistence"), 70_100, 1)
        .await
        .expect("persistence fires");
    eprintln!("persistence: {}", fired.ground_truth);
    assert_eq!(
        fired.ground_truth["cron_line"],
        "*/5 * * * * /home/staff/.cache/update.sh"
    );
    // cron on the workstation role cannot open staff's crontab (no
    // DAC_READ_SEARCH), so persistence goes into root's, where it runs.
    assert_eq!(fired.ground_truth["user"], "root");
    assert_eq!(fired.ground_truth["active"], true);
    let (_, crontab) = sh(&backend, pc01, "stat -c '%U %G %a' /var/spool/cron/crontabs/root; cat /var/spool/cron/crontabs/root; sha256sum /var/spool/cron/crontabs/root").await;
    assert!(
        crontab.starts_with("root crontab 600\n*/5 * * * * /home/staff/.cache/update.sh\n"),
        "{crontab}"
    );
    assert!(
        crontab.contains(fired.ground_truth["file_sha256"].as_str().unwrap()),
        "{crontab}"
    );
    fire(&backend, team, inject(team, "persistence"), 70_100, 1)
        .await
        .expect("persistence fires again");
    let (_, lines) = sh(
        &backend,
        pc01,
        "grep -c update.sh /var/spool/cron/crontabs/root",
    )
    .await;
    assert_eq!(lines, "1\n", "a repeated fire adds no second line");
    ground_truth.insert(fired.inject.clone(), fired.ground_truth);

    // Deface, golden copy first.
    let fired = fire(&backend, team, inject(team, "deface"), 120_000, 1)
        .await
        .expect("deface fires");
    eprintln!("deface: {}", fired.ground_truth);
    assert_eq!(
        fired.ground_truth["golden_sha256"],
        sha256_hex(HOMEPAGE.as_bytes())
    );
    assert_eq!(
        fired.ground_truth["defaced_sha256"],
        sha256_hex(b"<html><body><h1>HACKED</h1></body></html>\n")
    );
    let (_, served) = sh(&backend, www, "curl -s http://127.0.0.1/").await;
    assert_eq!(served, "<html><body><h1>HACKED</h1></body></html>\n");
    ground_truth.insert(fired.inject.clone(), fired.ground_truth.clone());

    // The SOC's mail, rendered with the team's C2 address.
    let fired = fire(&backend, team, inject(team, "soc-alert"), 180_000, 1)
        .await
        .expect("soc-alert fires");
    assert!(
        fired.ground_truth["body"]["en"]
            .as_str()
            .unwrap()
            .contains(&c2_address),
        "{}",
        fired.ground_truth
    );

    // Extra artefacts on pc01: a named process and a log line with shell syntax in it.
    let mut process = inject(team, "dropper").clone();
    process.id = "loader-process".into();
    process.action = Action::Artefact(Artefact {
        kind: ArtefactKind::Process,
        path: None,
        content: None,
        lines: vec![],
        name: Some("regsvr32-Nvtewq".into()),
        schedule: None,
    });
    let fired = fire(&backend, team, &process, 80_000, 1)
        .await
        .expect("process fires");
    let (_, pgrep) = sh(&backend, pc01, "pgrep -a -x regsvr32-Nvtewq").await;
    assert!(
        pgrep.starts_with(&format!("{} regsvr32-Nvtewq", fired.ground_truth["pid"])),
        "{pgrep} vs {}",
        fired.ground_truth
    );
    let mut log = process.clone();
    log.id = "edr-log".into();
    let nasty =
        "EDR alert: 'quoted' \"double\" $(touch /tmp/pwned) `id` ; rm -rf / {{internet/c2}}";
    log.action = Action::Artefact(Artefact {
        kind: ArtefactKind::Log,
        path: Some("/var/log/edr.log".into()),
        content: None,
        lines: vec![nasty.into()],
        name: None,
        schedule: None,
    });
    fire(&backend, team, &log, 80_500, 1)
        .await
        .expect("log fires");
    let (_, logged) = sh(
        &backend,
        pc01,
        "tail -n 1 /var/log/edr.log; test -e /tmp/pwned && echo PWNED",
    )
    .await;
    assert!(
        logged
            .trim_end()
            .ends_with(&nasty.replace("{{internet/c2}}", &c2_address)),
        "{logged}"
    );
    assert!(!logged.contains("PWNED"), "{logged}");

    // Process check: fails while it runs, passes once the team kills it.
    let process_check = PlannedCheck {
        objective: "kill-loader".into(),
        check: Check {
            kind: CheckKind::ProcessAbsent,
            target: "office/pc01".into(),
            from: None,
            to: None,
            port: None,
            path: None,
            status: None,
            sha256: None,
            golden: None,
            name: Some("regsvr32-Nvtewq".into()),
            group: None,
            window: None,
            command: None,
            expect: None,
        },
        target: check(team, "remove-persistence").target.clone(),
        from: None,
        to: None,
        since: None,
        router: None,
    };
    assert!(
        !run_check(&backend, &process_check, &typed(&ground_truth))
            .await
            .unwrap()
            .passed
    );
    sh(&backend, pc01, "pkill -x regsvr32-Nvtewq").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outcome = run_check(&backend, &process_check, &typed(&ground_truth))
        .await
        .unwrap();
    assert!(outcome.passed, "{outcome:?}");

    // no_beacon: fails while beacons flow; passes after the team blocks the
    // C2 in its router and the (shortened) window has passed.
    let mut no_beacon = check(team, "block-c2").clone();
    no_beacon.check.window = Some(ScenarioDuration::from_secs(4));
    wait_until(
        &backend,
        c2,
        &format!(
            "grep -c '\"src\": \"{}\"' /var/log/c2/beacons.jsonl | grep -qv '^[01]$'",
            no_beacon.target.address.unwrap()
        ),
        "two beacons at the C2",
    )
    .await;
    let outcome = run_check(&backend, &no_beacon, &typed(&ground_truth))
        .await
        .unwrap();
    eprintln!("no_beacon while beaconing: {outcome:?}");
    assert!(!outcome.passed, "{outcome:?}");

    // The team silences the C2 (as holding all its connections would): it
    // logs nothing more, the beacon goes on, and no_beacon must not pass —
    // the router counts what crosses it, not what the C2 logs.
    let (code, output) = sh(&backend, c2, "pkill -STOP -f '[/]usr/local/sbin/enshu-c2'").await;
    assert_eq!(code, 0, "{output}");
    let c2_log_lines = "wc -l < /var/log/c2/beacons.jsonl";
    let (_, logged_before) = sh(&backend, c2, c2_log_lines).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (_, logged_after) = sh(&backend, c2, c2_log_lines).await;
    assert_eq!(logged_before, logged_after, "the stopped C2 still logs");
    // A beacon to a stopped server waits out curl's 5 s between packets:
    // judged over 20 s (the router keeps the pair for the plan's 60 s).
    let mut over_20_seconds = no_beacon.clone();
    over_20_seconds.check.window = Some(ScenarioDuration::from_secs(20));
    let outcome = run_check(&backend, &over_20_seconds, &typed(&ground_truth))
        .await
        .unwrap();
    eprintln!("no_beacon with the C2 silenced: {outcome:?}");
    assert!(!outcome.passed, "{outcome:?}");
    assert!(
        outcome.detail.contains("the router forwarded a beacon"),
        "{outcome:?}"
    );

    // Reloading the router's ruleset (`enshu up` again) keeps the count.
    let counter = format!(
        "nft list counter inet {} {} | grep -o 'packets [0-9]*'",
        enshu_scenario::plan::BEACON_TABLE,
        enshu_scenario::plan::beacon_counter(
            no_beacon.target.address.unwrap(),
            c2_address.parse().unwrap()
        )
    );
    let (_, counted_before) = sh(&backend, router, &counter).await;
    assert!(
        backend
            .load_nftables(router, &team.firewall.nftables)
            .await
            .unwrap()
    );
    let (_, counted_after) = sh(&backend, router, &counter).await;
    let packets =
        |text: &str| -> u64 { text.trim().trim_start_matches("packets ").parse().unwrap() };
    eprintln!("beacon counter before a reload: {counted_before:?}, after: {counted_after:?}");
    assert!(packets(&counted_before) > 0 && packets(&counted_after) >= packets(&counted_before));

    // The team blocks the C2 on its firewall, as the portal does: the
    // router drops the beacon before counting it, and after the window
    // no_beacon passes (the firewall change did not reset the counter).
    let block = enshu_engine::firewall::firewall_command(true, &c2_address);
    let output = backend
        .exec(router, &block, ExecPrivilege::Container)
        .await
        .unwrap();
    assert_eq!(output.exit_code, 0, "{output:?}");
    // A beacon is dropped from its first packet on; then a quiet window of 4 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let outcome = run_check(&backend, &no_beacon, &typed(&ground_truth))
        .await
        .unwrap();
    eprintln!("no_beacon after the block: {outcome:?}");
    assert!(outcome.passed, "{outcome:?}");
    let (code, output) = sh(&backend, c2, "pkill -CONT -f '[/]usr/local/sbin/enshu-c2'").await;
    assert_eq!(code, 0, "{output}");

    // file_absent: fails while the dropper is there, passes once it is removed.
    let file_absent = check(team, "remove-persistence");
    let outcome = run_check(&backend, file_absent, &typed(&ground_truth))
        .await
        .unwrap();
    assert!(!outcome.passed, "{outcome:?}");
    sh(
        &backend,
        pc01,
        "setpriv --reuid=staff --regid=staff --clear-groups rm -f /home/staff/.cache/update.sh",
    )
    .await;
    let outcome = run_check(&backend, file_absent, &typed(&ground_truth))
        .await
        .unwrap();
    assert!(outcome.passed, "{outcome:?}");

    // http golden: fails while defaced, passes once the golden copy is back.
    let restore_site = check(team, "restore-site");
    let outcome = run_check(&backend, restore_site, &typed(&ground_truth))
        .await
        .unwrap();
    eprintln!("http while defaced: {outcome:?}");
    assert!(!outcome.passed, "{outcome:?}");
    enshu_injector::artefact::restore_deface(&backend, www, &ground_truth["deface"])
        .await
        .unwrap();
    let outcome = run_check(&backend, restore_site, &typed(&ground_truth))
        .await
        .unwrap();
    assert!(outcome.passed, "{outcome:?}");

    // account_disabled on the web admin: fails with the image's password,
    // passes once the team changes it.
    let account = PlannedCheck {
        objective: "admin-password".into(),
        check: Check {
            kind: CheckKind::AccountDisabled,
            target: "dmz/www".into(),
            from: None,
            to: None,
            port: None,
            path: None,
            status: None,
            sha256: None,
            golden: None,
            name: Some("admin".into()),
            group: None,
            window: None,
            command: None,
            expect: None,
        },
        target: restore_site.target.clone(),
        from: None,
        to: None,
        since: None,
        router: None,
    };
    let outcome = run_check(&backend, &account, &typed(&ground_truth))
        .await
        .unwrap();
    assert!(!outcome.passed, "{outcome:?}");
    // As the site administrator changes it (webadmin writes the htpasswd through its group).
    let (code, output) = sh(
        &backend,
        www,
        r#"setpriv --reuid=webadmin --regid=www-data --clear-groups -- bash -c 'printf "admin:%s\n" "$(openssl passwd -apr1 new-Secret-9)" > /run/enshu/htpasswd'"#,
    )
    .await;
    assert_eq!(code, 0, "{output}");
    let outcome = run_check(&backend, &account, &typed(&ground_truth))
        .await
        .unwrap();
    assert!(outcome.passed, "{outcome:?}");

    // The schedule agrees: with everything fired, nothing is due.
    let mut state = enshu_injector::ScheduleState::default();
    for id in [
        "beacon",
        "dropper",
        "persistence",
        "deface",
        "deface-log",
        "soc-alert",
    ] {
        state.record_fired(id, 0);
    }
    assert!(enshu_injector::due(&team.injects, &state, u64::MAX / 2).is_empty());
}

/// The roles as built: the deface works on the image's own seeded web root
/// (a tmpfs); artefacts in a user's home,
/// a user account and a reversible "encryption" on the workstation; a
/// bounded HTTP brute force against the web admin page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artefacts_on_the_roles_as_built() {
    HostGuard::new()
        .ensure()
        .await
        .expect("the host guard must install (root and iptables needed)");
    let backend = DockerBackend::connect()
        .await
        .expect("the docker engine must be reachable on the local socket");
    let session = session_name('b');
    let plan = quickstart_plan(&session, POOL_AS_BUILT);
    let _down = SessionDown {
        session: session.clone(),
    };
    enshu_controller::up(&backend, &plan, 4, &|_| {})
        .await
        .expect("enshu up (are the images built? `make images`)");
    let team = &plan.teams[0];
    let (pc01, www) = (container(team, "pc01"), container(team, "www"));
    for name in [pc01, www] {
        wait_until(&backend, name, "test -e /run/enshu/ready", name).await;
    }

    let (_, served) = sh(&backend, www, "curl -s http://127.0.0.1/ | sha256sum").await;
    assert!(
        served.starts_with(&sha256_hex(HOMEPAGE.as_bytes())),
        "the image seeds its own homepage: {served}"
    );
    let fired = fire(&backend, team, inject(team, "deface"), 120_000, 1)
        .await
        .expect("the deface writes the tmpfs web root");
    assert_eq!(
        fired.ground_truth["golden_sha256"],
        sha256_hex(HOMEPAGE.as_bytes())
    );

    let artefact = |id: &str, kind: ArtefactKind| {
        let mut planted = inject(team, "dropper").clone();
        planted.id = id.to_string();
        planted.action = Action::Artefact(Artefact {
            kind,
            path: None,
            content: None,
            lines: vec![],
            name: None,
            schedule: None,
        });
        planted
    };
    let with = |mut planted: PlannedInject, edit: &dyn Fn(&mut Artefact)| {
        if let Action::Artefact(artefact) = &mut planted.action {
            edit(artefact);
        }
        planted
    };

    // A file in staff's home: root may not write there, the user does.
    let macro_file = with(artefact("macro", ArtefactKind::File), &|artefact| {
        artefact.path = Some("/home/staff/AppData/Local/Temp/Nvtewq.dll".into());
        artefact.content = Some("ENSHU-MARKER emotet-loader stand-in; harmless\n".into());
    });
    let fired = fire(&backend, team, &macro_file, 180_000, 1)
        .await
        .expect("file in a home fires");
    eprintln!("macro: {}", fired.ground_truth);
    // Root cannot look inside staff's home either: read it as staff.
    let as_staff = "setpriv --reuid=staff --regid=staff --clear-groups";
    let (_, listing) = sh(&backend, pc01, &format!("{as_staff} stat -c '%U %a' /home/staff/AppData/Local/Temp/Nvtewq.dll; {as_staff} sha256sum /home/staff/AppData/Local/Temp/Nvtewq.dll")).await;
    assert!(listing.starts_with("staff 644\n"), "{listing}");
    assert!(
        listing.contains(fired.ground_truth["sha256"].as_str().unwrap()),
        "{listing}"
    );
    // The emotet check sees it (as staff), and sees it go.
    let mut remove_loader = check(team, "remove-persistence").clone();
    remove_loader.check.path = Some("/home/staff/AppData/Local/Temp/*.dll".into());
    let outcome = run_check(&backend, &remove_loader, &BTreeMap::new())
        .await
        .unwrap();
    assert!(!outcome.passed, "{outcome:?}");
    sh(
        &backend,
        pc01,
        &format!("{as_staff} rm /home/staff/AppData/Local/Temp/Nvtewq.dll"),
    )
    .await;
    let outcome = run_check(&backend, &remove_loader, &BTreeMap::new())
        .await
        .unwrap();
    assert!(outcome.passed, "{outcome:?}");

    // A backdoor account: /etc/passwd is on the read-only root.
    let user = with(artefact("backdoor", ArtefactKind::User), &|artefact| {
        artefact.name = Some("svc-backup".into())
    });
    let fired = fire(&backend, team, &user, 190_000, 1)
        .await
        .expect("user fires");
    eprintln!("user: {}", fired.ground_truth);
    assert_eq!(fired.ground_truth["method"], "shadow-only");
    let (_, shadow) = sh(
        &backend,
        pc01,
        "grep '^svc-backup:' /etc/shadow; test -d /home/svc-backup && echo home",
    )
    .await;
    assert!(shadow.starts_with("svc-backup:$6$enshu$"), "{shadow}");
    assert!(shadow.contains("home"), "{shadow}");

    // Ransomware stand-in: rename, note, restore.
    sh(&backend, pc01, &format!("{as_staff} sh -c 'mkdir -p /home/staff/Documents && echo a > /home/staff/Documents/予算.xlsx && echo b > /home/staff/Documents/memo.docx'")).await;
    let encrypt = with(artefact("ransom", ArtefactKind::Encrypt), &|artefact| {
        artefact.path = Some("/home/staff/Documents".into())
    });
    let fired = fire(&backend, team, &encrypt, 200_000, 1)
        .await
        .expect("encrypt fires");
    eprintln!("encrypt: {}", fired.ground_truth);
    assert_eq!(fired.ground_truth["files_renamed"], 2);
    let (_, locked) = sh(
        &backend,
        pc01,
        &format!("{as_staff} ls /home/staff/Documents | sort"),
    )
    .await;
    assert_eq!(
        locked,
        "README_RESTORE_FILES.txt\nmemo.docx.locked\n予算.xlsx.locked\n"
    );
    enshu_injector::artefact::restore_encrypt(&backend, pc01, &fired.ground_truth)
        .await
        .expect("restore");
    let (_, restored) = sh(&backend, pc01, &format!("{as_staff} ls /home/staff/Documents | sort; {as_staff} cat /home/staff/Documents/予算.xlsx")).await;
    assert_eq!(restored, "memo.docx\n予算.xlsx\na\n");

    // A bounded brute force against the web admin page, visible as 401s.
    let mut brute_force = inject(team, "beacon").clone();
    brute_force.id = "brute".into();
    brute_force.addresses = BTreeMap::from([(
        "dmz/www".to_string(),
        team.containers
            .iter()
            .find(|c| c.hostname == "www")
            .unwrap()
            .primary_address()
            .unwrap()
            .to_string(),
    )]);
    if let Action::Traffic(traffic) = &mut brute_force.action {
        traffic.kind = enshu_scenario::model::TrafficKind::BruteForce;
        traffic.to = "dmz/www".into();
        traffic.ports = vec!["tcp/80".parse().unwrap()];
        traffic.count = Some(4);
        traffic.interval = Some(ScenarioDuration::from_secs(0));
        traffic.path = Some("/admin/".into());
        traffic.user = Some("admin".into());
    }
    let fired = fire(&backend, team, &brute_force, 210_000, 1)
        .await
        .expect("brute force fires");
    eprintln!("brute force: {}", fired.ground_truth);
    assert_eq!(fired.ground_truth["method"], "http");
    wait_until(
        &backend,
        www,
        "[ \"$(grep -c '\"GET /admin/ HTTP/1.1\" 401' /var/log/nginx/access.log)\" = 4 ]",
        "four 401s in the access log",
    )
    .await;

    // Exfiltration to the C2: 100 000 random bytes in 64 KiB chunks.
    let c2 = container(team, "c2");
    wait_until(&backend, c2, "test -e /run/enshu/ready", c2).await;
    let mut exfiltration = inject(team, "beacon").clone();
    exfiltration.id = "exfil".into();
    if let Action::Traffic(traffic) = &mut exfiltration.action {
        traffic.kind = enshu_scenario::model::TrafficKind::Exfiltration;
        traffic.bytes = Some(100_000);
        traffic.interval = Some(ScenarioDuration::from_secs(0));
        traffic.path = Some("/upload".into());
    }
    let fired = fire(&backend, team, &exfiltration, 220_000, 1)
        .await
        .expect("exfiltration fires");
    eprintln!("exfiltration: {}", fired.ground_truth);
    assert_eq!(fired.ground_truth["count"], 2);
    wait_until(
        &backend,
        c2,
        r#"[ "$(python3 -c 'import json; print(sum(json.loads(l)["body_len"] for l in open("/var/log/c2/beacons.jsonl") if "/upload" in l))')" = 100000 ]"#,
        "100000 bytes at the C2",
    )
    .await;

    // A connect scan of the web server (only tcp/80 is allowed through).
    let mut scan = brute_force.clone();
    scan.id = "scan".into();
    if let Action::Traffic(traffic) = &mut scan.action {
        traffic.kind = enshu_scenario::model::TrafficKind::Scan;
        traffic.ports = vec!["tcp/20-25".parse().unwrap(), "tcp/80".parse().unwrap()];
        traffic.count = None;
    }
    let fired = fire(&backend, team, &scan, 230_000, 1)
        .await
        .expect("scan fires");
    eprintln!("scan: {}", fired.ground_truth);
    assert_eq!(
        fired.ground_truth["ports"],
        serde_json::json!([20, 21, 22, 23, 24, 25, 80])
    );

    // DNS tunnelling queries (dig is in every image; udp/53 to the internet
    // segment is not an allowed flow, so they die at the router: ground truth only).
    let mut tunnel = exfiltration.clone();
    tunnel.id = "tunnel".into();
    if let Action::Traffic(traffic) = &mut tunnel.action {
        traffic.kind = enshu_scenario::model::TrafficKind::DnsTunnel;
        traffic.domain = Some("cdn-update.example".into());
        traffic.count = Some(3);
        traffic.ports = vec![];
    }
    let fired = fire(&backend, team, &tunnel, 235_000, 1)
        .await
        .expect("dns tunnel fires");
    assert_eq!(
        (
            fired.ground_truth["port"].clone(),
            fired.ground_truth["count"].clone()
        ),
        (serde_json::json!(53), serde_json::json!(3))
    );

    // account_disabled through /etc/shadow: staff keeps the image's password
    // until the team locks the account (passwd -l cannot write the
    // read-only /etc, so the lock goes into the shadow file itself).
    let account = PlannedCheck {
        objective: "lock-staff".into(),
        check: Check {
            kind: CheckKind::AccountDisabled,
            target: "office/pc01".into(),
            from: None,
            to: None,
            port: None,
            path: None,
            status: None,
            sha256: None,
            golden: None,
            name: Some("staff".into()),
            group: None,
            window: None,
            command: None,
            expect: None,
        },
        target: check(team, "remove-persistence").target.clone(),
        from: None,
        to: None,
        since: None,
        router: None,
    };
    let outcome = run_check(&backend, &account, &BTreeMap::new())
        .await
        .unwrap();
    assert!(!outcome.passed, "{outcome:?}");
    sh(&backend, pc01, "awk -F: -v OFS=: '$1 == \"staff\" { $2 = \"!\" $2 } 1' /etc/shadow > /tmp/shadow && cat /tmp/shadow > /etc/shadow").await;
    let outcome = run_check(&backend, &account, &BTreeMap::new())
        .await
        .unwrap();
    assert!(outcome.passed, "{outcome:?}");

    // The egress guard: a destination outside the team's networks is refused.
    let mut escape = brute_force.clone();
    escape.id = "escape".into();
    escape
        .addresses
        .insert("dmz/www".into(), "10.224.20.10".into());
    let error = fire(&backend, team, &escape, 240_000, 1).await.unwrap_err();
    assert!(error.to_string().contains("egress guard"), "{error}");
}
