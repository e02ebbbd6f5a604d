//! Event ingest: appends per second through [`enshu_store::Store`] with N
//! concurrent writers, against a plain `rusqlite` loop on the same schema
//! (the store's own migration) and the same pragmas (WAL,
//! `synchronous = FULL`, `busy_timeout` 10 s, `BEGIN IMMEDIATE` per
//! transaction), in the same run and on the same disk.
//!
//! Why an anchor: an appends/s figure alone says nothing about whether the
//! store wastes time; the anchor is what SQLite does with the same
//! durability when nothing but the insert and its seq allocation runs.
//! Both sides acknowledge an append only after the commit holding it has
//! returned, so both survive a crash (one fsync of the WAL per commit).
//!
//! Busy errors (`SQLITE_BUSY` reaching the caller) are counted on both
//! sides; the anchor retries them so its count shows the contention of N
//! connections racing for the write lock.
//!
//! With `ENSHU_TEST_POSTGRES_URL` set, the same writers also run against
//! PostgreSQL through the store.
//!
//! Bounded: every configuration stops after its append count or after
//! `TIME_LIMIT`, whichever comes first. Loopback and a temporary directory
//! only. Run: `cargo bench -p enshu-store --bench ingest`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use enshu_store::{EventKind, NewSession, NewTeam, SessionId, Store, StoreError};

const WRITER_COUNTS: [usize; 3] = [1, 8, 32];
const APPENDS_PER_CONFIGURATION: usize = 1_600;
const TIME_LIMIT: Duration = Duration::from_secs(20);
const TEAMS: u32 = 8;
const SCHEMA: &str = include_str!("../migrations/sqlite/0001_sessions_teams_events.sql");

struct Measurement {
    appends: u64,
    busy_errors: u64,
    other_errors: u64,
    elapsed: Duration,
}

impl Measurement {
    fn per_second(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }
}

