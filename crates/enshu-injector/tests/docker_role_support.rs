//! Every role's claims against its real image: what
//! `enshu_scenario::roles::support` says a role takes (the table `validate`
//! judges scenarios by) is planted or checked in a container of that role,
//! started as the controller starts it (its image, its hardening: read-only
//! root, tmpfs, capabilities), and must work. Each artefact lands where
//! its check or a trainee sees it; each check judges right both ways.
//!
//! One host per role in one segment of one team, brought up side by side
//! by `enshu_controller::up`; the roles are then exercised concurrently and
//! every problem is reported at the end, not just the first.
//!
//! Needs a Docker engine, root (host guard) and the role images (`make
//! images`); without them it FAILS, it never skips. Everything carries the
//! session label `capab<pid>` and is removed when the test ends, passed or
//! failed. Addresses come from 10.226.0.0/16, which no other test uses.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::SessionDown;

use enshu_backend::{Backend, ContainerSpec, ExecPrivilege};
use enshu_docker::{DockerBackend, HostGuard};
use enshu_engine::checks::run_check;
use enshu_injector::artefact::{restore_deface, restore_encrypt};
use enshu_injector::fire;
use enshu_injector::shell::sha256_hex;
use enshu_scenario::model::{
    Action, Artefact, ArtefactKind, Check, CheckKind, CommandExpect, Duration as ScenarioDuration,
    ImageRole, Mail, PortSpec, Text, Traffic, TrafficKind, When,
};
use enshu_scenario::plan::{Plan, PlannedCheck, PlannedInject, ResolvedTarget, TeamPlan};
use enshu_scenario::roles::{self, Reach};
use enshu_scenario::{NoFiles, PlanOptions};
use enshu_store::GroundTruth;
use serde_json::Value;

const POOL: &str = "10.226.0.0/16";
/// The password the directory probe sets on its account.
const NEW_PASSWORD: &str = "Changed-2026";
/// The directory role's Samba configuration (its provision's).
const DIRECTORY_CONF: &str = "/var/lib/samba/etc/smb.conf";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
/// A TCP port no role serves.
const UNSERVED_PORT: u16 = 9;

/// One host per role, named after it, in one segment; the backup host
/// keeps copies of every role with data to back up.
fn every_role_scenario() -> String {
    let mut text = String::from(
        "version: 1\nid: every-role\ntitle: {en: Every role}\nlevel: A\nduration: 1h\n\
         segments:\n  - {name: office, role: office, subnet: 0.0.10.0/24}\nhosts:\n",
    );
    let backed_up: Vec<String> = ImageRole::ALL
        .into_iter()
        .filter(|role| !roles::data_paths(*role).is_empty())
        .map(|role| format!("office/{}", role.as_str()))
        .collect();
    for (index, role) in ImageRole::ALL.into_iter().enumerate() {
        // The backup host's operator logs in; so does the restore, to
        // every host it keeps.
        let login = matches!(role, ImageRole::Analyst | ImageRole::Backup)
            || !roles::data_paths(role).is_empty();
        let backup = if role == ImageRole::Backup {
            format!(", backup: {{of: [{}]}}", backed_up.join(", "))
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  - {{name: {0}, segment: office, address: {1}, image: {0}, login: {login}{backup}}}\n",
            role.as_str(),
            10 + index
        ));
    }
    // Every role sends a mail into the mail role's mailbox (`sends_mail`).
    text.push_str("mail: {mailbox: office/mail}\n");
    text
}

fn every_role_plan(session: &str) -> Plan {
    let text = every_role_scenario();
    let loaded = enshu_scenario::load("every-role.yaml", text.as_bytes()).expect("loads");
    let options = PlanOptions {
        session: session.to_string(),
        teams: 1,
        pool: Some(POOL.parse().unwrap()),
        files: &NoFiles,
    };
    enshu_scenario::plan(&loaded, &options).expect("plans")
}

/// One role's container and what the test learnt there.
struct Probe<'a> {
    backend: &'a DockerBackend,
    team: &'a TeamPlan,
    role: ImageRole,
    host: &'a ContainerSpec,
    internet: &'a ContainerSpec,
    /// The backup host, which keeps a copy of every role with data.
    backup: &'a ContainerSpec,
    ground_truth: BTreeMap<String, GroundTruth>,
    /// The inject the next check counts from (`password_changed`).
    since: Option<String>,
    failures: Vec<String>,
    /// Checks judged and artefacts planted, for the summary.
    judged: usize,
    planted: usize,
}

