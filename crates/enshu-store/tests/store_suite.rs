//! One suite, run against both backends.
//!
//! Every test is an `async fn(TestDatabase)`; the `suite!` macro at the
//! bottom instantiates each one twice, in `sqlite::` (a fresh temporary
//! file) and in `postgres::` (the server named by ENSHU_TEST_POSTGRES_URL).
//! The PostgreSQL half fails, rather than skips, when that variable is
//! unset: a silently skipped backend is an untested backend. Tests on a
//! shared PostgreSQL database stay independent by using unique session
//! names.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use enshu_scoring::{DeadlineAnchor, ObjectiveRule, ObjectiveStatus, Phase, TeamClock};
use enshu_store::scoring_input::scoring_events;
use enshu_store::{
    ClockAction, EventKind, EventQuery, InvalidEvent, NewEvent, NewSession, NewTeam, RefusalTally,
    Session, Store, StoreError, TeamEventCount, TeamFilter, hash_team_token,
};

const POSTGRES_URL_VARIABLE: &str = "ENSHU_TEST_POSTGRES_URL";

struct TestDatabase {
    url: String,
    sqlite_directory: Option<PathBuf>,
}

impl TestDatabase {
    fn sqlite() -> TestDatabase {
        let directory = std::env::temp_dir().join(unique_name("enshu-store-test"));
        std::fs::create_dir_all(&directory).expect("creating temporary directory");
        let url = format!("sqlite://{}?mode=rwc", directory.join("enshu.db").display());
        TestDatabase {
            url,
            sqlite_directory: Some(directory),
        }
    }

    fn postgres() -> TestDatabase {
        let url = std::env::var(POSTGRES_URL_VARIABLE).unwrap_or_else(|_| {
            panic!(
                "{POSTGRES_URL_VARIABLE} is not set, so the PostgreSQL half of the store suite cannot run; \
                 start a throwaway server with `bash infra/postgres.sh start /tmp/enshu-pg` and run \
                 `{POSTGRES_URL_VARIABLE}=$(bash infra/postgres.sh url /tmp/enshu-pg) cargo test -p enshu-store`"
            )
        });
        TestDatabase {
            url,
            sqlite_directory: None,
        }
    }

    fn is_sqlite(&self) -> bool {
        self.sqlite_directory.is_some()
    }

