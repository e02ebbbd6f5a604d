//! The exercise engine at 50 teams (issues 4 and 5), measured against real
//! ranges: how far apart the teams' injects fire, and how long one round of
//! every team's automatic checks takes, each next to a plain `docker exec`
//! anchor doing the same number of container operations in the same run.
//!
//! `cargo bench -p enshu-engine --bench engine_scale` (needs Docker and the
//! `enshu/*` images). It provisions `benches/fixtures/engine-scale.yaml`
//! for `ENSHU_BENCH_TEAMS` teams (default 50) as session `eb-<pid>` in the
//! pool 10.0.0.0/10, drives the engine's own `fire_round` and `check_round`
//! against a throw-away SQLite store, and always removes the session at the
//! end (also after a failure or a panic). It prints a markdown table.
//!
//! This is a benchmark, not a test: it asserts nothing and every loop is
//! bounded in count and in time.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use enshu_docker::{DockerBackend, HostGuard};
use enshu_engine as engine;
use enshu_scenario::NoFiles;
use enshu_scenario::PlanOptions;
use enshu_scenario::plan::{Plan, labels};
use enshu_store::{
    ClockAction, EventKind, EventQuery, NewEvent, NewSession, NewTeam, SessionId, Store, TeamFilter,
};
use tokio::io::AsyncWriteExt as _;

