//! Backups against the real Docker engine: `tests/fixtures/backup.yaml`
//! (a file server, a web site, the backup host keeping both, the analyst
//! workstation; one router). After `up` the backup host holds each copy
//! with its manifest; ransomware on the share and a defaced page make
//! `restored` fail; the team restores as a trainee would (from the analyst
//! workstation, over SSH to the backup host, with `restore`) and
//! `restored` passes; `command` checks pass and fail as they should.
//!
//! Needs a Docker engine, root (host guard) and the role images (`make
//! images`); without them it FAILS, it never skips. Everything carries the
//! session label `bak<pid>` and is removed when the test ends, passed or
//! failed. Addresses come from 10.227.0.0/16, which no other test uses.

mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use support::{SessionDown, check, container, plan_one_team};

use enshu_backend::{Backend, ExecPrivilege};
use enshu_docker::{DockerBackend, HostGuard};
use enshu_engine::checks::{CheckOutcome, run_check};
use enshu_injector::fire;
use enshu_scenario::plan::{Plan, TeamPlan};
use enshu_store::GroundTruth;

const POOL: &str = "10.227.0.0/16";
/// The team's password when `up` is not given one (the images' default).
const PASSWORD: &str = "enshu";

fn backup_plan(session: &str) -> Plan {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backup.yaml");
    plan_one_team("backup.yaml", &std::fs::read(path).unwrap(), session, POOL)
}

async fn judged(
    backend: &DockerBackend,
    team: &TeamPlan,
    objective: &str,
    ground_truth: &BTreeMap<String, GroundTruth>,
) -> CheckOutcome {
    run_check(backend, check(team, objective), ground_truth)
        .await
        .unwrap_or_else(|error| panic!("{objective}: {error}"))
}

async fn shell(backend: &DockerBackend, container: &str, script: &str) -> (i64, String) {
    let command = ["bash", "-c", script].map(str::to_string);
    let output = backend
        .exec(container, &command, ExecPrivilege::Container)
        .await
        .unwrap_or_else(|error| panic!("{container}: {error}"));
    let mut text = output.stdout_text();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.exit_code, text)
}

/// What a trainee types on the analyst workstation (as `analyst`): log in
/// to the backup host and run `restore`, which asks for the password of the
/// user it connects to the host as (the team's).
async fn restore_as_trainee(
    backend: &DockerBackend,
    team: &TeamPlan,
    backup_address: &str,
    arguments: &str,
) {
    let analyst = container(team, "analyst");
    let script = format!(
        "printf '%s\\n' {PASSWORD} | runuser -u analyst -- sshpass -p {PASSWORD} \
         ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
         backup@{backup_address} restore {arguments}"
    );
    let (code, output) = shell(backend, analyst, &script).await;
    assert_eq!(
        code, 0,
        "restore {arguments} from the analyst workstation:\n{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_restores_the_share_and_the_site_from_the_backup_host() {
    let started = Instant::now();
    HostGuard::new()
        .ensure()
        .await
        .expect("the host guard must install (root and iptables needed)");
    let backend = DockerBackend::connect()
        .await
        .expect("the docker engine must be reachable on the local socket");
    let session = format!("bak{}", std::process::id());
    let plan = backup_plan(&session);
    let _down = SessionDown {
        session: session.clone(),
    };
    let report = enshu_controller::up(&backend, &plan, 8, &|_| {})
        .await
        .expect("enshu up (are the images built? `make images`)");
    let team = &plan.teams[0];
    let backups: Vec<&str> = report
        .steps
        .iter()
        .filter_map(|step| match step {
            enshu_controller::Step::TakeBackup { source, .. } => Some(source.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(backups, ["fs01", "sc-web"], "{:#?}", report.steps);
    eprintln!(
        "up with backups in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The backup host holds both copies with their manifests, read-only to
    // its operator; a second `up` takes none again.
    let backup = container(team, "backup01");
    let (code, manifests) = shell(
        &backend,
        backup,
        "cat /srv/backup/fs01.sha256 /srv/backup/sc-web.sha256",
    )
    .await;
    assert_eq!(code, 0, "{manifests}");
    assert!(
        manifests.contains("  ./srv/share/README.txt\n"),
        "{manifests}"
    );
    assert!(
        manifests.contains("  ./var/www/html/index.html\n"),
        "{manifests}"
    );
    let again = enshu_controller::up(&backend, &plan, 8, &|_| {})
        .await
        .expect("second up");
    assert!(
        !again
            .steps
            .iter()
            .any(|step| matches!(step, enshu_controller::Step::TakeBackup { .. })),
        "{:#?}",
        again.steps
    );

    let mut ground_truth = BTreeMap::new();
    for objective in ["share-restored", "site-restored"] {
        let outcome = judged(&backend, team, objective, &ground_truth).await;
        assert!(
            outcome.passed,
            "{objective} on the built range: {outcome:?}"
        );
    }

    // The attack: the share encrypted, the home page defaced.
    for inject in ["ransom", "deface"] {
        let planned = team
            .injects
            .iter()
            .find(|planned| planned.id == inject)
            .unwrap();
        let fired = fire(&backend, team, planned, 0, 1)
            .await
            .unwrap_or_else(|error| panic!("{inject}: {error}"));
        ground_truth.insert(
            inject.to_string(),
            GroundTruth::from_json(fired.ground_truth),
        );
    }
    let share = judged(&backend, team, "share-restored", &ground_truth).await;
    assert!(
        !share.passed && share.detail.contains("encrypted"),
        "{share:?}"
    );
    let site = judged(&backend, team, "site-restored", &ground_truth).await;
    assert!(
        !site.passed && site.detail.contains("index.html"),
        "{site:?}"
    );

    // The team restores from the analyst workstation, as trainees would.
    let backup_address = team
        .containers
        .iter()
        .find(|spec| spec.hostname == "backup01")
        .and_then(|spec| spec.primary_address())
        .unwrap()
        .to_string();
    restore_as_trainee(&backend, team, &backup_address, "--mirror fs01").await;
    restore_as_trainee(
        &backend,
        team,
        &backup_address,
        "sc-web /var/www/html/index.html",
    )
    .await;
    for objective in ["share-restored", "site-restored"] {
        let outcome = judged(&backend, team, objective, &ground_truth).await;
        assert!(outcome.passed, "{objective} after the restore: {outcome:?}");
    }

    // The generic command check: nginx's version on the web server, and
    // the site as the file server sees it (`from`; never the analyst
    // workstation, where trainees are root).
    let nginx = judged(&backend, team, "nginx-patched", &ground_truth).await;
    assert!(nginx.passed, "{nginx:?}");
    let site_up = judged(&backend, team, "site-up", &ground_truth).await;
    assert!(site_up.passed, "{site_up:?}");
    let mut newer = check(team, "nginx-patched").clone();
    newer.check.expect.as_mut().unwrap().output_matches = Some(r"nginx/1\.(2[6-9]|[3-9]\d)".into());
    let outcome = run_check(&backend, &newer, &ground_truth).await.unwrap();
    assert!(
        !outcome.passed && outcome.detail.contains("nginx/1."),
        "{outcome:?}"
    );
    let mut missing_page = check(team, "site-up").clone();
    missing_page.check.command =
        Some(r#"curl -s -o /dev/null -w '%{http_code}' "http://$1/no-such-page""#.into());
    let outcome = run_check(&backend, &missing_page, &ground_truth)
        .await
        .unwrap();
    assert!(
        !outcome.passed && outcome.detail.contains("404"),
        "{outcome:?}"
    );
    eprintln!(
        "backup test done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