    async fn open(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|error| panic!("opening {}: {error:?}", self.url))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(directory) = &self.sqlite_directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn team_token(team_number: usize) -> String {
    format!("token-of-team-{team_number}-0123456789abcdef")
}

async fn create_session(store: &Store, prefix: &str, teams_count: usize) -> Session {
    let new_session = NewSession {
        name: unique_name(prefix),
        scenario_id: "s1-emotet".to_owned(),
        scenario_yaml: "name: s1-emotet\n".to_owned(),
        teams: (1..=teams_count)
            .map(|team_number| NewTeam {
                name: format!("team-{team_number}"),
                token: team_token(team_number),
            })
            .collect(),
    };
    store
        .create_session(&new_session)
        .await
        .expect("creating session")
}

fn note(text: &str) -> EventKind {
    EventKind::InstructorNote {
        text: text.to_owned(),
    }
}

/// Runs one statement outside the store, as an operator with psql or
/// sqlite3 would.
async fn execute_raw(
    database: &TestDatabase,
    sqlite_sql: &'static str,
    postgres_sql: &'static str,
    session: i64,
) -> Result<u64, sqlx::Error> {
    use sqlx::Connection;
    if database.is_sqlite() {
        let mut connection = sqlx::SqliteConnection::connect(&database.url).await?;
        Ok(sqlx::query(sqlite_sql)
            .bind(session)
            .execute(&mut connection)
            .await?
            .rows_affected())
    } else {
        let mut connection = sqlx::PgConnection::connect(&database.url).await?;
        Ok(sqlx::query(postgres_sql)
            .bind(session)
            .execute(&mut connection)
            .await?
            .rows_affected())
    }
}

async fn concurrent_appenders_get_gapless_sequence_numbers(database: TestDatabase) {
    const APPENDERS: usize = 8;
    const EVENTS_PER_APPENDER: usize = 200;
    let store = database.open().await;
    let session = create_session(&store, "concurrency", APPENDERS).await;

    let started = Instant::now();
    let mut handles = Vec::new();
    for appender in 0..APPENDERS {
        let store = store.clone();
        let team = Some(appender as u32 + 1);
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::with_capacity(EVENTS_PER_APPENDER);
            let mut errors = Vec::new();
            for number in 0..EVENTS_PER_APPENDER {
                match store
                    .append(
                        session.id,
                        team,
                        note(&format!("{appender}/{number}")),
                        "load-test",
                    )
                    .await
                {
                    Ok(event) => seqs.push(event.seq),
                    Err(error) => errors.push(format!("{error:?}")),
                }
            }
            (seqs, errors)
        }));
    }
    let mut all_seqs = Vec::new();
    let mut all_errors = Vec::new();
    for handle in handles {
        let (seqs, errors) = handle.await.expect("appender task panicked");
        assert!(
            seqs.windows(2).all(|pair| pair[0] < pair[1]),
            "one appender's seqs must increase"
        );
        all_seqs.extend(seqs);
        all_errors.extend(errors);
    }
    let elapsed = started.elapsed();
    let total = (APPENDERS * EVENTS_PER_APPENDER) as u64;
    println!(
        "{}: {total} appends by {APPENDERS} concurrent tasks in {:.2?} = {:.0} events/s",
        store.backend_name(),
        elapsed,
        total as f64 / elapsed.as_secs_f64()
    );
    assert!(
        all_errors.is_empty(),
        "{} appends failed, first: {}",
        all_errors.len(),
        all_errors[0]
    );
    all_seqs.sort_unstable();
    assert_eq!(all_seqs, (1..=total).collect::<Vec<_>>());

    let stored: Vec<u64> = store
        .events_after(session.id, 0)
        .await
        .unwrap()
        .iter()
        .map(|event| event.seq)
        .collect();
    assert_eq!(stored, (1..=total).collect::<Vec<_>>());
    assert_eq!(store.last_seq(session.id).await.unwrap(), total);
    store.close().await;
}

async fn events_survive_reopening_the_store(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "reopen", 2).await;
    let fired = store
        .append(
            session.id,
            None,
            EventKind::InjectFired {
                inject: "phish-mail".to_owned(),
                target: "inet/pc-net02".to_owned(),
                ground_truth: Box::new(enshu_store::GroundTruth::from_json(
                    serde_json::json!({"host": "pc-net02", "c2": "198.51.100.23"}),
                )),
            },
            "injector",
        )
        .await
        .unwrap();
    let report = store
        .append_event(NewEvent {
            session: session.id,
            team: Some(2),
            kind: EventKind::ReportSubmitted {
                form: "first".to_owned(),
                fields: serde_json::json!({"category": "malware", "personal_data": true}),
            },
            actor: "team:2".to_owned(),
            at_ms: Some(1_750_000_000_000),
            exercise_ms: Some(1_800_000),
        })
        .await
        .unwrap();
    store.close().await;
    drop(store);

    let reopened = database.open().await;
    let found = reopened
        .session_by_name(&session.name)
        .await
        .unwrap()
        .expect("session after reopening");
    assert_eq!(found, session);
    let events = reopened.events_after(session.id, 0).await.unwrap();
    assert_eq!(events, vec![fired, report]);
    assert_eq!(events[1].at_ms, 1_750_000_000_000);
    assert_eq!(events[1].exercise_ms, Some(1_800_000));
    reopened.close().await;
}