fn target_of(host: &ContainerSpec) -> ResolvedTarget {
    ResolvedTarget {
        reference: host.reference.clone(),
        container: Some(host.name.clone()),
        address: host.primary_address(),
        subnet: None,
    }
}

fn artefact(kind: ArtefactKind) -> Artefact {
    Artefact {
        kind,
        path: None,
        content: None,
        lines: vec![],
        name: None,
        schedule: None,
    }
}

fn check(kind: CheckKind) -> Check {
    Check {
        kind,
        target: String::new(),
        from: None,
        to: None,
        port: None,
        path: None,
        status: None,
        sha256: None,
        golden: None,
        name: None,
        group: None,
        window: None,
        command: None,
        expect: None,
    }
}

/// A traffic inject's fields, all unset but the destination.
fn beacon_like(to: &str) -> Traffic {
    Traffic {
        kind: TrafficKind::Beacon,
        to: to.to_string(),
        ports: vec![],
        interval: None,
        jitter: None,
        count: None,
        path: None,
        user: None,
        users: vec![],
        password: None,
        bytes: None,
        domain: None,
    }
}

fn tcp(port: u16) -> PortSpec {
    format!("tcp/{port}").parse().unwrap()
}

/// The directory a role keeps its users' data in, where ransomware would
/// go: the first of these that is one of its writable paths.
fn data_directory(role: ImageRole) -> &'static str {
    [
        "/srv/share",
        "/var/www/html",
        "/home",
        "/var/mail",
        "/var/tmp",
        "/tmp",
    ]
    .into_iter()
    .find(|directory| roles::writable(role, directory))
    .unwrap()
}

