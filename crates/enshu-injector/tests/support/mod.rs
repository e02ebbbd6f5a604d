//! What the injector's Docker tests share: one team planned from a
//! scenario, finding its containers, injects and checks by name, and a
//! teardown that runs even when a test panics.

#![allow(dead_code)]

use enshu_docker::DockerBackend;
use enshu_scenario::plan::{Plan, PlannedCheck, PlannedInject, TeamPlan};
use enshu_scenario::{NoFiles, PlanOptions};

/// One team of `bytes` (the scenario `name`), planned in `pool`.
pub fn plan_one_team(name: &str, bytes: &[u8], session: &str, pool: &str) -> Plan {
    let loaded = enshu_scenario::load(name, bytes).unwrap_or_else(|_| panic!("{name} loads"));
    let options = PlanOptions {
        session: session.to_string(),
        teams: 1,
        pool: Some(pool.parse().unwrap()),
        files: &NoFiles,
    };
    enshu_scenario::plan(&loaded, &options).unwrap_or_else(|_| panic!("{name} plans"))
}

/// Tears the session down on drop, also when the test panicked.
pub struct SessionDown {
    pub session: String,
}

impl Drop for SessionDown {
    fn drop(&mut self) {
        let session = self.session.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let backend = DockerBackend::connect().await.expect("docker for teardown");
                    match enshu_controller::down(&backend, &session, 6).await {
                        Ok(report) => eprintln!(
                            "down {session}: {} containers, {} networks",
                            report.containers, report.networks
                        ),
                        Err(error) => eprintln!("down {session} failed: {error}"),
                    }
                })
        })
        .join()
        .unwrap();
    }
}

pub fn container<'a>(team: &'a TeamPlan, host: &str) -> &'a str {
    &team
        .containers
        .iter()
        .find(|container| container.hostname == host)
        .unwrap_or_else(|| panic!("no host {host}"))
        .name
}

pub fn inject<'a>(team: &'a TeamPlan, id: &str) -> &'a PlannedInject {
    team.injects
        .iter()
        .find(|inject| inject.id == id)
        .unwrap_or_else(|| panic!("no inject {id}"))
}

pub fn check<'a>(team: &'a TeamPlan, objective: &str) -> &'a PlannedCheck {
    team.checks
        .iter()
        .find(|check| check.objective == objective)
        .unwrap_or_else(|| panic!("no check for {objective}"))
}