async fn update_and_delete_on_events_are_refused(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "append-only", 1).await;
    store
        .append(session.id, Some(1), note("original"), "instructor:sato")
        .await
        .unwrap();

    let update = execute_raw(
        &database,
        "UPDATE events SET actor = 'forger' WHERE session_id = ?",
        "UPDATE events SET actor = 'forger' WHERE session_id = $1",
        session.id.0,
    )
    .await;
    let delete = execute_raw(
        &database,
        "DELETE FROM events WHERE session_id = ?",
        "DELETE FROM events WHERE session_id = $1",
        session.id.0,
    )
    .await;
    let update_error = update.expect_err("update must be refused").to_string();
    let delete_error = delete.expect_err("delete must be refused").to_string();
    assert!(update_error.contains("append-only"), "{update_error}");
    assert!(delete_error.contains("append-only"), "{delete_error}");

    let events = store.events_after(session.id, 0).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "instructor:sato");
    assert_eq!(events[0].kind, note("original"));
    store.close().await;
}

async fn team_filter_returns_only_that_teams_events(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "team-filter", 3).await;
    for (team, text) in [
        (None, "all teams"),
        (Some(1), "one"),
        (Some(2), "two"),
        (Some(1), "one again"),
        (Some(3), "three"),
    ] {
        store
            .append(session.id, team, note(text), "instructor:sato")
            .await
            .unwrap();
    }
    let texts = |events: Vec<enshu_store::Event>| -> Vec<(u64, Option<u32>)> {
        events
            .into_iter()
            .map(|event| (event.seq, event.team))
            .collect()
    };
    let query = |team| EventQuery {
        team,
        ..EventQuery::default()
    };

    let team_one = store
        .events(session.id, query(TeamFilter::Team(1)))
        .await
        .unwrap();
    assert_eq!(texts(team_one), [(2, Some(1)), (4, Some(1))]);
    let session_wide = store
        .events(session.id, query(TeamFilter::SessionWide))
        .await
        .unwrap();
    assert_eq!(texts(session_wide), [(1, None)]);
    let visible_to_two = store
        .events(session.id, query(TeamFilter::TeamAndSessionWide(2)))
        .await
        .unwrap();
    assert_eq!(texts(visible_to_two), [(1, None), (3, Some(2))]);
    let after_two = store
        .events(
            session.id,
            EventQuery {
                team: TeamFilter::Team(1),
                after_seq: 2,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(texts(after_two), [(4, Some(1))]);
    assert_eq!(
        store
            .events(session.id, query(TeamFilter::All))
            .await
            .unwrap()
            .len(),
        5
    );
    store.close().await;
}

async fn adjustment_without_reason_is_rejected(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "adjustment", 1).await;
    let without_reason = EventKind::Adjustment {
        objective: Some("isolate-host".to_owned()),
        points: 20,
        reason: "   ".to_owned(),
        author: "instructor:sato".to_owned(),
    };
    let error = store
        .append(session.id, Some(1), without_reason, "instructor:sato")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::InvalidEvent(InvalidEvent::EmptyField {
                kind: "adjustment",
                field: "reason"
            })
        ),
        "{error:?}"
    );
    let without_author = EventKind::Adjustment {
        objective: None,
        points: 20,
        reason: "checker could not reach the host".to_owned(),
        author: String::new(),
    };
    assert!(
        store
            .append(session.id, Some(1), without_author, "instructor:sato")
            .await
            .is_err()
    );
    assert_eq!(
        store.last_seq(session.id).await.unwrap(),
        0,
        "a refused event leaves no trace and no gap"
    );

    let valid = EventKind::Adjustment {
        objective: Some("isolate-host".to_owned()),
        points: 20,
        reason: "checker could not reach the host".to_owned(),
        author: "instructor:sato".to_owned(),
    };
    assert_eq!(
        store
            .append(session.id, Some(1), valid, "instructor:sato")
            .await
            .unwrap()
            .seq,
        1
    );
    store.close().await;
}