impl Probe<'_> {
    fn fail(&mut self, what: String) {
        self.failures
            .push(format!("{}: {what}", self.role.as_str()));
    }

    async fn exec(&self, command: &[&str]) -> (i64, String) {
        let command: Vec<String> = command.iter().map(|part| part.to_string()).collect();
        match self
            .backend
            .exec(&self.host.name, &command, ExecPrivilege::Container)
            .await
        {
            Ok(output) => (output.exit_code, output.stdout_text()),
            Err(error) => (-1, format!("exec failed: {error}")),
        }
    }

    /// Plant `planted` as inject `id`; its ground truth, or `None` (a failure).
    async fn plant(&mut self, id: &str, planted: Artefact) -> Option<Value> {
        let inject = PlannedInject {
            id: id.to_string(),
            when: When::At(ScenarioDuration::from_secs(0)),
            target: target_of(self.host),
            action: Action::Artefact(planted.clone()),
            addresses: BTreeMap::new(),
        };
        self.planted += 1;
        match fire(self.backend, self.team, &inject, 0, 1).await {
            Ok(fired) => {
                self.ground_truth.insert(
                    id.to_string(),
                    GroundTruth::from_json(fired.ground_truth.clone()),
                );
                Some(fired.ground_truth)
            }
            Err(error) => {
                self.fail(format!(
                    "{} artefact {:?} did not plant: {error}",
                    planted.kind.as_str(),
                    planted.path.as_deref().or(planted.name.as_deref())
                ));
                None
            }
        }
    }

    /// Run a check of this role's host and compare with what it must say.
    async fn expect(&mut self, mut planned: Check, passes: bool, situation: &str) {
        planned.target = self.host.reference.clone();
        let to = match planned.kind {
            CheckKind::Restored => Some(target_of(self.backup)),
            _ => planned.to.as_ref().map(|_| target_of(self.internet)),
        };
        let check = PlannedCheck {
            objective: format!("{}-{}", planned.kind.as_str(), self.role.as_str()),
            check: planned,
            target: target_of(self.host),
            from: None,
            to,
            since: self.since.clone(),
            router: None,
        };
        self.judged += 1;
        match run_check(self.backend, &check, &self.ground_truth).await {
            Ok(outcome) if outcome.passed == passes => {}
            Ok(outcome) => self.fail(format!(
                "{} {:?} {situation}: expected {}, got {} ({})",
                check.check.kind.as_str(),
                check.check.path.as_deref().or(check.check.name.as_deref()),
                if passes { "pass" } else { "fail" },
                if outcome.passed { "pass" } else { "fail" },
                outcome.detail
            )),
            Err(error) => self.fail(format!(
                "{} {situation}: could not run: {error}",
                check.check.kind.as_str()
            )),
        }
    }

    fn file_check(kind: CheckKind, path: &str) -> Check {
        Check {
            path: Some(path.to_string()),
            ..check(kind)
        }
    }

    /// Remove `path` as the owner of its directory, as the team would.
    async fn remove_as_owner(&mut self, path: &str) {
        let directory = std::path::Path::new(path)
            .parent()
            .unwrap()
            .display()
            .to_string();
        let (_, owner) = self.exec(&["stat", "-c", "%u:%g", &directory]).await;
        let (uid, gid) = owner.trim().split_once(':').unwrap_or(("0", "0"));
        // As run-as-owner.sh does: root acts itself (setpriv would need
        // SETGID to clear the groups, which not every role has).
        let (code, output) = if uid == "0" {
            self.exec(&["rm", "-rf", "--", path]).await
        } else {
            let (uid, gid) = (format!("--reuid={uid}"), format!("--regid={gid}"));
            self.exec(&[
                "setpriv",
                &uid,
                &gid,
                "--clear-groups",
                "rm",
                "-rf",
                "--",
                path,
            ])
            .await
        };
        if code != 0 {
            self.fail(format!("removing {path}: exit {code}: {output}"));
        }
    }

    /// A file on every writable path: seen by the file checks, both ways.
    async fn files(&mut self, reach: Reach) {
        let mounts = self.host.hardening.tmpfs.clone();
        for (index, mount) in mounts.iter().enumerate() {
            let path = format!("{mount}/enshu-probe-{index}.txt");
            if !roles::reaches(self.role, reach, &path) {
                continue;
            }
            let content = format!("enshu probe on {mount}\n");
            let planted = Artefact {
                path: Some(path.clone()),
                content: Some(content.clone()),
                ..artefact(ArtefactKind::File)
            };
            if self
                .plant(&format!("file-{index}"), planted)
                .await
                .is_none()
            {
                continue;
            }
            let sha256 = sha256_hex(content.as_bytes());
            self.expect(
                Self::file_check(CheckKind::FilePresent, &path),
                true,
                "after the plant",
            )
            .await;
            self.expect(
                Self::file_check(CheckKind::FileAbsent, &path),
                false,
                "after the plant",
            )
            .await;
            let hash = |sha256: &str| Check {
                sha256: Some(sha256.to_string()),
                ..Self::file_check(CheckKind::FileHash, &path)
            };
            self.expect(hash(&sha256), true, "with the planted hash")
                .await;
            self.expect(hash(&sha256_hex(b"other")), false, "with another hash")
                .await;
            self.remove_as_owner(&path).await;
            self.expect(
                Self::file_check(CheckKind::FileAbsent, &path),
                true,
                "after removal",
            )
            .await;
            self.expect(
                Self::file_check(CheckKind::FilePresent, &path),
                false,
                "after removal",
            )
            .await;
        }
    }

    async fn log(&mut self) {
        let path = "/var/log/enshu-probe.log";
        let line = format!("enshu probe log line on {}", self.role.as_str());
        let planted = Artefact {
            path: Some(path.into()),
            lines: vec![line.clone()],
            ..artefact(ArtefactKind::Log)
        };
        if self.plant("log", planted).await.is_none() {
            return;
        }
        let (code, _) = self.exec(&["grep", "-qF", "--", &line, path]).await;
        if code != 0 {
            self.fail(format!("the log line is not in {path}"));
        }
        self.expect(
            Self::file_check(CheckKind::FilePresent, path),
            true,
            "after the log",
        )
        .await;
    }

    async fn process(&mut self) {
        let name = format!("prb-{}", self.role.as_str());
        let planted = Artefact {
            name: Some(name.clone()),
            ..artefact(ArtefactKind::Process)
        };
        if self.plant("process", planted).await.is_none() {
            return;
        }
        let absent = Check {
            name: Some(name.clone()),
            ..check(CheckKind::ProcessAbsent)
        };
        self.expect(absent.clone(), false, "while it runs").await;
        let comm: String = name.chars().take(15).collect();
        self.exec(&["pkill", "-x", "--", &comm]).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.expect(absent, true, "once killed").await;
    }

    async fn cron(&mut self) {
        let command = "/tmp/enshu-probe-cron.sh";
        let planted = Artefact {
            name: Some(command.into()),
            schedule: Some("*/5 * * * *".into()),
            ..artefact(ArtefactKind::Cron)
        };
        let Some(truth) = self.plant("cron", planted).await else {
            return;
        };
        if truth["active"] != true {
            self.fail(format!("the cron line is not where cron reads it: {truth}"));
        }
        let path = truth["path"].as_str().unwrap_or_default().to_string();
        let line = truth["cron_line"].as_str().unwrap_or_default().to_string();
        let (code, _) = self.exec(&["grep", "-qxF", "--", &line, &path]).await;
        if code != 0 {
            self.fail(format!("{line:?} is not in {path}"));
        }
        self.expect(
            Self::file_check(CheckKind::FilePresent, &path),
            true,
            "after the cron line",
        )
        .await;
    }

    async fn user(&mut self) {
        let name = "probe-user";
        let planted = Artefact {
            name: Some(name.into()),
            ..artefact(ArtefactKind::User)
        };
        let Some(truth) = self.plant("user", planted).await else {
            return;
        };
        // Stamped as the engine stamps it from the InjectFired event.
        if let Some(fired) = self.ground_truth.get_mut("user") {
            fired.fired_at_ms = Some(now_ms());
        }
        if self.role == ImageRole::Directory {
            // A domain account, as the team sees it with samba-tool.
            let (code, output) = self
                .exec(&["samba-tool", "user", "show", name, "-s", DIRECTORY_CONF])
                .await;
            if code != 0 || !output.contains(&format!("sAMAccountName: {name}")) {
                self.fail(format!("{name} is not in the domain: {truth} {output}"));
            }
            return;
        }
        let (code, _) = self
            .exec(&["grep", "-q", "--", &format!("^{name}:"), "/etc/shadow"])
            .await;
        if code != 0 {
            self.fail(format!("{name} is not in /etc/shadow: {truth}"));
        }
        // Where /home is writable, the account's home shows in `ls /home`.
        let home = format!("/home/{name}");
        if roles::writable(self.role, &home) {
            self.expect(
                Self::file_check(CheckKind::FilePresent, &home),
                true,
                "after the user",
            )
            .await;
        }
    }

    async fn deface(&mut self, reach: Reach) {
        let Reach::Under(directories) = reach else {
            self.fail("deface claims no web root".into());
            return;
        };
        let page = format!("{}/index.html", directories[0]);
        let planted = Artefact {
            path: Some(page.clone()),
            content: Some("<h1>probe defaced</h1>\n".into()),
            ..artefact(ArtefactKind::Deface)
        };
        let Some(truth) = self.plant("deface", planted).await else {
            return;
        };
        let served = Check {
            path: Some("/".into()),
            golden: Some("deface".into()),
            ..check(CheckKind::Http)
        };
        let hashed = Check {
            golden: Some("deface".into()),
            ..Self::file_check(CheckKind::FileHash, &page)
        };
        self.expect(served.clone(), false, "defaced").await;
        self.expect(hashed.clone(), false, "defaced").await;
        if let Err(error) = restore_deface(self.backend, &self.host.name, &truth).await {
            self.fail(format!("restoring the page: {error}"));
        }
        self.expect(served, true, "restored").await;
        self.expect(hashed, true, "restored").await;
    }

    async fn encrypt(&mut self, reach: Reach) {
        let directory = format!("{}/enshu-probe-vault", data_directory(self.role));
        let document = format!("{directory}/report.txt");
        if !roles::reaches(self.role, reach, &directory) {
            self.fail(format!("encrypt cannot reach {directory}"));
            return;
        }
        let seed = Artefact {
            path: Some(document.clone()),
            content: Some("a document\n".into()),
            ..artefact(ArtefactKind::File)
        };
        if self.plant("vault", seed).await.is_none() {
            return;
        }
        let planted = Artefact {
            path: Some(directory.clone()),
            ..artefact(ArtefactKind::Encrypt)
        };
        let Some(truth) = self.plant("encrypt", planted).await else {
            return;
        };
        if truth["files_renamed"] != 1 {
            self.fail(format!("encrypt renamed {}", truth["files_renamed"]));
        }
        let locked = format!("{directory}/*.locked");
        let note = format!("{directory}/README_RESTORE_FILES.txt");
        self.expect(
            Self::file_check(CheckKind::FilePresent, &locked),
            true,
            "encrypted",
        )
        .await;
        self.expect(
            Self::file_check(CheckKind::FilePresent, &note),
            true,
            "encrypted",
        )
        .await;
        self.expect(
            Self::file_check(CheckKind::FileAbsent, &document),
            true,
            "encrypted",
        )
        .await;
        if let Err(error) = restore_encrypt(self.backend, &self.host.name, &truth).await {
            self.fail(format!("restoring the files: {error}"));
        }
        self.expect(
            Self::file_check(CheckKind::FileAbsent, &locked),
            true,
            "restored",
        )
        .await;
        self.expect(
            Self::file_check(CheckKind::FilePresent, &document),
            true,
            "restored",
        )
        .await;
    }

    async fn http(&mut self) {
        for port in roles::support(self.role).http_ports {
            let at = |status: u16| Check {
                port: Some(tcp(*port)),
                path: Some("/".into()),
                status: Some(status),
                ..check(CheckKind::Http)
            };
            self.expect(at(200), true, &format!("on tcp/{port}")).await;
            self.expect(at(599), false, &format!("on tcp/{port}")).await;
        }
    }

    async fn ports(&mut self) {
        let served: Vec<u16> = roles::support(self.role)
            .ports
            .iter()
            .filter_map(|port| port.strip_prefix("tcp/")?.parse().ok())
            .collect();
        for (port, open) in served
            .into_iter()
            .map(|port| (port, true))
            .chain([(UNSERVED_PORT, false)])
        {
            let on = |kind: CheckKind| Check {
                port: Some(tcp(port)),
                ..check(kind)
            };
            let situation = format!("on tcp/{port}");
            self.expect(on(CheckKind::PortOpen), open, &situation).await;
            self.expect(on(CheckKind::PortClosed), !open, &situation)
                .await;
        }
    }

    /// A beacon from this role reaches the C2 (what `no_beacon` watches:
    /// the check itself counts beacons on the team's router, which this
    /// one-segment range never crosses; `docker_quickstart` judges it).
    async fn no_beacon(&mut self) {
        let internet = target_of(self.internet);
        let address = internet.address.unwrap().to_string();
        let beacon = PlannedInject {
            id: "beacon".into(),
            when: When::At(ScenarioDuration::from_secs(0)),
            target: target_of(self.host),
            action: Action::Traffic(Traffic {
                kind: TrafficKind::Beacon,
                to: internet.reference.clone(),
                ports: vec![tcp(80)],
                interval: Some(ScenarioDuration::from_secs(1)),
                jitter: None,
                count: Some(1),
                path: Some(format!("/probe-{}", self.role.as_str())),
                user: None,
                users: vec![],
                password: None,
                bytes: None,
                domain: None,
            }),
            addresses: BTreeMap::from([(internet.reference.clone(), address)]),
        };
        match fire(self.backend, self.team, &beacon, 0, 1).await {
            // no_beacon judges only a target whose beacon fired (its ground truth).
            Ok(fired) => {
                self.ground_truth.insert(
                    "beacon".to_string(),
                    GroundTruth::from_json(fired.ground_truth),
                );
            }
            Err(error) => {
                self.fail(format!("the beacon did not start: {error}"));
                return;
            }
        }
        let path = format!("/probe-{}", self.role.as_str());
        let logged = format!("grep -qF '\"path\": \"{path}\"' /var/log/c2/beacons.jsonl");
        let command: Vec<String> = ["bash", "-c", logged.as_str()]
            .iter()
            .map(|part| part.to_string())
            .collect();
        self.judged += 1;
        let started = Instant::now();
        loop {
            let reached = self
                .backend
                .exec(&self.internet.name, &command, ExecPrivilege::Container)
                .await
                .is_ok_and(|output| output.exit_code == 0);
            if reached {
                return;
            }
            if started.elapsed() > Duration::from_secs(15) {
                self.fail(format!("no beacon to {path} reached the C2 in 15 s"));
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// A `mail` inject from this host reaches the mailbox (the mail role's
    /// host, in the same segment).
    async fn send_mail(&mut self) {
        let inject = PlannedInject {
            id: format!("mail-from-{}", self.role.as_str()),
            when: When::At(ScenarioDuration::from_secs(0)),
            target: target_of(self.host),
            action: Action::Mail(Mail {
                from: format!("{} <{}@example.jp>", self.role.as_str(), self.role.as_str()),
                to: None,
                subject: Text {
                    ja: Some(format!("{}からのメール", self.role.as_str())),
                    en: None,
                },
                body: Text {
                    ja: Some("本文".into()),
                    en: None,
                },
                attachment: None,
            }),
            addresses: BTreeMap::new(),
        };
        self.planted += 1;
        match fire(self.backend, self.team, &inject, 0, 1).await {
            Ok(fired) if fired.ground_truth["delivered"] == "mailbox" => {}
            Ok(fired) => self.fail(format!("mail not delivered: {}", fired.ground_truth)),
            Err(error) => self.fail(format!("cannot send mail: {error}")),
        }
    }

    /// On a directory: the domain account (the user artefact's) fails
    /// `password_changed` until its password is set after the inject
    /// fired, and `not_in_group` while it is a member; `account_disabled`
    /// fails while it is enabled and passes once disabled, as the team
    /// would do them with samba-tool.
    async fn directory_accounts(&mut self) {
        let name = "probe-user";
        let samba_tool = |arguments: &[&str]| {
            let mut command = vec!["samba-tool"];
            command.extend_from_slice(arguments);
            command.extend_from_slice(&["-s", DIRECTORY_CONF]);
            command.into_iter().map(str::to_string).collect::<Vec<_>>()
        };
        let changed = Check {
            name: Some(name.into()),
            ..check(CheckKind::PasswordChanged)
        };
        self.expect_since(changed.clone(), "user", false, "as the inject created it")
            .await;
        // pwdLastSet has a second's resolution: the change is a later second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        self.run_as_team(&samba_tool(&[
            "user",
            "setpassword",
            name,
            &format!("--newpassword={NEW_PASSWORD}"),
        ]))
        .await;
        self.expect_since(changed, "user", true, "after a new password")
            .await;

        let in_admins = Check {
            name: Some(name.into()),
            group: Some("Domain Admins".into()),
            ..check(CheckKind::NotInGroup)
        };
        self.run_as_team(&samba_tool(&["group", "addmembers", "Domain Admins", name]))
            .await;
        self.expect(in_admins.clone(), false, "while a member")
            .await;
        self.run_as_team(&samba_tool(&[
            "group",
            "removemembers",
            "Domain Admins",
            name,
        ]))
        .await;
        self.expect(in_admins, true, "once removed").await;

        self.guesses_are_logged_logons(name).await;

        let disabled = Check {
            name: Some(name.into()),
            ..check(CheckKind::AccountDisabled)
        };
        self.expect(disabled.clone(), false, "while enabled").await;
        self.run_as_team(&samba_tool(&["user", "disable", name]))
            .await;
        self.expect(disabled, true, "disabled").await;
    }

    /// A password spray over SMB and a brute force over LDAP at the
    /// directory are real logons: its auth.log holds the failed ones and
    /// the one the spray's password opens (the backdoor's), each with the
    /// address it came from.
    async fn guesses_are_logged_logons(&mut self, name: &str) {
        let address = self.host.primary_address().unwrap().to_string();
        for (id, traffic) in [
            (
                "spray",
                Traffic {
                    kind: TrafficKind::PasswordSpray,
                    to: self.host.reference.clone(),
                    ports: vec![tcp(445)],
                    interval: Some(ScenarioDuration::from_secs(1)),
                    users: vec!["nobody-here".into(), name.into()],
                    // The password `password_changed` above gave the account.
                    password: Some(NEW_PASSWORD.into()),
                    ..beacon_like(&self.host.reference)
                },
            ),
            (
                "brute",
                Traffic {
                    kind: TrafficKind::BruteForce,
                    to: self.host.reference.clone(),
                    ports: vec![tcp(389)],
                    interval: Some(ScenarioDuration::from_secs(1)),
                    count: Some(2),
                    user: Some("Administrator".into()),
                    ..beacon_like(&self.host.reference)
                },
            ),
        ] {
            let inject = PlannedInject {
                id: id.into(),
                when: When::At(ScenarioDuration::from_secs(0)),
                target: target_of(self.host),
                action: Action::Traffic(traffic),
                addresses: BTreeMap::from([(self.host.reference.clone(), address.clone())]),
            };
            if let Err(error) = fire(self.backend, self.team, &inject, 0, 1).await {
                self.fail(format!("{id} did not start: {error}"));
                return;
            }
        }
        let from = format!("remote host [ipv4:{address}:");
        let expected = [
            format!("[{name}] at"),
            "NT_STATUS_NO_SUCH_USER".to_string(),
            "[LDAP,NTLMSSP] user".to_string(),
            "NT_STATUS_WRONG_PASSWORD".to_string(),
        ];
        let started = Instant::now();
        loop {
            let (_, log) = self.exec(&["cat", "/var/log/samba/auth.log"]).await;
            let missing: Vec<&String> = expected
                .iter()
                .filter(|needle| {
                    !log.lines()
                        .any(|line| line.contains(needle.as_str()) && line.contains(&from))
                })
                .collect();
            let spray_opened = log.lines().any(|line| {
                line.contains(&format!("\\[{name}] at"))
                    && line.contains("[SMB2,NTLMSSP]")
                    && line.contains("NT_STATUS_OK")
                    && line.contains(&from)
            });
            if missing.is_empty() && spray_opened {
                return;
            }
            if started.elapsed() > Duration::from_secs(30) {
                self.fail(format!(
                    "auth.log lacks {missing:?} (spray's logon opened: {spray_opened}) from {address}"
                ));
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn run_as_team(&mut self, command: &[String]) {
        let parts: Vec<&str> = command.iter().map(String::as_str).collect();
        let (code, output) = self.exec(&parts).await;
        if code != 0 {
            self.fail(format!("{}: exit {code}: {output}", command.join(" ")));
        }
    }

    /// [`Probe::expect`] for a check that counts from inject `since`.
    async fn expect_since(&mut self, planned: Check, since: &str, passes: bool, situation: &str) {
        self.since = Some(since.to_string());
        self.expect(planned, passes, situation).await;
        self.since = None;
    }

    /// Each account fails while it has its initial password, passes locked.
    async fn accounts(&mut self) {
        if self.role == ImageRole::Directory {
            return self.directory_accounts().await;
        }
        for account in roles::support(self.role).accounts {
            let disabled = Check {
                name: Some(account.to_string()),
                ..check(CheckKind::AccountDisabled)
            };
            self.expect(disabled.clone(), false, "with its initial password")
                .await;
            let lock = format!("s/^{account}:/{account}:!/");
            let mut locked = false;
            for store in [
                "/run/enshu/shadow",
                "/run/enshu/htpasswd",
                "/run/enshu/dovecot/users",
            ] {
                let (listed, _) = self
                    .exec(&["grep", "-q", "--", &format!("^{account}:"), store])
                    .await;
                if listed == 0 {
                    let (code, output) = self.exec(&["sed", "-i", &lock, store]).await;
                    locked |= code == 0;
                    if code != 0 {
                        self.fail(format!("locking {account} in {store}: {output}"));
                    }
                }
            }
            if !locked {
                self.fail(format!("account {account} is in none of the stores"));
                continue;
            }
            self.expect(disabled, true, "locked").await;
        }
    }

    /// The copy `up` took: `restored` passes on the data as backed up,
    /// fails once ransomware renamed it, passes again once undone.
    async fn restored(&mut self) {
        let directory = roles::data_paths(self.role)[0];
        let restored = Check {
            path: Some(directory.to_string()),
            ..check(CheckKind::Restored)
        };
        self.expect(restored.clone(), true, "as backed up").await;
        let planted = Artefact {
            path: Some(directory.to_string()),
            ..artefact(ArtefactKind::Encrypt)
        };
        let Some(truth) = self.plant("ransom", planted).await else {
            return;
        };
        self.expect(restored.clone(), false, "encrypted").await;
        if let Err(error) = restore_encrypt(self.backend, &self.host.name, &truth).await {
            self.fail(format!("restoring the files: {error}"));
        }
        self.expect(restored, true, "decrypted").await;
    }

    /// A command on the host: its exit status and output judged both ways.
    async fn command(&mut self) {
        let command = |text: &str, expect: CommandExpect| Check {
            command: Some(text.to_string()),
            expect: Some(Box::new(expect)),
            ..check(CheckKind::Command)
        };
        let exit = |code: i64| CommandExpect {
            exit: Some(code),
            ..CommandExpect::default()
        };
        let matches = |pattern: &str| CommandExpect {
            output_matches: Some(pattern.to_string()),
            ..CommandExpect::default()
        };
        self.expect(command("hostname", exit(0)), true, "hostname")
            .await;
        self.expect(command("false", exit(0)), false, "false").await;
        let role = self.role.as_str();
        let contains = CommandExpect {
            output_contains: Some(role.to_string()),
            ..CommandExpect::default()
        };
        self.expect(command("hostname", contains), true, "hostname contains")
            .await;
        self.expect(
            command("echo \"$1\"", matches(r"^10\.226\.\d+\.\d+\s*$")),
            true,
            "the target's address as $1",
        )
        .await;
        self.expect(
            command("echo nginx/1.18", matches(r"nginx/1\.2[2-9]")),
            false,
            "an old version",
        )
        .await;
    }

    async fn run(&mut self) {
        let support = roles::support(self.role);
        for (kind, reach) in support.artefacts {
            match kind {
                ArtefactKind::File => self.files(*reach).await,
                ArtefactKind::Log => self.log().await,
                ArtefactKind::Process => self.process().await,
                ArtefactKind::Cron => self.cron().await,
                ArtefactKind::User => self.user().await,
                ArtefactKind::Deface => self.deface(*reach).await,
                ArtefactKind::Encrypt => self.encrypt(*reach).await,
            }
        }
        let claimed = |kind: CheckKind| support.takes_check(kind);
        // The file and process checks were judged with the artefacts above.
        for (kind, artefact_kind) in [
            (CheckKind::FilePresent, ArtefactKind::File),
            (CheckKind::FileAbsent, ArtefactKind::File),
            (CheckKind::FileHash, ArtefactKind::File),
            (CheckKind::ProcessAbsent, ArtefactKind::Process),
        ] {
            if claimed(kind) && support.artefact(artefact_kind).is_none() {
                self.fail(format!(
                    "claims {} checks but no {} artefact to judge them with",
                    kind.as_str(),
                    artefact_kind.as_str()
                ));
            }
        }
        if claimed(CheckKind::Http) {
            self.http().await;
        }
        if claimed(CheckKind::PortOpen) || claimed(CheckKind::PortClosed) {
            self.ports().await;
        }
        if claimed(CheckKind::NoBeacon) {
            self.no_beacon().await;
        }
        if roles::sends_mail(self.role) {
            self.send_mail().await;
        }
        if claimed(CheckKind::AccountDisabled) {
            self.accounts().await;
        }
        if (claimed(CheckKind::PasswordChanged) || claimed(CheckKind::NotInGroup))
            && self.role != ImageRole::Directory
        {
            self.fail("claims directory account checks but is no directory".into());
        }
        if claimed(CheckKind::Restored) {
            self.restored().await;
        }
        if claimed(CheckKind::Command) {
            self.command().await;
        }
    }
}

async fn wait_ready(backend: &DockerBackend, container: &str) -> Result<(), String> {
    let started = Instant::now();
    let command = vec!["test".to_string(), "-e".into(), "/run/enshu/ready".into()];
    loop {
        if let Ok(output) = backend
            .exec(container, &command, ExecPrivilege::Container)
            .await
            && output.exit_code == 0
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("{container}: not ready after 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_carries_every_artefact_and_check_it_claims() {
    let started = Instant::now();
    HostGuard::new()
        .ensure()
        .await
        .expect("the host guard must install (root and iptables needed)");
    let backend = DockerBackend::connect()
        .await
        .expect("the docker engine must be reachable on the local socket");
    let session = format!("capab{}", std::process::id());
    let plan = every_role_plan(&session);
    let _down = SessionDown {
        session: session.clone(),
    };
    enshu_controller::up(&backend, &plan, 10, &|_| {})
        .await
        .expect("enshu up (are the images built? `make images`)");
    let team = &plan.teams[0];
    let host = |role: ImageRole| {
        team.containers
            .iter()
            .find(|container| container.role == roles::ContainerRole::Host(role))
            .unwrap()
    };
    let ready = futures::future::join_all(
        ImageRole::ALL.map(|role| wait_ready(&backend, &host(role).name)),
    )
    .await;
    let not_ready: Vec<String> = ready.into_iter().filter_map(Result::err).collect();
    assert!(not_ready.is_empty(), "{not_ready:#?}");
    eprintln!("up and ready in {:.1} s", started.elapsed().as_secs_f64());

    let probes = ImageRole::ALL.map(|role| {
        let backend = &backend;
        let internet = host(ImageRole::Internet);
        let backup = host(ImageRole::Backup);
        async move {
            let mut probe = Probe {
                backend,
                team,
                role,
                host: host(role),
                internet,
                backup,
                ground_truth: BTreeMap::new(),
                since: None,
                failures: Vec::new(),
                judged: 0,
                planted: 0,
            };
            probe.run().await;
            (probe.failures, probe.judged, probe.planted)
        }
    });
    let outcomes = futures::future::join_all(probes).await;
    let judged: usize = outcomes.iter().map(|(_, judged, _)| judged).sum();
    let planted: usize = outcomes.iter().map(|(_, _, planted)| planted).sum();
    let failures: Vec<String> = outcomes
        .into_iter()
        .flat_map(|(failures, _, _)| failures)
        .collect();
    eprintln!(
        "{} roles: {planted} artefacts planted, {judged} checks judged; {:.1} s in all",
        ImageRole::ALL.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "what the roles claim and what their images do differ:\n{}",
        failures.join("\n")
    );
}
