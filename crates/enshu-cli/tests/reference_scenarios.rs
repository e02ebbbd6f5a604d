//! Every reference scenario played end to end, as `make demo SCENARIO=…`
//! plays it: two teams, team 1 driven by the scenario's solver
//! (`scenarios/solvers/`) through its own way in and the portal, team 2
//! idle, the clock accelerated. Asserts what an instructor would check
//! afterwards: every inject fired exactly once per team, every objective
//! met on time by the solving team and none by the idle one, the
//! scoreboard and the export agree, and nothing is left behind. Needs
//! Docker, root and the images; fails (never skips) without them.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde_json::Value;

/// One exercise at a time: each brings up two municipal ranges.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn labelled(kind: &str, session: &str) -> usize {
    let all = if kind == "container" { "-aq" } else { "-q" };
    let output = Command::new("docker")
        .args([
            kind,
            "ls",
            all,
            "--filter",
            &format!("label=enshu.session={session}"),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "docker {kind} ls failed");
    String::from_utf8_lossy(&output.stdout).lines().count()
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `met`, `late`, `missed` or `pending`: the status object's tag.
fn status_name(status: &Value) -> String {
    status["status"]
        .as_str()
        .unwrap_or_else(|| panic!("a status without its tag: {status}"))
        .to_string()
}

/// Objective → status for one team of a scoreboard.
fn statuses(team: &Value) -> BTreeMap<String, String> {
    team["score"]["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|objective| {
            (
                objective["objective"].as_str().unwrap().to_string(),
                status_name(&objective["status"]),
            )
        })
        .collect()
}

fn play(scenario: &str, offset: u32) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let id = std::process::id() % 1000;
    let session = format!("rf{offset}{id}");
    let state = format!(
        "{}/enshu-reference-{scenario}-{id}",
        std::env::temp_dir().display()
    );
    let results = format!("{state}/results");
    let port = 31_000 + offset * 100 + id % 100;
    let access_port = 41_000 + offset * 100 + (id % 50) * 2;
    let started = std::time::Instant::now();
    let output = Command::new("bash")
        .arg(repository().join("infra/demo/run.sh"))
        .arg(scenario)
        .current_dir(repository())
        .env("ENSHU_BIN", env!("CARGO_BIN_EXE_enshu"))
        .env("ENSHU_STATE_DIR", &state)
        .env("ENSHU_DEMO_SESSION", &session)
        .env("ENSHU_DEMO_RESULTS", &results)
        .env("ENSHU_DEMO_PORT", port.to_string())
        .env("ENSHU_DEMO_ACCESS_PORT", access_port.to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "{}{}\n{scenario}: played in {:.0} s",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        started.elapsed().as_secs_f64()
    );
    let results = std::path::Path::new(&results);
    if !output.status.success()
        && let Ok(log) = std::fs::read_to_string(results.join("serve.log"))
    {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!(
            "serve.log (last lines):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert!(
        output.status.success(),
        "{scenario}: the exercise did not complete (see above)"
    );

    let plan = read_json(&results.join("plan.json"));
    let export = read_json(&results.join("results.json"));
    let board = read_json(&results.join("scoreboard.json"));
    let events = export["events"].as_array().unwrap();

    // Every inject fired exactly once for every team.
    for team in plan["teams"].as_array().unwrap() {
        let index = team["index"].as_u64().unwrap();
        for inject in team["injects"].as_array().unwrap() {
            let id = inject["id"].as_str().unwrap();
            let fired = events
                .iter()
                .filter(|event| {
                    event["team"] == index
                        && event["kind"]["kind"] == "inject_fired"
                        && event["kind"]["inject"] == id
                })
                .count();
            assert_eq!(
                fired, 1,
                "{scenario}: team {index} inject {id} fired {fired} times"
            );
        }
    }

    // The solving team met every objective on time; the idle team none.
    let teams = export["scoreboard"]["teams"].as_array().unwrap();
    let solving = statuses(&teams[0]);
    assert!(!solving.is_empty());
    let unmet: Vec<_> = solving
        .iter()
        .filter(|(_, status)| status.as_str() != "met")
        .collect();
    assert!(
        unmet.is_empty(),
        "{scenario}: team 1 did not meet {unmet:?}"
    );
    let idle_met: Vec<_> = statuses(&teams[1])
        .into_iter()
        .filter(|(_, status)| status == "met" || status == "late")
        .collect();
    assert!(
        idle_met.is_empty(),
        "{scenario}: the idle team met {idle_met:?}"
    );
    assert_eq!(teams[1]["total"], 0, "{scenario}: the idle team scored");
    assert!(teams[0]["total"].as_i64().unwrap() > 0);

    // The scoreboard the CLI showed and the export agree.
    let board_teams = board["teams"].as_array().unwrap();
    assert_eq!(board_teams.len(), teams.len());
    for (shown, exported) in board_teams.iter().zip(teams) {
        assert_eq!(
            shown["total"], exported["total"],
            "{scenario}: totals differ"
        );
        assert_eq!(
            statuses(shown),
            statuses(exported),
            "{scenario}: statuses differ"
        );
    }

    // Nothing is left behind.
    assert_eq!(
        labelled("container", &session),
        0,
        "{scenario}: containers left"
    );
    assert_eq!(
        labelled("network", &session),
        0,
        "{scenario}: networks left"
    );
}

#[test]
fn the_quickstart_is_solved_end_to_end() {
    play("quickstart", 1);
}

#[test]
fn emotet_beta_is_solved_end_to_end() {
    play("emotet-beta", 2);
}

#[test]
fn defacement_seccloud_is_solved_end_to_end() {
    play("defacement-seccloud", 3);
}

#[test]
fn usb_lgwan_is_solved_end_to_end() {
    play("usb-lgwan", 4);
}