const DEFAULT_TEAMS: u32 = 50;
/// Containers created or removed at once, as `enshu up` does.
const CONCURRENCY: usize = 4;
const POOL: &str = "10.0.0.0/10";
/// Exercise time at which both injects of the fixture are due.
const INJECTS_DUE_AFTER_MS: i64 = 5_000;
/// The fire loop's period in `enshu serve`.
const FIRE_PERIOD: Duration = engine::FIRE_PERIOD;
/// Give up waiting for every team's injects this long after they are due.
const FIRE_DEADLINE: Duration = Duration::from_secs(120);
const CHECK_ROUNDS: usize = 3;
/// The anchor's parallelism, matching the engine's constants.
const ANCHOR_FIRE_PARALLEL: usize = engine::FIRE_CONCURRENCY;
const ANCHOR_CHECK_PARALLEL: usize = engine::CHECK_CONCURRENCY;
/// Every anchor (an `xargs` over `docker exec`) is killed after this long.
const ANCHOR_DEADLINE: Duration = Duration::from_secs(180);
/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK` on Linux).
const CLOCK_TICKS_PER_SECOND: u64 = 100;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/engine-scale.yaml")
}

fn main() -> anyhow::Result<()> {
    let teams: u32 = std::env::var("ENSHU_BENCH_TEAMS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_TEAMS);
    let session = format!("eb-{}", std::process::id());
    let state_directory = std::env::temp_dir().join(format!("{session}-state"));
    std::fs::create_dir_all(&state_directory)?;
    #[expect(
        unsafe_code,
        reason = "the state directory is read from the environment"
    )]
    // SAFETY: set once, before any other thread exists.
    unsafe {
        std::env::set_var("ENSHU_STATE_DIR", &state_directory)
    };

    let _last_resort = LeftoverGuard {
        session: session.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(bench(&session, teams, &state_directory))
    }));

    let teardown_started = Instant::now();
    let teardown = runtime.block_on(async {
        let backend = docker().await?;
        anyhow::Ok(enshu_controller::down(&backend, &session, CONCURRENCY).await?)
    });
    let teardown_seconds = teardown_started.elapsed().as_secs_f64();
    let left = session_containers(&session);
    match &teardown {
        Ok(report) => println!(
            "\nteardown: {} containers, {} networks, {} volumes removed in {teardown_seconds:.1} s; containers of {session} left: {}",
            report.containers,
            report.networks,
            report.volumes,
            left.len()
        ),
        Err(error) => eprintln!("teardown failed: {error:#}"),
    }
    let _ = std::fs::remove_dir_all(&state_directory);
    match outcome {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the benchmark panicked; the session was removed"),
    }
}

async fn docker() -> anyhow::Result<DockerBackend> {
    DockerBackend::connect()
        .await
        .context("connecting to the Docker engine")
}

/// Removes whatever of the session is left through the Docker CLI, even if
/// the runtime is gone: the last line of defence after `enshu_controller::down`.
struct LeftoverGuard {
    session: String,
}

impl Drop for LeftoverGuard {
    fn drop(&mut self) {
        let containers = session_containers(&self.session);
        if !containers.is_empty() {
            eprintln!("removing {} leftover container(s)", containers.len());
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", "-v"])
                .args(&containers)
                .output();
        }
        let filter = format!("label={}={}", labels::SESSION, self.session);
        if let Ok(output) = std::process::Command::new("docker")
            .args(["network", "ls", "-q", "--filter", &filter])
            .output()
        {
            let networks: Vec<String> = String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !networks.is_empty() {
                let _ = std::process::Command::new("docker")
                    .args(["network", "rm"])
                    .args(&networks)
                    .output();
            }
        }
    }
}

fn session_containers(session: &str) -> Vec<String> {
    let filter = format!("label={}={session}", labels::SESSION);
    std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &filter])
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

async fn bench(session: &str, teams: u32, state_directory: &Path) -> anyhow::Result<()> {
    let path = fixture_path();
    let text = std::fs::read_to_string(&path)?;
    let loaded = enshu_scenario::load(&path.display().to_string(), text.as_bytes())
        .map_err(|diagnostics| anyhow::anyhow!("{}", diagnostics[0].headline()))?;
    let plan = enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: session.to_string(),
            teams,
            pool: Some(
                POOL.parse()
                    .map_err(|message: String| anyhow::anyhow!(message))?,
            ),
            files: &NoFiles,
        },
    )?;
    let containers: usize = plan.teams.iter().map(|team| team.containers.len()).sum();
    let networks: usize = plan.teams.iter().map(|team| team.networks.len()).sum();
    println!("machine at start: {}", load_average());

    let backend = docker().await?;
    HostGuard::new()
        .ensure()
        .await
        .context("installing the host guard (iptables)")?;
    eprintln!("provisioning {teams} teams ({containers} containers, {networks} networks)…");
    let load_before_up = load_average();
    let provisioning = enshu_controller::up(&backend, &plan, CONCURRENCY, &|_| {}).await?;
    let load_after_up = load_average();
    eprintln!("provisioned in {:.1} s", provisioning.seconds);

    let store_url = format!(
        "sqlite://{}?mode=rwc",
        state_directory.join("engine.db").display()
    );
    let store = Store::open(&store_url).await?;
    let store_session = store
        .create_session(&NewSession {
            name: session.to_string(),
            scenario_id: loaded.scenario.id.clone(),
            scenario_yaml: text.clone(),
            teams: plan
                .teams
                .iter()
                .map(|team| NewTeam {
                    name: team.name.clone(),
                    token: format!("{session}-{}-token-for-the-benchmark", team.name),
                })
                .collect(),
        })
        .await?;
    // As `enshu serve` runs: one exec agent per container the engine acts in.
    let backend = backend.with_exec_agents();
    let shared = engine::Shared {
        backend: backend.clone(),
        store: store.clone(),
        session: store_session.id,
        scenario: loaded.scenario.clone(),
        plan: plan.clone(),
        replay: None,
    };

    // Issue 4: fire skew. The anchor runs just before and just after the
    // engine, so the engine's figure is bracketed by the machine's load.
    let anchor_fires_before = anchor_fire(&plan, "before").await?;
    // `enshu serve` starts the agents when it starts, before the clock.
    let warm_targets = engine::exec_targets(&loaded.scenario, &plan);
    let warm_started = Instant::now();
    let warm_cpu_before = CpuSample::take();
    let warm_ready = engine::keep_exec_ready(&backend, &warm_targets).await;
    let warm_cpu = CpuSample::take().since(&warm_cpu_before);
    println!(
        "exec agents: {warm_ready} of {} started in {:.1} s before the clock (dockerd+containerd {} ms CPU)",
        warm_targets.len(),
        warm_started.elapsed().as_secs_f64(),
        warm_cpu.docker_cpu_ms
    );
    let clock_started = store
        .append_event(NewEvent {
            session: store_session.id,
            team: None,
            kind: EventKind::ClockChanged {
                action: ClockAction::Start,
                team: None,
                speed: None,
            },
            actor: "bench".into(),
            at_ms: None,
            exercise_ms: None,
        })
        .await?;
    let due_at_ms = clock_started.at_ms + INJECTS_DUE_AFTER_MS;
    let injects_expected = plan
        .teams
        .iter()
        .map(|team| team.injects.len())
        .sum::<usize>();
    let mut fire_state = engine::FireState::default();
    let mut fire_rounds = 0_usize;
    let fire_deadline =
        Instant::now() + Duration::from_millis(INJECTS_DUE_AFTER_MS as u64) + FIRE_DEADLINE;
    let cpu_before_fire = CpuSample::take();
    loop {
        engine::fire_round(&shared, &mut fire_state).await?;
        fire_rounds += 1;
        let fired = fired_events(&store, store_session.id).await?;
        if fired.len() >= injects_expected {
            break;
        }
        if Instant::now() > fire_deadline {
            eprintln!(
                "gave up: {} of {injects_expected} injects fired",
                fired.len()
            );
            break;
        }
        tokio::time::sleep(FIRE_PERIOD).await;
    }
    let fire_cpu = CpuSample::take().since(&cpu_before_fire);
    let fired = fired_events(&store, store_session.id).await?;
    let mut engine_fires: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (inject, at_ms) in &fired {
        engine_fires.entry(inject.clone()).or_default().push(*at_ms);
    }

    let mut anchor_fires = anchor_fire(&plan, "after").await?;
    anchor_fires.extend(anchor_fires_before);

    println!("\n### Inject fire skew ({teams} teams, both injects due at exercise time 5 s)\n");
    println!("| inject | who | fired | first → last (skew) | due → first | due → last |");
    println!("|---|---|---:|---:|---:|---:|");
    for (inject, times) in &engine_fires {
        let (first, last) = first_and_last(times);
        println!(
            "| {inject} | engine (`fire_round`, {} at once, 500 ms period) | {}/{teams} | **{} ms** | {} ms | {} ms |",
            engine::FIRE_CONCURRENCY,
            times.len(),
            last - first,
            first - due_at_ms,
            last - due_at_ms
        );
    }
    for (inject, (started_ms, times, failed)) in &anchor_fires {
        let (first, last) = first_and_last(times);
        println!(
            "| {inject} | anchor (`xargs -P {ANCHOR_FIRE_PARALLEL}` `docker exec`, one write each) | {}/{teams} ({failed} failed) | **{} ms** | {} ms (from start) | {} ms (from start) |",
            times.len(),
            last - first,
            first - started_ms,
            last - started_ms
        );
    }
    println!(
        "\nengine fire: {fire_rounds} rounds polled; machine CPU busy {:.0}% of {} cores over {:.1} s; this process {} ms CPU, dockerd+containerd {} ms CPU",
        fire_cpu.busy_percent,
        fire_cpu.cores,
        fire_cpu.wall.as_secs_f64(),
        fire_cpu.own_cpu_ms,
        fire_cpu.docker_cpu_ms
    );

    // Issue 5: check rounds, each next to its anchor.
    println!(
        "\n### Check rounds ({teams} teams × {} checks)\n",
        plan.teams[0].checks.len()
    );
    println!(
        "| round | who | checks | changed | could not run | elapsed | load before → after | CPU busy (machine) | CPU ms (this process / dockerd+containerd) |"
    );
    println!("|---|---|---:|---:|---:|---:|---|---:|---:|");
    let mut check_state = engine::CheckState::default();
    for round_number in 1..=CHECK_ROUNDS {
        let load_before = load_average();
        let cpu_before = CpuSample::take();
        let round = engine::check_round(&shared, &mut check_state).await?;
        let cpu = CpuSample::take().since(&cpu_before);
        println!(
            "| {round_number} | engine (`check_round`, {} at once) | {} | {} | {} | **{:.2} s** | {load_before} → {} | {:.0}% | {} / {} |",
            engine::CHECK_CONCURRENCY,
            round.checks,
            round.changed,
            round.failed_to_run,
            round.elapsed.as_secs_f64(),
            load_average(),
            cpu.busy_percent,
            cpu.own_cpu_ms,
            cpu.docker_cpu_ms
        );
        let load_before = load_average();
        let cpu_before = CpuSample::take();
        let anchor = anchor_checks(&plan).await?;
        let cpu = CpuSample::take().since(&cpu_before);
        println!(
            "| {round_number} | anchor (`xargs -P {ANCHOR_CHECK_PARALLEL}` `docker exec`) | {} | – | {} nonzero | **{:.2} s** | {load_before} → {} | {:.0}% | – / {} |",
            anchor.probes,
            anchor.nonzero,
            anchor.elapsed.as_secs_f64(),
            load_average(),
            cpu.busy_percent,
            cpu.docker_cpu_ms
        );
    }

    println!("\n### Provisioning\n");
    println!(
        "{teams} teams, {containers} containers, {networks} networks: **{:.1} s** ({} steps, concurrency {}); load {load_before_up} → {load_after_up}",
        provisioning.seconds,
        provisioning.steps.len(),
        CONCURRENCY
    );
    let events = store
        .events(
            store_session.id,
            EventQuery {
                team: TeamFilter::All,
                after_seq: 0,
                limit: None,
            },
        )
        .await?;
    println!("events in the log: {}", events.len());
    store.close().await;
    Ok(())
}

/// Every `InjectFired` in the log as (inject, wall-clock ms it was recorded).
async fn fired_events(store: &Store, session: SessionId) -> anyhow::Result<Vec<(String, i64)>> {
    let events = store
        .events(
            session,
            EventQuery {
                team: TeamFilter::All,
                after_seq: 0,
                limit: None,
            },
        )
        .await?;
    Ok(events
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::InjectFired { inject, .. } => Some((inject, event.at_ms)),
            _ => None,
        })
        .collect())
}

fn first_and_last(times: &[i64]) -> (i64, i64) {
    let first = times.iter().copied().min().unwrap_or(0);
    let last = times.iter().copied().max().unwrap_or(0);
    (first, last)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

fn container_of(
    plan_team: &enshu_scenario::plan::TeamPlan,
    hostname: &str,
) -> anyhow::Result<String> {
    plan_team
        .containers
        .iter()
        .find(|container| container.hostname == hostname)
        .map(|container| container.name.clone())
        .with_context(|| format!("team {} has no {hostname}", plan_team.name))
}

/// Runs `xargs -P parallel -L 1 sh -c script _` over `lines`, killed after
/// [`ANCHOR_DEADLINE`]; returns its standard output.
async fn xargs(lines: &[String], parallel: usize, script: &str) -> anyhow::Result<String> {
    let mut child = tokio::process::Command::new("xargs")
        .args([
            "-P",
            &parallel.to_string(),
            "-L",
            "1",
            "sh",
            "-c",
            script,
            "_",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("running xargs")?;
    let mut stdin = child.stdin.take().context("xargs stdin")?;
    stdin.write_all(lines.join("\n").as_bytes()).await?;
    stdin.write_all(b"\n").await?;
    drop(stdin);
    let output = tokio::time::timeout(ANCHOR_DEADLINE, child.wait_with_output())
        .await
        .context("the anchor took too long")??;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The fire anchor: per team, one `docker exec` writing a file on pc01, then
/// one writing a page on www (as the engine fires a team's due injects in
/// order), 16 teams at a time. Per inject: (start ms, completion ms, failures).
async fn anchor_fire(
    plan: &Plan,
    when: &str,
) -> anyhow::Result<BTreeMap<String, (i64, Vec<i64>, usize)>> {
    let mut lines = Vec::new();
    for team in &plan.teams {
        lines.push(format!(
            "{} {}",
            container_of(team, "pc01")?,
            container_of(team, "www")?
        ));
    }
    let script = r##"
if docker exec "$1" sh -c 'printf "#!/bin/sh\n# enshu anchor\n" > /tmp/eb-anchor-dropper.sh'; then echo "dropper $(date +%s%3N)"; else echo "dropper failed"; fi
if docker exec "$2" sh -c 'printf "<h1>anchor</h1>\n" > /tmp/eb-anchor-deface.html'; then echo "deface $(date +%s%3N)"; else echo "deface failed"; fi
"##;
    let started_ms = now_ms();
    let output = xargs(&lines, ANCHOR_FIRE_PARALLEL, script).await?;
    let mut results: BTreeMap<String, (i64, Vec<i64>, usize)> = BTreeMap::new();
    for line in output.lines() {
        let mut words = line.split_whitespace();
        let (Some(inject), Some(completed)) = (words.next(), words.next()) else {
            continue;
        };
        let entry = results
            .entry(format!("{inject} (anchor, {when} the engine)"))
            .or_insert((started_ms, Vec::new(), 0));
        match completed.parse::<i64>() {
            Ok(at_ms) => entry.1.push(at_ms),
            Err(_) => entry.2 += 1,
        }
    }
    Ok(results)
}

struct AnchorChecks {
    probes: usize,
    nonzero: usize,
    elapsed: Duration,
}

/// The check anchor: the same number of `docker exec` probes as the
/// engine's round (a file test on pc01, an HTTP GET on www, a TCP connect
/// from pc01 to www per team), 8 at a time.
async fn anchor_checks(plan: &Plan) -> anyhow::Result<AnchorChecks> {
    let mut lines = Vec::new();
    for team in &plan.teams {
        let pc01 = container_of(team, "pc01")?;
        let www = container_of(team, "www")?;
        let www_address = team
            .containers
            .iter()
            .find(|container| container.hostname == "www")
            .and_then(|container| container.primary_address())
            .context("www has no address")?;
        lines.push(format!("{pc01} file"));
        lines.push(format!("{www} http"));
        lines.push(format!("{pc01} port {www_address}"));
    }
    let script = r#"
case $2 in
  file) docker exec "$1" test ! -e /tmp/eb-anchor-absent ;;
  http) docker exec "$1" curl -s -o /dev/null -m 5 -w '%{http_code}' http://127.0.0.1/ >/dev/null ;;
  port) docker exec "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$3/80" ;;
esac
echo "exit $?"
"#;
    let started = Instant::now();
    let output = xargs(&lines, ANCHOR_CHECK_PARALLEL, script).await?;
    let elapsed = started.elapsed();
    let exits: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("exit "))
        .collect();
    Ok(AnchorChecks {
        probes: exits.len(),
        nonzero: exits.iter().filter(|code| **code != "0").count(),
        elapsed,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}

/// Machine-wide CPU counters and the CPU time of this process and of the
/// Docker daemons, to say what a round cost and how busy the machine was.
struct CpuSample {
    at: Instant,
    busy_ticks: u64,
    total_ticks: u64,
    own_cpu_ms: u64,
    docker_cpu_ms: u64,
}

struct CpuUse {
    wall: Duration,
    busy_percent: f64,
    cores: usize,
    own_cpu_ms: u64,
    docker_cpu_ms: u64,
}

impl CpuSample {
    fn take() -> CpuSample {
        let (busy_ticks, total_ticks) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|text| {
                let line = text.lines().next()?.to_string();
                let values: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|value| value.parse().ok())
                    .collect();
                let total: u64 = values.iter().take(8).sum();
                let idle =
                    values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
                Some((total - idle, total))
            })
            .unwrap_or((0, 0));
        let docker_cpu_ms = ["dockerd", "containerd"]
            .iter()
            .flat_map(|name| pids_of(name))
            .filter_map(|pid| process_cpu_ms(&pid))
            .sum();
        CpuSample {
            at: Instant::now(),
            busy_ticks,
            total_ticks,
            own_cpu_ms: process_cpu_ms("self").unwrap_or(0),
            docker_cpu_ms,
        }
    }

    fn since(&self, earlier: &CpuSample) -> CpuUse {
        let total = self.total_ticks.saturating_sub(earlier.total_ticks).max(1);
        CpuUse {
            wall: self.at - earlier.at,
            busy_percent: 100.0 * self.busy_ticks.saturating_sub(earlier.busy_ticks) as f64
                / total as f64,
            cores: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            own_cpu_ms: self.own_cpu_ms.saturating_sub(earlier.own_cpu_ms),
            docker_cpu_ms: self.docker_cpu_ms.saturating_sub(earlier.docker_cpu_ms),
        }
    }
}

fn pids_of(name: &str) -> Vec<String> {
    std::process::Command::new("pidof")
        .args(["-x", name])
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// User + system CPU time of a process, from /proc/PID/stat.
fn process_cpu_ms(pid: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime 14 and stime 15.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 1000 / CLOCK_TICKS_PER_SECOND)
}