async fn unknown_sessions_and_teams_are_refused(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "unknown", 2).await;
    let error = store
        .append(session.id, Some(3), note("x"), "test")
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::UnknownTeam { team: 3, .. }),
        "{error:?}"
    );
    let error = store
        .append(enshu_store::SessionId(i64::MAX), None, note("x"), "test")
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::UnknownSession { .. }),
        "{error:?}"
    );
    let error = store
        .append(session.id, None, note("x"), " ")
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidEvent(InvalidEvent::EmptyActor)),
        "{error:?}"
    );
    assert_eq!(
        store
            .append(session.id, Some(2), note("x"), "test")
            .await
            .unwrap()
            .seq,
        1
    );
    store.close().await;
}

async fn sessions_are_found_by_name_and_names_are_unique(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "lookup", 2).await;
    assert_eq!(session.teams_count, 2);
    assert_eq!(session.state, enshu_store::SessionState::Created);
    assert_eq!(
        store.session_by_name(&session.name).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store
            .session_by_name(&unique_name("missing"))
            .await
            .unwrap(),
        None
    );

    let duplicate = NewSession {
        name: session.name.clone(),
        scenario_id: "other".to_owned(),
        scenario_yaml: String::new(),
        teams: vec![NewTeam {
            name: "x".to_owned(),
            token: team_token(9),
        }],
    };
    let error = store.create_session(&duplicate).await.unwrap_err();
    assert!(
        matches!(error, StoreError::SessionNameTaken { .. }),
        "{error:?}"
    );

    store
        .set_session_state(session.id, enshu_store::SessionState::Running)
        .await
        .unwrap();
    let running = store.session_by_id(session.id).await.unwrap().unwrap();
    assert_eq!(running.state, enshu_store::SessionState::Running);
    store.close().await;
}

async fn team_tokens_are_stored_hashed_and_verified(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "tokens", 3).await;
    let teams = store.teams(session.id).await.unwrap();
    assert_eq!(
        teams.iter().map(|team| team.team_index).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for (team, team_number) in teams.iter().zip(1..) {
        assert_eq!(team.token_hash, hash_team_token(&team_token(team_number)));
        assert_ne!(team.token_hash, team_token(team_number));
    }
    let verified = store
        .verify_team_token(session.id, &team_token(2))
        .await
        .unwrap()
        .expect("valid token");
    assert_eq!(verified.team_index, 2);
    assert_eq!(
        store
            .verify_team_token(session.id, "wrong-token-0123456789")
            .await
            .unwrap(),
        None
    );
    let other_session = create_session(&store, "tokens-other", 1).await;
    assert_eq!(
        store
            .verify_team_token(other_session.id, &team_token(2))
            .await
            .unwrap(),
        None,
        "a token only opens its own session"
    );
    // An instructor revokes team 2's token: the new one opens, the old
    // one no longer does, and no other team changes.
    let replacement = "team-2-replacement-token-0123456789abcdef";
    assert!(
        store
            .set_team_token(session.id, 2, replacement)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .verify_team_token(session.id, &team_token(2))
            .await
            .unwrap(),
        None
    );
    let verified = store
        .verify_team_token(session.id, replacement)
        .await
        .unwrap()
        .expect("the new token");
    assert_eq!(verified.team_index, 2);
    assert!(
        store
            .verify_team_token(session.id, &team_token(1))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !store
            .set_team_token(session.id, 9, replacement)
            .await
            .unwrap()
    );
    store.close().await;
}