fn unique_directory() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let directory =
        std::env::temp_dir().join(format!("enshu-ingest-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn the_event(writer: usize, number: usize) -> (u32, EventKind) {
    let team = (writer as u32 % TEAMS) + 1;
    (
        team,
        EventKind::Submission {
            objective: "find-host".into(),
            answer: format!("pc{number:02}"),
            correct: number.is_multiple_of(2),
        },
    )
}

fn is_sqlite_busy(error: &StoreError) -> bool {
    match error {
        StoreError::Database {
            source: sqlx::Error::Database(database_error),
            ..
        } => matches!(database_error.code().as_deref(), Some("5" | "517" | "6")),
        _ => false,
    }
}

async fn store_session(store: &Store, name: &str) -> SessionId {
    store
        .create_session(&NewSession {
            name: name.to_owned(),
            scenario_id: "bench".into(),
            scenario_yaml: "id: bench".into(),
            teams: (1..=TEAMS)
                .map(|team| NewTeam {
                    name: format!("Team {team}"),
                    token: format!("team-{team}-token-0123456789abcdef"),
                })
                .collect(),
        })
        .await
        .expect("creating the bench session")
        .id
}

async fn through_store(store: &Store, session: SessionId, writers: usize) -> Measurement {
    let appends_per_writer = APPENDS_PER_CONFIGURATION / writers;
    let appended = Arc::new(AtomicU64::new(0));
    let busy_errors = Arc::new(AtomicU64::new(0));
    let other_errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + TIME_LIMIT;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let (store, appended, busy_errors, other_errors) = (
            store.clone(),
            appended.clone(),
            busy_errors.clone(),
            other_errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for number in 0..appends_per_writer {
                if Instant::now() >= deadline {
                    break;
                }
                let (team, kind) = the_event(writer, number);
                match store
                    .append(session, Some(team), kind, &format!("team:{team}"))
                    .await
                {
                    Ok(_) => {
                        appended.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) if is_sqlite_busy(&error) => {
                        busy_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        eprintln!("append failed: {error:?}");
                        other_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Measurement {
        appends: appended.load(Ordering::Relaxed),
        busy_errors: busy_errors.load(Ordering::Relaxed),
        other_errors: other_errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

fn anchor_connection(path: &Path) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
        )
        .unwrap();
    connection
}

fn anchor_database(path: &Path) {
    let connection = anchor_connection(path);
    connection.execute_batch(SCHEMA).unwrap();
    connection
        .execute(
            "INSERT INTO sessions (id, name, scenario_id, scenario_yaml, teams_count, created_at_ms, state) \
             VALUES (1, 'anchor', 'bench', 'id: bench', ?1, 0, 'created')",
            [TEAMS],
        )
        .unwrap();
    for team in 1..=TEAMS {
        connection
            .execute(
                "INSERT INTO teams (session_id, team_index, name, token_hash) VALUES (1, ?1, ?2, ?3)",
                rusqlite::params![team, format!("Team {team}"), "0".repeat(64)],
            )
            .unwrap();
    }
}

fn is_rusqlite_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if matches!(failure.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// One append as plainly as SQLite allows with the same guarantees:
/// `BEGIN IMMEDIATE`, allocate the next seq, insert, commit.
fn anchor_append(
    connection: &mut rusqlite::Connection,
    team: u32,
    kind: &EventKind,
) -> rusqlite::Result<()> {
    // The same columns the store writes: `kind` apart, the rest as payload.
    let mut payload = serde_json::to_value(kind).unwrap();
    let kind_name = payload
        .as_object_mut()
        .and_then(|fields| fields.remove("kind"))
        .and_then(|name| name.as_str().map(str::to_owned))
        .unwrap();
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let next_seq: i64 = transaction.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = 1",
        [],
        |row| row.get(0),
    )?;
    transaction.execute(
        "INSERT INTO events (session_id, seq, team_index, at_ms, exercise_ms, kind, actor, payload) \
         VALUES (1, ?1, ?2, ?3, NULL, ?4, ?5, ?6)",
        rusqlite::params![
            next_seq,
            team,
            0i64,
            kind_name,
            format!("team:{team}"),
            payload.to_string()
        ],
    )?;
    transaction.commit()
}

fn through_anchor(path: &Path, writers: usize) -> Measurement {
    let appends_per_writer = APPENDS_PER_CONFIGURATION / writers;
    let appended = Arc::new(AtomicU64::new(0));
    let busy_errors = Arc::new(AtomicU64::new(0));
    let other_errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + TIME_LIMIT;
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let (appended, busy_errors, other_errors) =
                (appended.clone(), busy_errors.clone(), other_errors.clone());
            scope.spawn(move || {
                let mut connection = anchor_connection(path);
                for number in 0..appends_per_writer {
                    let (team, kind) = the_event(writer, number);
                    // Retry busy errors (bounded by the deadline) so every
                    // append the anchor counts was committed.
                    loop {
                        if Instant::now() >= deadline {
                            return;
                        }
                        match anchor_append(&mut connection, team, &kind) {
                            Ok(()) => {
                                appended.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Err(error) if is_rusqlite_busy(&error) => {
                                busy_errors.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(error) => {
                                eprintln!("anchor append failed: {error:?}");
                                other_errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    Measurement {
        appends: appended.load(Ordering::Relaxed),
        busy_errors: busy_errors.load(Ordering::Relaxed),
        other_errors: other_errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

fn print_row(label: &str, writers: usize, measurement: &Measurement, anchor: Option<&Measurement>) {
    let ratio = anchor.map_or(String::new(), |anchor| {
        format!("{:.2}", measurement.per_second() / anchor.per_second())
    });
    println!(
        "| {label} | {writers} | {} | {:.0} | {} | {} | {ratio} |",
        measurement.appends,
        measurement.per_second(),
        measurement.busy_errors,
        measurement.other_errors,
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let directory = unique_directory();
    println!(
        "ingest: up to {APPENDS_PER_CONFIGURATION} appends per configuration, {}s limit, WAL + synchronous=FULL, in {}",
        TIME_LIMIT.as_secs(),
        directory.display()
    );
    println!(
        "| side | writers | appends | appends/s | busy errors | other errors | ratio to anchor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for writers in WRITER_COUNTS {
        // Fresh databases per configuration so both sides start from the
        // same (empty) log.
        let anchor_path = directory.join(format!("anchor-{writers}.db"));
        anchor_database(&anchor_path);
        let anchor = tokio::task::spawn_blocking(move || through_anchor(&anchor_path, writers))
            .await
            .unwrap();
        let store_url = format!(
            "sqlite://{}?mode=rwc",
            directory.join(format!("store-{writers}.db")).display()
        );
        let store = Store::open(&store_url).await.expect("opening the store");
        let session = store_session(&store, "bench").await;
        let measured = through_store(&store, session, writers).await;
        assert_eq!(
            store.last_seq(session).await.unwrap(),
            measured.appends,
            "every acknowledged append is in the log, gapless"
        );
        store.close().await;
        print_row("rusqlite anchor", writers, &anchor, None);
        print_row("enshu-store SQLite", writers, &measured, Some(&anchor));
    }
    let _ = std::fs::remove_dir_all(&directory);

    if let Ok(url) = std::env::var("ENSHU_TEST_POSTGRES_URL") {
        let store = Store::open(&url).await.expect("opening PostgreSQL");
        for writers in WRITER_COUNTS {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let session = store_session(&store, &format!("ingest-bench-{nanos}")).await;
            let measured = through_store(&store, session, writers).await;
            print_row("enshu-store PostgreSQL", writers, &measured, None);
        }
        store.close().await;
    } else {
        println!("(ENSHU_TEST_POSTGRES_URL not set: PostgreSQL not measured)");
    }
}
