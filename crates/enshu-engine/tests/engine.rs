//! The engine against the recording fake backend and a temporary SQLite
//! store: plain `cargo test -p enshu-engine`, no Docker, no root.
//!
//! A "restart" is what `enshu serve` does when started again: a new
//! engine state over the store opened again; whatever survives it is in the
//! log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use enshu_backend::ExecOutput;
use enshu_backend::fake::{Call, ExecScript, FakeBackend};
use enshu_engine::reset::{RangeHost, ResetLog, reset_team};
use enshu_engine::{CheckState, Engine, FireState, Shared, check_round, fire_round};
use enshu_scenario::plan::Plan;
use enshu_scenario::{NoFiles, PlanOptions};
use enshu_store::{
    ClockAction, Event, EventKind, EventQuery, NewEvent, NewSession, NewTeam, SessionId, Store,
    TeamFilter,
};

const QUICKSTART: &[u8] = include_bytes!("../../../scenarios/quickstart.yaml");

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One exercise: a quickstart range on the fake, a log in a temporary file.
struct Exercise {
    directory: std::path::PathBuf,
    url: String,
    session: SessionId,
    scenario: enshu_scenario::model::Scenario,
    plan: Plan,
    backend: FakeBackend,
}

impl Drop for Exercise {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

impl Exercise {
    async fn new(teams: u32) -> Exercise {
        Exercise::of(teams, QUICKSTART).await
    }

    /// An exercise of scenario `yaml` (a quickstart variant).
    async fn of(teams: u32, yaml: &[u8]) -> Exercise {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let directory = std::env::temp_dir().join(format!(
            "enshu-engine-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&directory).unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            directory.join("engine.db").display()
        );
        let loaded = enshu_scenario::load("quickstart.yaml", yaml).unwrap();
        let plan = enshu_scenario::plan(
            &loaded,
            &PlanOptions {
                session: "engine-test".into(),
                teams,
                pool: Some("10.224.0.0/12".parse().unwrap()),
                files: &NoFiles,
            },
        )
        .unwrap();
        let store = Store::open(&url).await.unwrap();
        let session = store
            .create_session(&NewSession {
                name: "engine-test".into(),
                scenario_id: loaded.scenario.id.clone(),
                scenario_yaml: String::from_utf8_lossy(yaml).into_owned(),
                teams: plan
                    .teams
                    .iter()
                    .map(|team| NewTeam {
                        name: team.name.clone(),
                        token: format!("token-of-{}-0123456789abcdef", team.name),
                    })
                    .collect(),
            })
            .await
            .unwrap()
            .id;
        store.close().await;
        let backend = FakeBackend::new();
        enshu_controller::up(&backend, &plan, 4, &|_| {})
            .await
            .unwrap();
        backend.clear_calls();
        Exercise {
            directory,
            url,
            session,
            scenario: loaded.scenario,
            plan,
            backend,
        }
    }

    /// What `enshu serve` builds when it starts: the store opened afresh.
    async fn serve(&self) -> Shared<FakeBackend> {
        Shared {
            backend: self.backend.clone(),
            store: Store::open(&self.url).await.unwrap(),
            session: self.session,
            scenario: self.scenario.clone(),
            plan: self.plan.clone(),
            replay: None,
        }
    }

    async fn append(&self, team: Option<u32>, kind: EventKind, at_ms: Option<i64>) -> Event {
        let store = Store::open(&self.url).await.unwrap();
        let event = store
            .append_event(NewEvent {
                session: self.session,
                team,
                kind,
                actor: "test".into(),
                at_ms,
                exercise_ms: None,
            })
            .await
            .unwrap();
        store.close().await;
        event
    }

    /// Start every team's clock `exercise_seconds` ago (at speed 1).
    async fn start_clock_ago(&self, exercise_seconds: i64) {
        let start = EventKind::ClockChanged {
            action: ClockAction::Start,
            team: None,
            speed: None,
        };
        self.append(None, start, Some(now_ms() - exercise_seconds * 1_000))
            .await;
    }

    async fn events(&self) -> Vec<Event> {
        let store = Store::open(&self.url).await.unwrap();
        let events = store
            .events(
                self.session,
                EventQuery {
                    team: TeamFilter::All,
                    after_seq: 0,
                    limit: None,
                },
            )
            .await
            .unwrap();
        store.close().await;
        events
    }

    fn container(&self, team: usize, hostname: &str) -> String {
        self.plan.teams[team]
            .containers
            .iter()
            .find(|container| container.hostname == hostname)
            .unwrap()
            .name
            .clone()
    }
}

/// The injects fired for `team`, in log order.
fn fired(events: &[Event], team: u32) -> Vec<String> {
    events
        .iter()
        .filter(|event| event.team == Some(team))
        .filter_map(|event| match &event.kind {
            EventKind::InjectFired { inject, .. } => Some(inject.clone()),
            _ => None,
        })
        .collect()
}

fn check_results(events: &[Event]) -> Vec<(u32, String, bool)> {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::CheckResult {
                objective, passed, ..
            } => Some((event.team.unwrap(), objective.clone(), *passed)),
            _ => None,
        })
        .collect()
}