async fn events_after_reads_the_tail_in_order(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "tail", 1).await;
    let other = create_session(&store, "tail-other", 1).await;
    for number in 1..=10 {
        store
            .append(session.id, Some(1), note(&format!("note {number}")), "test")
            .await
            .unwrap();
        store
            .append(other.id, None, note("other session"), "test")
            .await
            .unwrap();
    }
    let tail = store.events_after(session.id, 7).await.unwrap();
    assert_eq!(
        tail.iter().map(|event| event.seq).collect::<Vec<_>>(),
        [8, 9, 10]
    );
    assert!(tail.iter().all(|event| event.session == session.id));
    assert_eq!(store.events_after(session.id, 10).await.unwrap(), vec![]);
    let page = store
        .events(
            session.id,
            EventQuery {
                limit: Some(4),
                after_seq: 2,
                ..EventQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|event| event.seq).collect::<Vec<_>>(),
        [3, 4, 5, 6]
    );
    store.close().await;
}

async fn stored_events_score_end_to_end(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "scoring", 2).await;
    let append_at = |team: Option<u32>, exercise_minute: u64, kind: EventKind| NewEvent {
        session: session.id,
        team,
        kind,
        actor: "test".to_owned(),
        at_ms: None,
        exercise_ms: Some(exercise_minute * 60_000),
    };
    let log = [
        append_at(
            None,
            0,
            EventKind::ClockChanged {
                action: ClockAction::Start,
                team: None,
                speed: None,
            },
        ),
        append_at(
            Some(1),
            12,
            EventKind::InjectFired {
                inject: "beacon".to_owned(),
                target: "inet/pc-net02".to_owned(),
                ground_truth: Box::new(enshu_store::GroundTruth::from_json(
                    serde_json::json!({"c2": "198.51.100.23"}),
                )),
            },
        ),
        append_at(
            Some(1),
            13,
            EventKind::HintTaken {
                objective: "identify-c2".to_owned(),
                hint_index: 0,
                penalty: 10,
            },
        ),
        append_at(
            Some(1),
            15,
            EventKind::Submission {
                objective: "identify-c2".to_owned(),
                answer: "198.51.100.23".to_owned(),
                correct: true,
            },
        ),
        append_at(
            Some(1),
            16,
            EventKind::Adjustment {
                objective: None,
                points: 5,
                reason: "clear escalation call".to_owned(),
                author: "instructor:sato".to_owned(),
            },
        ),
    ];
    for new_event in log {
        store.append_event(new_event).await.unwrap();
    }
    let rules = [ObjectiveRule {
        id: "identify-c2".to_owned(),
        phase: Phase::Detection,
        points: 50,
        anchor: DeadlineAnchor::Inject("beacon".to_owned()),
        deadline_ms: Some(600_000),
        due_ms: None,
        judged: false,
        time_bonus: None,
        hint_penalties: vec![10],
        late_credit_percent: 0,
        max_wrong_answers: None,
        wrong_answer_cost: 0,
    }];
    let events = store.events_after(session.id, 0).await.unwrap();
    let board = enshu_scoring::score(
        &rules,
        &[
            TeamClock {
                team: 1,
                now_exercise_ms: 20 * 60_000,
            },
            TeamClock {
                team: 2,
                now_exercise_ms: 20 * 60_000,
            },
        ],
        &scoring_events(&events, &[1, 2]),
    );
    let team_one = board.team(1).unwrap();
    assert_eq!(
        team_one.objectives[0].status,
        ObjectiveStatus::Met {
            at_exercise_ms: 15 * 60_000
        }
    );
    assert_eq!(team_one.objectives[0].time_to_meet_ms, Some(3 * 60_000));
    assert_eq!(team_one.total, 50 - 10 + 5);
    assert_eq!(team_one.adjustments[0].author, "instructor:sato");
    assert_eq!(
        board.team(2).unwrap().objectives[0].status,
        ObjectiveStatus::Pending,
        "beacon never fired for team 2"
    );
    store.close().await;
}

/// SQLite only: the settings the store relies on are really in force.
#[tokio::test]
async fn sqlite_database_uses_wal_and_foreign_keys() {
    use sqlx::Connection;
    let database = TestDatabase::sqlite();
    let store = database.open().await;
    let mut connection = sqlx::SqliteConnection::connect(&database.url)
        .await
        .unwrap();
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        journal_mode, "wal",
        "WAL is a property of the file, set by the store"
    );
    store.close().await;
}