/// The exercise 200 s in: the timed injects at 1, 2 and 3 minutes are due,
/// and the chains that follow them at once; `persistence` waits 10 s more.
const ROUND_AT_200_S: [&str; 5] = ["beacon", "deface", "soc-alert", "dropper", "deface-log"];

#[tokio::test]
async fn injects_fire_by_due_time_and_chains_after_their_predecessor() {
    let exercise = Exercise::new(2).await;
    exercise.start_clock_ago(200).await;
    let shared = exercise.serve().await;
    fire_round(&shared, &mut FireState::default())
        .await
        .unwrap();
    let events = exercise.events().await;
    assert_eq!(fired(&events, 1), ROUND_AT_200_S);
    assert_eq!(fired(&events, 2), ROUND_AT_200_S);
    // Each recorded at its team's exercise time, with typed ground truth.
    for event in events.iter().filter(|event| event.team == Some(1)) {
        if let EventKind::InjectFired {
            inject,
            ground_truth,
            ..
        } = &event.kind
        {
            assert_eq!(ground_truth.inject.as_deref(), Some(inject.as_str()));
            assert_eq!(ground_truth.team.as_deref(), Some("t01"));
            assert!(event.exercise_ms.unwrap() >= 200_000, "{event:?}");
        }
    }
    let deface = events
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::InjectFired {
                inject,
                ground_truth,
                ..
            } if inject == "deface" => Some(ground_truth.clone()),
            _ => None,
        })
        .unwrap();
    assert!(deface.golden_sha256.is_some(), "{deface:?}");
}

#[tokio::test]
async fn a_restarted_engine_does_not_fire_again() {
    let exercise = Exercise::new(1).await;
    exercise.start_clock_ago(200).await;
    let shared = exercise.serve().await;
    fire_round(&shared, &mut FireState::default())
        .await
        .unwrap();
    shared.store.close().await;
    let execs_before = exercise.backend.calls().len();

    let restarted = exercise.serve().await;
    fire_round(&restarted, &mut FireState::default())
        .await
        .unwrap();
    fire_round(&restarted, &mut FireState::default())
        .await
        .unwrap();
    assert_eq!(fired(&exercise.events().await, 1), ROUND_AT_200_S);
    assert_eq!(exercise.backend.calls().len(), execs_before);
}

#[tokio::test]
async fn an_inject_is_held_after_three_failures_across_a_restart() {
    let exercise = Exercise::new(1).await;
    exercise.backend.script_exec(ExecScript {
        container: exercise.container(0, "pc01"),
        argument: "enshu-launch".into(),
        delay: Duration::ZERO,
        answer: Err("injected failure".into()),
    });
    exercise.start_clock_ago(61).await;
    let shared = exercise.serve().await;
    let mut state = FireState::default();
    fire_round(&shared, &mut state).await.unwrap();
    fire_round(&shared, &mut state).await.unwrap();
    shared.store.close().await;

    // Two failures are in the log: the restarted engine's first is the third.
    let restarted = exercise.serve().await;
    let mut state = FireState::default();
    fire_round(&restarted, &mut state).await.unwrap();
    fire_round(&restarted, &mut state).await.unwrap();
    let events = exercise.events().await;
    let attempts: Vec<u32> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::InjectFailed {
                inject, attempt, ..
            } if inject == "beacon" => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    let held: Vec<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::InjectHeld { inject } => Some(inject.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(held, ["beacon"]);
    assert!(events.iter().any(|event| matches!(&event.kind,
        EventKind::InstructorNote { text } if text.starts_with("inject beacon failed 3 times and was held"))));
    assert!(
        fired(&events, 1).is_empty(),
        "the chain waits for the beacon"
    );
}

/// A machine that needs nothing and proves isolation at once.
struct NoMachine;

impl RangeHost for NoMachine {
    type Verified = ();

    async fn before_rebuild(&self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn verify(&self, _plan: &Plan) -> anyhow::Result<((), bool)> {
        Ok(((), true))
    }
}

#[tokio::test]
async fn a_reset_team_gets_its_past_injects_again_and_the_others_do_not() {
    let exercise = Exercise::new(2).await;
    exercise.start_clock_ago(200).await;
    let shared = exercise.serve().await;
    fire_round(&shared, &mut FireState::default())
        .await
        .unwrap();
    // Failures before the reset are of a range that is gone.
    exercise
        .append(
            Some(1),
            EventKind::InjectFailed {
                inject: "persistence".into(),
                attempt: 2,
                error: "earlier".into(),
            },
            None,
        )
        .await;

    let log = ResetLog {
        store: Store::open(&exercise.url).await.unwrap(),
        session: exercise.session,
        actor: "test reset".into(),
    };
    let team = &exercise.plan.teams[0];
    let report = reset_team(
        &exercise.backend,
        &NoMachine,
        &exercise.plan,
        team,
        Some(&log),
        4,
    )
    .await
    .unwrap();
    assert!(report.log_told && report.verified_ok);
    assert_eq!(report.containers, team.containers.len());
    let removed: Vec<String> = exercise
        .backend
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            Call::Remove(name) => Some(name),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), team.containers.len());
    assert!(
        removed.iter().all(|name| name.contains("-t01-")),
        "{removed:?}"
    );

    let events = exercise.events().await;
    let reset_kinds: Vec<&EventKind> = events
        .iter()
        .filter(|event| event.actor == "test reset")
        .map(|event| &event.kind)
        .collect();
    assert!(matches!(
        reset_kinds[..],
        [
            EventKind::ClockChanged {
                action: ClockAction::Pause,
                team: Some(1),
                ..
            },
            EventKind::TeamReset { .. },
            EventKind::ClockChanged {
                action: ClockAction::Resume,
                team: Some(1),
                ..
            },
        ]
    ));

    fire_round(&shared, &mut FireState::default())
        .await
        .unwrap();
    let events = exercise.events().await;
    let twice: Vec<String> = ROUND_AT_200_S
        .iter()
        .chain(ROUND_AT_200_S.iter())
        .map(|inject| inject.to_string())
        .collect();
    assert_eq!(fired(&events, 1), twice);
    assert_eq!(fired(&events, 2), ROUND_AT_200_S);
    assert_eq!(
        enshu_engine::projection::fire_failures(&events, 1).get("persistence"),
        None
    );
}

#[tokio::test]
async fn a_check_result_is_appended_only_when_it_changes() {
    let exercise = Exercise::new(1).await;
    exercise.start_clock_ago(200).await;
    let shared = exercise.serve().await;
    fire_round(&shared, &mut FireState::default())
        .await
        .unwrap();
    // The router still forwards beacons from pc01 to the C2.
    router_answers(&exercise, Some(1));
    let mut checks = CheckState::default();
    let first = check_round(&shared, &mut checks).await.unwrap();
    let after_first = check_results(&exercise.events().await);
    assert_eq!(first.changed, after_first.len());
    assert!(
        after_first.contains(&(1, "block-c2".into(), false)),
        "{after_first:?}"
    );

    let second = check_round(&shared, &mut checks).await.unwrap();
    assert_eq!(second.changed, 0);
    assert_eq!(check_results(&exercise.events().await), after_first);

    // The team stops the beacon: one new result, block-c2 passed.
    router_answers(&exercise, None);
    shared.store.close().await;
    let restarted = exercise.serve().await;
    // A restarted engine counts the rounds again: the pass must hold for
    // two rounds (the default `hold`) before it is recorded.
    let mut checks = CheckState::default();
    let third = check_round(&restarted, &mut checks).await.unwrap();
    assert_eq!((third.changed, third.holding), (0, 1));
    let fourth = check_round(&restarted, &mut checks).await.unwrap();
    assert_eq!(fourth.changed, 1);
    let after_fourth = check_results(&exercise.events().await);
    assert_eq!(after_fourth.len(), after_first.len() + 1);
    assert_eq!(after_fourth.last().unwrap(), &(1, "block-c2".into(), true));
    assert_eq!(
        check_round(&restarted, &mut checks).await.unwrap().changed,
        0
    );
}

/// The router's answer to the beacon check (`nft -j`, as it prints it):
/// 40 packets from pc01 to the C2 in all, the last `seconds_ago` (none
/// within the set's timeout when `None`).
fn router_answers(exercise: &Exercise, seconds_ago: Option<u64>) {
    let check = exercise.plan.teams[0]
        .checks
        .iter()
        .find(|check| check.objective == "block-c2")
        .unwrap();
    let command = enshu_engine::checks::check_command(check).unwrap();
    let (source, destination) = (
        check.target.address.unwrap(),
        check.to.as_ref().unwrap().address.unwrap(),
    );
    let meta = r#"{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}"#;
    let elements = match seconds_ago {
        Some(seconds_ago) => format!(
            r#", "elem": [{{"elem": {{"val": {{"concat": ["{source}", "{destination}"]}}, "timeout": 60, "expires": {}}}}}]"#,
            60 - seconds_ago
        ),
        None => String::new(),
    };
    let stdout = format!(
        r#"{{"nftables": [{meta}, {{"set": {{"family": "inet", "name": "beacons", "table": "enshu_beacons", "type": ["ipv4_addr", "ipv4_addr"], "handle": 3, "size": 65535, "flags": ["timeout"]{elements}}}}}]}}
{{"nftables": [{meta}, {{"counter": {{"family": "inet", "name": "x", "table": "enshu_beacons", "handle": 1, "packets": 40, "bytes": 4000}}}}]}}
"#
    );
    exercise.backend.script_exec(ExecScript {
        container: command.container,
        argument: command.command[2].clone(),
        delay: Duration::ZERO,
        answer: Ok(ExecOutput {
            exit_code: 0,
            stdout: stdout.into_bytes(),
            stderr: vec![],
        }),
    });
}