async fn refusal_counts_add_up_and_survive_reopening(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "refusals", 2).await;
    let other = create_session(&store, "refusals-other", 1).await;
    let tally = |team: Option<u32>, kind: &str, reason: &str, count: u64| RefusalTally {
        team,
        kind: kind.to_owned(),
        reason: reason.to_owned(),
        count,
    };
    assert_eq!(store.refusals(session.id).await.unwrap(), vec![]);
    store
        .add_refusals(
            session.id,
            &[
                tally(Some(2), "answer", "rate", 40),
                tally(Some(1), "read", "rate", 3),
                tally(None, "portal_connection", "per_address", 7),
            ],
        )
        .await
        .unwrap();
    // A minute later: more of one, a new reason of another.
    store
        .add_refusals(
            session.id,
            &[
                tally(Some(2), "answer", "rate", 2),
                tally(Some(2), "answer", "quota", 1),
            ],
        )
        .await
        .unwrap();
    store
        .add_refusals(other.id, &[tally(Some(1), "answer", "rate", 5)])
        .await
        .unwrap();
    store.close().await;
    let store = database.open().await;
    assert_eq!(
        store.refusals(session.id).await.unwrap(),
        vec![
            tally(None, "portal_connection", "per_address", 7),
            tally(Some(1), "read", "rate", 3),
            tally(Some(2), "answer", "quota", 1),
            tally(Some(2), "answer", "rate", 42),
        ]
    );
    assert_eq!(
        store.refusals(other.id).await.unwrap(),
        vec![tally(Some(1), "answer", "rate", 5)]
    );
    store.close().await;
}

async fn a_teams_own_events_are_counted_by_kind(database: TestDatabase) {
    let store = database.open().await;
    let session = create_session(&store, "own-events", 2).await;
    let answer = || EventKind::Submission {
        objective: "identify-c2".to_owned(),
        answer: "198.51.100.23".to_owned(),
        correct: false,
    };
    let block = || EventKind::FirewallChanged {
        block: true,
        address: "10.64.100.23".to_owned(),
    };
    let note = || EventKind::InstructorNote {
        text: "on team 1's timeline, written by the instructor".to_owned(),
    };
    for (team, kind, actor) in [
        (Some(1), answer(), "team:1"),
        (Some(1), answer(), "team:1"),
        (Some(1), block(), "team:1"),
        (Some(2), answer(), "team:2"),
        (Some(1), note(), "instructor"),
        (Some(1), block(), "engine"),
        (None, note(), "instructor"),
    ] {
        store.append(session.id, team, kind, actor).await.unwrap();
    }
    let count = |team: u32, kind: &str, count: u64| TeamEventCount {
        team,
        kind: kind.to_owned(),
        count,
    };
    assert_eq!(
        store.team_event_counts(session.id).await.unwrap(),
        vec![
            count(1, "firewall_changed", 1),
            count(1, "submission", 2),
            count(2, "submission", 1),
        ]
    );
    store.close().await;
}

macro_rules! suite {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::TestDatabase::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::TestDatabase::postgres()).await;
                }
            )*
        }
    };
}

suite!(
    concurrent_appenders_get_gapless_sequence_numbers,
    events_survive_reopening_the_store,
    update_and_delete_on_events_are_refused,
    team_filter_returns_only_that_teams_events,
    adjustment_without_reason_is_rejected,
    unknown_sessions_and_teams_are_refused,
    sessions_are_found_by_name_and_names_are_unique,
    team_tokens_are_stored_hashed_and_verified,
    events_after_reads_the_tail_in_order,
    stored_events_score_end_to_end,
    refusal_counts_add_up_and_survive_reopening,
    a_teams_own_events_are_counted_by_kind,
);