#[tokio::test]
async fn a_check_meets_its_objective_only_once_it_held_for_its_rounds() {
    let exercise = Exercise::new(1).await;
    exercise.start_clock_ago(200).await;
    let shared = exercise.serve().await;
    fire_round(&shared, &mut FireState::default())
        .await
        .unwrap();
    let block_c2 = |results: Vec<(u32, String, bool)>| -> Vec<bool> {
        results
            .into_iter()
            .filter(|(team, objective, _)| *team == 1 && objective == "block-c2")
            .map(|(_, _, passed)| passed)
            .collect()
    };
    let mut checks = CheckState::default();
    // Beacons still come: a failed result.
    router_answers(&exercise, Some(1));
    check_round(&shared, &mut checks).await.unwrap();
    assert_eq!(block_c2(check_results(&exercise.events().await)), [false]);
    // A quiet round between two beats passes once, then the beacon is
    // back: nothing is recorded, the count starts again.
    router_answers(&exercise, None);
    check_round(&shared, &mut checks).await.unwrap();
    router_answers(&exercise, Some(1));
    check_round(&shared, &mut checks).await.unwrap();
    router_answers(&exercise, None);
    check_round(&shared, &mut checks).await.unwrap();
    assert_eq!(block_c2(check_results(&exercise.events().await)), [false]);
    // The second quiet round in a row: the pass is recorded and met.
    check_round(&shared, &mut checks).await.unwrap();
    assert_eq!(
        block_c2(check_results(&exercise.events().await)),
        [false, true]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_check_never_delays_an_inject() {
    let exercise = Exercise::new(1).await;
    let router = exercise.container(0, "router");
    // Reading the router's beacon counter hangs until the check's timeout.
    exercise.backend.script_exec(ExecScript {
        container: router.clone(),
        argument: "-j".into(),
        delay: Duration::from_secs(60),
        answer: Ok(ExecOutput::default()),
    });
    exercise.start_clock_ago(61).await;
    let shared = exercise.serve().await;
    fire_round(&shared, &mut FireState::default())
        .await
        .unwrap();
    assert_eq!(fired(&exercise.events().await, 1), ["beacon", "dropper"]);

    let engine = Engine::new(exercise.serve().await, Duration::from_secs(1));
    let running = tokio::spawn(engine.run(Duration::from_millis(100), std::future::pending()));
    let reading_the_router = |calls: &[Call]| {
        calls.iter().any(|call| {
            matches!(call, Call::Exec(container, command) if *container == router && command.iter().any(|word| word == "-j"))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reading_the_router(&exercise.backend.calls()) {
        assert!(Instant::now() < deadline, "the check round never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // While that check waits, an instructor fires the deface by hand.
    let requested = Instant::now();
    exercise
        .append(
            Some(1),
            EventKind::InjectFireRequested {
                inject: "deface".into(),
            },
            None,
        )
        .await;
    loop {
        let events = exercise.events().await;
        if fired(&events, 1).contains(&"deface".to_string()) {
            assert!(
                !check_results(&events)
                    .iter()
                    .any(|(_, objective, _)| objective == "block-c2"),
                "the slow check was still running"
            );
            break;
        }
        assert!(
            requested.elapsed() < Duration::from_secs(5),
            "the deface waited for the check round"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.abort();
}

/// A team whose container stalls an inject's exec (a team with root
/// there can `kill -STOP` what runs in it) delays no other team: the
/// other team's injects fire in the next rounds, and the stalled team's
/// inject is recorded once, when its exec ends, never fired twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_team_never_delays_another_teams_injects() {
    let exercise = Exercise::new(2).await;
    let stalled = exercise.container(0, "www");
    exercise.backend.script_exec(ExecScript {
        container: stalled.clone(),
        argument: "/var/www/html/index.html".into(),
        delay: Duration::from_secs(8),
        answer: Ok(ExecOutput::default()),
    });
    // 130 s in: the beacon, its dropper, the deface and its log are due.
    exercise.start_clock_ago(130).await;
    let engine = Engine::new(exercise.serve().await, Duration::from_secs(60));
    let started = Instant::now();
    let running = tokio::spawn(engine.run(Duration::from_millis(100), std::future::pending()));
    loop {
        let events = exercise.events().await;
        if fired(&events, 2).contains(&"deface-log".to_string()) {
            assert!(
                !fired(&events, 1).contains(&"deface".to_string()),
                "team 1's stalled deface was recorded before team 2's fire"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "team 2 waited for team 1's stalled container: {:?}",
            fired(&events, 2)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited_for_team_2 = started.elapsed();
    loop {
        let events = exercise.events().await;
        let team_1 = fired(&events, 1);
        if team_1.contains(&"deface-log".to_string()) {
            for inject in ["beacon", "deface", "deface-log"] {
                let times = team_1.iter().filter(|fired| *fired == inject).count();
                assert_eq!(
                    times, 1,
                    "team 1's {inject} fired {times} times: {team_1:?}"
                );
            }
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "team 1's deface was never recorded: {team_1:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_secs(8),
        "the stalled exec did not stall ({:?}), so this test shows nothing",
        started.elapsed()
    );
    eprintln!(
        "team 2's round done after {waited_for_team_2:?}; team 1's after {:?}",
        started.elapsed()
    );
    running.abort();
}

/// Objectives of the trigger test's own: one timed from the start, one
/// from the beacon with a short deadline, one with neither deadline nor
/// due, and a judged notice.
const TRIGGER_OBJECTIVES: &str = r#"  - id: early-answer
    phase: detection
    title: {ja: 早期の回答, en: Answer early}
    points: 10
    deadline: 2m
    evidence:
      answer: {question: {ja: 合言葉は？, en: The password?}, kind: text, expect: early}
  - id: fast-block
    phase: response
    title: {ja: すぐに止める, en: Block fast}
    points: 10
    inject: beacon
    deadline: 1m
    evidence:
      answer: {question: {ja: 合言葉は？, en: The password?}, kind: text, expect: fast}
  - id: whenever
    phase: recovery
    title: {ja: いつでも, en: Whenever}
    points: 10
    evidence:
      answer: {question: {ja: 合言葉は？, en: The password?}, kind: text, expect: whenever}
  - id: notice
    phase: reporting
    title: {ja: 市民向けのお知らせ, en: Notice to citizens}
    points: 50
    inject: soc-alert
    evidence:
      judged:
        rubric:
          - {criterion: {ja: 影響, en: Impact}, points: 50}
"#;

/// One phone call per trigger: `(inject, objective, outcome)`.
const TRIGGERS: [(&str, &str, &str); 7] = [
    ("missed-early", "early-answer", "missed"),
    ("missed-fast", "fast-block", "missed"),
    ("missed-whenever", "whenever", "missed"),
    ("met-answer", "find-c2", "met"),
    ("met-check", "block-c2", "met"),
    ("met-report", "first-report", "met"),
    ("met-judged", "notice", "met"),
];

/// The quickstart with an inject triggered on each of [`TRIGGERS`].
fn quickstart_with_triggers() -> String {
    let injects: String = TRIGGERS
        .iter()
        .map(|(inject, objective, outcome)| {
            format!(
                "  - id: {inject}\n    when: {{on: {{objective: {objective}, outcome: {outcome}}}}}\n    target: office\n    action:\n      message: {{channel: phone, from: {{ja: 課長, en: The manager}}, subject: {{ja: {inject}, en: {inject}}}, body: {{ja: {inject}, en: {inject}}}}}\n"
            )
        })
        .collect();
    let quickstart = std::str::from_utf8(QUICKSTART).unwrap();
    assert!(quickstart.contains("\ninjects:\n") && quickstart.contains("\nobjectives:\n"));
    quickstart
        .replacen("\ninjects:\n", &format!("\ninjects:\n{injects}"), 1)
        .replacen(
            "\nobjectives:\n",
            &format!("\nobjectives:\n{TRIGGER_OBJECTIVES}"),
            1,
        )
}

/// The triggered injects fired for team 1, in log order.
fn triggered(events: &[Event]) -> Vec<String> {
    fired(events, 1)
        .into_iter()
        .filter(|inject| inject.starts_with("missed-") || inject.starts_with("met-"))
        .collect()
}

#[tokio::test]
async fn missed_triggers_fire_at_the_deadline_and_met_triggers_when_met() {
    let yaml = quickstart_with_triggers();
    let exercise = Exercise::of(1, yaml.as_bytes()).await;
    exercise.start_clock_ago(200).await;
    let shared = exercise.serve().await;
    let mut state = FireState::default();

    // 200 s in: early-answer's deadline (2 min from the start) has passed;
    // fast-block's runs from the beacon, which fires only now.
    fire_round(&shared, &mut state).await.unwrap();
    let events = exercise.events().await;
    for inject in ROUND_AT_200_S {
        assert!(fired(&events, 1).contains(&inject.to_string()), "{inject}");
    }
    assert_eq!(triggered(&events), ["missed-early"]);

    // The team meets one objective of each kind of evidence: an answer, an
    // automatic check, a report, and a judged notice an instructor grades.
    exercise
        .append(
            Some(1),
            EventKind::Submission {
                objective: "find-c2".into(),
                answer: "c2".into(),
                correct: true,
            },
            None,
        )
        .await;
    exercise
        .append(
            Some(1),
            EventKind::CheckResult {
                objective: "block-c2".into(),
                check: enshu_store::CheckResultKind::Automatic(
                    enshu_scenario::model::CheckKind::NoBeacon,
                ),
                passed: true,
                detail: "quiet".into(),
            },
            None,
        )
        .await;
    exercise
        .append(
            Some(1),
            EventKind::CheckResult {
                objective: "first-report".into(),
                check: enshu_store::CheckResultKind::Report {
                    form: "first-report".into(),
                },
                passed: true,
                detail: "category: malware".into(),
            },
            None,
        )
        .await;
    let report = exercise
        .append(
            Some(1),
            EventKind::ReportSubmitted {
                form: "first-report".into(),
                fields: serde_json::json!({"status": "notice sent"}),
            },
            None,
        )
        .await;
    fire_round(&shared, &mut state).await.unwrap();
    // The judged notice is not met until it is graded.
    assert_eq!(
        triggered(&exercise.events().await),
        ["missed-early", "met-answer", "met-check", "met-report"]
    );
    exercise
        .append(
            Some(1),
            EventKind::ReportGraded {
                report_seq: Some(report.seq),
                objective: Some("notice".into()),
                form: "first-report".into(),
                points: 40,
                rubric: serde_json::json!({}),
                author: "instructor".into(),
            },
            None,
        )
        .await;
    fire_round(&shared, &mut state).await.unwrap();
    assert_eq!(
        triggered(&exercise.events().await),
        [
            "missed-early",
            "met-answer",
            "met-check",
            "met-report",
            "met-judged"
        ]
    );

    // A minute and more of exercise time later (at 60x), fast-block's
    // deadline from the beacon's fire has passed.
    let speed_up = EventKind::ClockChanged {
        action: ClockAction::Resume,
        team: None,
        speed: Some(60),
    };
    exercise.append(None, speed_up, None).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    fire_round(&shared, &mut state).await.unwrap();
    shared.store.close().await;
    // A restarted engine fires none of them again; `whenever` has neither
    // deadline nor due and is never missed.
    let restarted = exercise.serve().await;
    fire_round(&restarted, &mut FireState::default())
        .await
        .unwrap();
    let events = exercise.events().await;
    assert_eq!(
        triggered(&events),
        [
            "missed-early",
            "met-answer",
            "met-check",
            "met-report",
            "met-judged",
            "missed-fast"
        ]
    );
    // missed-fast fired after its deadline: a minute after the beacon.
    let fire_ms = |inject: &str| {
        events
            .iter()
            .find_map(|event| match &event.kind {
                EventKind::InjectFired { inject: fired, .. } if fired == inject => {
                    event.exercise_ms
                }
                _ => None,
            })
            .unwrap()
    };
    assert!(fire_ms("missed-fast") >= fire_ms("beacon") + 60_000);
}

/// Team `team`'s clock state now, as the log tells it.
fn clock_state(events: &[Event], team: u32) -> enshu_clock::ClockState {
    enshu_store::scoring_input::exercise_clocks(events).state_at(Some(team), now_ms())
}

/// The clock changes a reset recorded (actor "test reset"), in order.
fn reset_clock_actions(events: &[Event], team: u32) -> Vec<ClockAction> {
    events
        .iter()
        .filter(|event| event.actor == "test reset" && event.team == Some(team))
        .filter_map(|event| match &event.kind {
            EventKind::ClockChanged { action, .. } => Some(*action),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_reset_brings_the_teams_clock_back_as_it_was() {
    use enshu_clock::ClockState;
    let exercise = Exercise::new(3).await;
    exercise.start_clock_ago(200).await;
    let instructor = |action, team| EventKind::ClockChanged {
        action,
        team: Some(team),
        speed: None,
    };
    // Team 1 runs, an instructor paused team 2 and stopped team 3.
    exercise
        .append(Some(2), instructor(ClockAction::Pause, 2), None)
        .await;
    exercise
        .append(Some(3), instructor(ClockAction::Stop, 3), None)
        .await;
    let log = ResetLog {
        store: Store::open(&exercise.url).await.unwrap(),
        session: exercise.session,
        actor: "test reset".into(),
    };
    for team in &exercise.plan.teams {
        let report = reset_team(
            &exercise.backend,
            &NoMachine,
            &exercise.plan,
            team,
            Some(&log),
            4,
        )
        .await
        .unwrap();
        assert!(report.log_told);
    }
    let events = exercise.events().await;
    assert_eq!(clock_state(&events, 1), ClockState::Running);
    assert_eq!(
        reset_clock_actions(&events, 1),
        [ClockAction::Pause, ClockAction::Resume]
    );
    assert_eq!(clock_state(&events, 2), ClockState::Paused);
    assert_eq!(clock_state(&events, 3), ClockState::Stopped);
    for team in [2, 3] {
        assert!(reset_clock_actions(&events, team).is_empty(), "team {team}");
        assert!(
            events.iter().any(|event| event.team == Some(team)
                && matches!(event.kind, EventKind::TeamReset { .. })),
            "team {team} was reset"
        );
    }

    // The paused team, resumed by its instructor, runs again.
    exercise
        .append(Some(2), instructor(ClockAction::Resume, 2), None)
        .await;
    assert_eq!(
        clock_state(&exercise.events().await, 2),
        ClockState::Running
    );
}

/// The firewall execs the fake saw in `router`.
fn firewall_execs(backend: &FakeBackend, router: &str) -> Vec<Vec<String>> {
    backend
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            Call::Exec(container, command)
                if container == router && command.iter().any(|word| word == "team_blocked") =>
            {
                Some(command)
            }
            _ => None,
        })
        .collect()
}

/// A guard that someone flushed once: the first check repairs it, later
/// ones find it in place; or one that cannot be repaired at all.
struct FlushedGuard {
    checks: std::sync::Mutex<u32>,
    repairable: bool,
}

impl enshu_engine::GuardWatch for FlushedGuard {
    fn repair(&self) -> futures::future::BoxFuture<'_, Result<Vec<String>, String>> {
        Box::pin(async move {
            let mut checks = self.checks.lock().unwrap();
            *checks += 1;
            match (self.repairable, *checks) {
                (false, _) => Err("iptables: permission denied".to_string()),
                (true, 1) => Ok(vec!["iptables -N ENSHU-HOST-GUARD".to_string()]),
                (true, _) => Ok(Vec::new()),
            }
        })
    }
}

fn notes(events: &[Event]) -> Vec<(Option<u32>, String)> {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::InstructorNote { text } => Some((event.team, text.clone())),
            _ => None,
        })
        .collect()
}

/// A team whose router stalls the firewall exec (root in the range, or a
/// router that is simply slow) delays no inject, its own team's included:
/// the fire loop never waits for a firewall apply. Its changes are applied
/// in one batch (one exec), not one exec each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firewall_change_of_a_stalled_router_delays_no_inject() {
    let exercise = Exercise::new(2).await;
    let router = exercise.container(0, "router");
    exercise.backend.script_exec(ExecScript {
        container: router.clone(),
        argument: "team_blocked".into(),
        delay: Duration::from_secs(8),
        answer: Ok(ExecOutput::default()),
    });
    for last in 20..25 {
        let change = EventKind::FirewallChanged {
            block: true,
            address: format!("10.64.100.{last}"),
        };
        exercise.append(Some(1), change, None).await;
    }
    // 130 s in: the beacon, its dropper, the deface and its log are due.
    exercise.start_clock_ago(130).await;
    let engine = Engine::new(exercise.serve().await, Duration::from_secs(60));
    let started = Instant::now();
    let running = tokio::spawn(engine.run(Duration::from_millis(100), std::future::pending()));
    loop {
        let events = exercise.events().await;
        if [1, 2]
            .iter()
            .all(|team| fired(&events, *team).contains(&"deface-log".to_string()))
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the injects waited for team 1's stalled router: {:?} / {:?}",
            fired(&events, 1),
            fired(&events, 2)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let execs = firewall_execs(&exercise.backend, &router);
    assert_eq!(execs.len(), 1, "one batch while the first runs: {execs:?}");
    let words = execs[0].join(" ");
    for last in 20..25 {
        assert!(words.contains(&format!("10.64.100.{last}")), "{words}");
    }
    // A change made while the stalled apply runs goes in the next batch.
    let unblock = EventKind::FirewallChanged {
        block: false,
        address: "10.64.100.20".into(),
    };
    exercise.append(Some(1), unblock, None).await;
    loop {
        let execs = firewall_execs(&exercise.backend, &router);
        if execs.len() == 2 {
            let words = execs[1].join(" ");
            assert!(words.contains("delete element"), "{words}");
            assert!(!words.contains("10.64.100.21"), "applied twice: {words}");
            break;
        }
        assert_eq!(execs.len(), 1, "{execs:?}");
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_secs(8),
        "the first apply did not stall, so this test shows nothing"
    );
    running.abort();
}

/// Rounds that read only the new events see what a full read sees: a
/// tail kept across appends holds exactly the log, in order.
#[tokio::test]
async fn the_log_read_incrementally_equals_the_log_read_whole() {
    let exercise = Exercise::new(2).await;
    let shared = exercise.serve().await;
    let mut tail = enshu_engine::LogTail::default();
    assert!(
        tail.refresh(&shared.store, shared.session)
            .await
            .unwrap()
            .is_empty()
    );
    exercise.start_clock_ago(130).await;
    let mut state = FireState::default();
    for round in 0..4 {
        fire_round(&shared, &mut state).await.unwrap();
        let note = EventKind::InstructorNote {
            text: format!("round {round}"),
        };
        exercise.append(Some(2), note, None).await;
        let held = tail.refresh(&shared.store, shared.session).await.unwrap();
        assert_eq!(*held, exercise.events().await, "after round {round}");
    }
    assert!(!fired(&exercise.events().await, 1).is_empty());
    // And a check round over a kept tail appends what one over a full read would.
    // (Two rounds each: a pass is recorded once it held for two.)
    let mut log = enshu_engine::LogTail::default();
    let mut checks = enshu_engine::CheckState::default();
    for _ in 0..2 {
        enshu_engine::check_round_with(&shared, &mut log, &mut checks)
            .await
            .unwrap();
    }
    let after_tail = check_results(&exercise.events().await);
    let mut checks = enshu_engine::CheckState::default();
    for _ in 0..2 {
        check_round(&shared, &mut checks).await.unwrap();
    }
    assert_eq!(
        check_results(&exercise.events().await),
        after_tail,
        "a full read found results the tail missed"
    );
}

#[tokio::test]
async fn a_flushed_host_guard_is_repaired_and_the_instructors_told_once() {
    use enshu_engine::guard_round::{GuardRound, GuardState, guard_round};
    let exercise = Exercise::new(2).await;
    let shared = exercise.serve().await;
    let flushed = FlushedGuard {
        checks: std::sync::Mutex::new(0),
        repairable: true,
    };
    let mut state = GuardState::default();
    let first = guard_round(&shared, &flushed, &mut state).await.unwrap();
    assert!(matches!(first, GuardRound::Repaired(_)), "{first:?}");
    for _ in 0..3 {
        assert_eq!(
            guard_round(&shared, &flushed, &mut state).await.unwrap(),
            GuardRound::InPlace
        );
    }
    let events = exercise.events().await;
    let noted = notes(&events);
    assert_eq!(noted.len(), 1, "{noted:?}");
    // Session-wide: on every team's instructor timeline.
    assert_eq!(noted[0].0, None);
    assert!(noted[0].1.contains("repaired") && noted[0].1.contains("ENSHU-HOST-GUARD"));

    // One that cannot be repaired is noted once, not every round.
    let broken = FlushedGuard {
        checks: std::sync::Mutex::new(0),
        repairable: false,
    };
    for _ in 0..3 {
        let round = guard_round(&shared, &broken, &mut state).await.unwrap();
        assert!(matches!(round, GuardRound::Failed(_)));
    }
    let noted = notes(&exercise.events().await);
    assert_eq!(noted.len(), 2, "{noted:?}");
    assert!(noted[1].1.contains("could not be repaired"));
}

/// A fire still running when its team is reset lands after the reset: it
/// is not recorded as fired into the rebuilt range (what it planted went
/// with the old one), so the inject fires again after the reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fire_that_ends_after_its_teams_reset_is_not_counted() {
    let exercise = Exercise::new(1).await;
    let stalled = exercise.container(0, "www");
    exercise.backend.script_exec(ExecScript {
        container: stalled,
        argument: "/var/www/html/index.html".into(),
        delay: Duration::from_secs(3),
        answer: Ok(ExecOutput::default()),
    });
    // 130 s in: the deface is due.
    exercise.start_clock_ago(130).await;
    let shared = exercise.serve().await;
    let mut state = FireState::default();
    fire_round(&shared, &mut state).await.unwrap();
    assert_eq!(state.in_flight(), 1, "the stalled deface is still running");
    // The team's range is reset while the deface runs.
    let reset = exercise
        .append(Some(1), EventKind::TeamReset { containers: 5 }, None)
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    fire_round(&shared, &mut state).await.unwrap();
    let events = exercise.events().await;
    assert!(
        notes(&events).iter().any(|(team, text)| *team == Some(1)
            && text.contains("deface")
            && text.contains("reset")),
        "{:?}",
        notes(&events)
    );
    // The second round fired the deface again, into the rebuilt range
    // (the script stalls only its first exec): once, not twice.
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fire_round(&shared, &mut state).await.unwrap();
    }
    let events = exercise.events().await;
    let after_reset = |inject: &str| {
        events
            .iter()
            .filter(|event| event.seq > reset.seq)
            .filter(|event| matches!(&event.kind, EventKind::InjectFired { inject: fired, .. } if fired == inject))
            .count()
    };
    assert_eq!(after_reset("deface"), 1, "{:?}", fired(&events, 1));
}
