//! Keeping range containers away from the host that runs them.
//!
//! An `--internal` Docker network stops a team from reaching other teams and
//! the outside world, but not the host: on a stock engine the host owns the
//! bridge's gateway address, and every service it listens on (on that
//! address, and by local routing on all its other addresses) is one TCP
//! connection away from any container. Two independent layers close that:
//!
//! 1. Every range network is created with
//!    [`INHIBIT_IPV4_OPTION`](crate::convert::INHIBIT_IPV4_OPTION): the bridge
//!    has no IPv4 address, so the host is not on the segment at layer 3. A
//!    container with `NET_ADMIN` can still point an on-link route at a host
//!    address and have the host answer ARP for it, so this layer alone is not
//!    enough.
//! 2. This guard: filter rules that drop every packet arriving on a range
//!    bridge before the host's sockets see it (chain [`HOST_GUARD_CHAIN`],
//!    jumped to from the first rule of `INPUT`), and decide every packet
//!    forwarded to or from a range bridge (chain [`FORWARD_GUARD_CHAIN`],
//!    first in `DOCKER-USER`, or in `FORWARD` where the engine has no
//!    `DOCKER-USER`), for IPv4 and IPv6 alike. Range bridges are recognised
//!    by name: the planner names each one [`BRIDGE_PREFIX`] and 11 hex digits.
//!
//! The forward chain also makes the team router work. With `br_netfilter`
//! loaded (Docker loads it), frames bridged inside one segment pass the
//! `FORWARD` hook too, and Docker's rules for internal networks drop those
//! whose source or destination lies outside the segment's subnet: exactly
//! the frames the router forwards between segments. So the chain accepts
//! frames bridged within one range bridge (layer 2, one segment; the router
//! is the policy point between segments), and drops everything else that
//! enters or leaves a range bridge: towards other interfaces, from them,
//! and routed by the host from one range bridge to another.
//!
//! The rules are written with the `iptables` and `ip6tables` commands found
//! in `PATH`, which is what Docker itself runs: whichever backend those
//! commands use (nf_tables or legacy) is the one Docker's own chains live
//! in, so the guard's chains sit beside them. The work follows the usual
//! observe → plan → apply: `iptables -S` is read, a pure function plans the
//! few commands that bring it to the wanted state (nothing when it already
//! is), and after applying, the table is read again and must need nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use enshu_scenario::plan::BRIDGE_PREFIX;

/// Chain holding the host's INPUT rules for range bridges.
pub const HOST_GUARD_CHAIN: &str = "ENSHU-HOST-GUARD";
/// Chain holding the FORWARD rules for range bridges.
pub const FORWARD_GUARD_CHAIN: &str = "ENSHU-FORWARD-GUARD";
/// Docker's chain for user rules, consulted before Docker's own.
pub const DOCKER_USER_CHAIN: &str = "DOCKER-USER";

/// Where the host's network interfaces are listed.
const SYSFS_NET: &str = "/sys/class/net";

/// A failed guard operation.
#[derive(Debug, thiserror::Error)]
pub enum HostGuardError {
    #[error("taking the host guard lock: {0}")]
    Lock(std::io::Error),
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{program} {arguments}` failed: {message}")]
    Command {
        program: String,
        arguments: String,
        message: String,
    },
    #[error("{program}: the guard rules did not take effect; still planned: {remaining}")]
    NotEffective { program: String, remaining: String },
    #[error("cannot list host interfaces in {SYSFS_NET}: {0}")]
    Interfaces(std::io::Error),
}

/// The filter table as `iptables -S` prints it: chain → rule specs, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterTable {
    chains: BTreeMap<String, Vec<String>>,
}

impl FilterTable {
    /// Parse `iptables -S` output (`-P`, `-N` and `-A` lines).
    pub fn parse(listing: &str) -> FilterTable {
        let mut chains: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in listing.lines().map(str::trim) {
            let mut words = line.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("-P" | "-N"), Some(chain), _) => {
                    chains.entry(chain.to_string()).or_default();
                }
                (Some("-A"), Some(chain), rule) => {
                    chains
                        .entry(chain.to_string())
                        .or_default()
                        .push(rule.unwrap_or_default().to_string());
                }
                _ => {}
            }
        }
        FilterTable { chains }
    }

    pub fn has_chain(&self, chain: &str) -> bool {
        self.chains.contains_key(chain)
    }

    pub fn rules(&self, chain: &str) -> &[String] {
        self.chains
            .get(chain)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// The iptables pattern matching every range bridge (`esh+`).
pub fn bridge_pattern() -> String {
    format!("{BRIDGE_PREFIX}+")
}

/// Rules of [`HOST_GUARD_CHAIN`], as `iptables -S` prints them.
pub fn host_guard_rules() -> Vec<String> {
    vec![format!("-i {} -j DROP", bridge_pattern())]
}

/// Rules of [`FORWARD_GUARD_CHAIN`], as `iptables -S` prints them: out of
/// and into range bridges never; bridged within one range bridge always
/// (`--physdev-is-bridged`: the frame enters and leaves the same bridge);
/// routed by the host between range bridges never.
pub fn forward_guard_rules() -> Vec<String> {
    let pattern = bridge_pattern();
    vec![
        format!("-i {pattern} ! -o {pattern} -j DROP"),
        format!("! -i {pattern} -o {pattern} -j DROP"),
        format!("-i {pattern} -o {pattern} -m physdev --physdev-is-bridged -j ACCEPT"),
        format!("-i {pattern} -o {pattern} -j DROP"),
    ]
}

/// The chain that jumps to [`FORWARD_GUARD_CHAIN`].
fn forward_parent(table: &FilterTable) -> &'static str {
    if table.has_chain(DOCKER_USER_CHAIN) {
        DOCKER_USER_CHAIN
    } else {
        "FORWARD"
    }
}

fn to_arguments(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

/// Commands making `chain` hold exactly `rules`.
fn plan_chain(table: &FilterTable, chain: &str, rules: &[String], commands: &mut Vec<Vec<String>>) {
    if !table.has_chain(chain) {
        commands.push(to_arguments(&["-N", chain]));
    } else if table.rules(chain) == rules {
        return;
    } else {
        commands.push(to_arguments(&["-F", chain]));
    }
    for rule in rules {
        commands.push(
            to_arguments(&["-A", chain])
                .into_iter()
                .chain(rule.split(' ').map(str::to_string))
                .collect(),
        );
    }
}

/// 1-based positions of the jumps to `chain` in `parent`.
fn jump_positions(table: &FilterTable, parent: &str, chain: &str) -> Vec<usize> {
    let jump = format!("-j {chain}");
    table
        .rules(parent)
        .iter()
        .enumerate()
        .filter(|(_, rule)| **rule == jump)
        .map(|(index, _)| index + 1)
        .collect()
}

/// Commands making the first rule of `parent` a jump to `chain`, and the only one.
fn plan_jump(table: &FilterTable, parent: &str, chain: &str, commands: &mut Vec<Vec<String>>) {
    let positions = jump_positions(table, parent, chain);
    let shift = if positions.first() == Some(&1) {
        0
    } else {
        // Insert first, then delete the stale ones: never a moment without the jump.
        commands.push(to_arguments(&["-I", parent, "1", "-j", chain]));
        1
    };
    for position in positions
        .iter()
        .rev()
        .filter(|position| **position + shift != 1)
    {
        commands.push(to_arguments(&[
            "-D",
            parent,
            &(position + shift).to_string(),
        ]));
    }
}

/// The commands (arguments to `iptables`) that install the guard on `table`;
/// empty when it is in place.
pub fn plan_ensure(table: &FilterTable) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    plan_chain(table, HOST_GUARD_CHAIN, &host_guard_rules(), &mut commands);
    plan_jump(table, "INPUT", HOST_GUARD_CHAIN, &mut commands);
    plan_chain(
        table,
        FORWARD_GUARD_CHAIN,
        &forward_guard_rules(),
        &mut commands,
    );
    let parent = forward_parent(table);
    plan_jump(table, parent, FORWARD_GUARD_CHAIN, &mut commands);
    if parent != "FORWARD" {
        // A jump from FORWARD left from before Docker created DOCKER-USER.
        for position in jump_positions(table, "FORWARD", FORWARD_GUARD_CHAIN)
            .iter()
            .rev()
        {
            commands.push(to_arguments(&["-D", "FORWARD", &position.to_string()]));
        }
    }
    commands
}

/// The commands that take the guard off `table`; empty when it is not there.
pub fn plan_remove(table: &FilterTable) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for (parent, chain) in [
        ("INPUT", HOST_GUARD_CHAIN),
        (DOCKER_USER_CHAIN, FORWARD_GUARD_CHAIN),
        ("FORWARD", FORWARD_GUARD_CHAIN),
    ] {
        for position in jump_positions(table, parent, chain).iter().rev() {
            commands.push(to_arguments(&["-D", parent, &position.to_string()]));
        }
    }
    for chain in [HOST_GUARD_CHAIN, FORWARD_GUARD_CHAIN] {
        if table.has_chain(chain) {
            commands.push(to_arguments(&["-F", chain]));
            commands.push(to_arguments(&["-X", chain]));
        }
    }
    commands
}

/// Whether any of these interface names is a range bridge.
pub fn any_range_bridge<'a>(interface_names: impl IntoIterator<Item = &'a str>) -> bool {
    interface_names
        .into_iter()
        .any(|name| name.starts_with(BRIDGE_PREFIX))
}

/// What [`HostGuard::ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardReport {
    /// `iptables -V` of each program, e.g. `iptables v1.8.9 (nf_tables)`.
    pub versions: Vec<String>,
    /// Commands run, as `program arguments`.
    pub commands: Vec<String>,
}

/// One lock for the whole machine (the guard is the machine's): in `/run`,
/// which only root may write (and only root can install the guard), else,
/// for a test without the right, in the temporary directory.
fn lock_file() -> PathBuf {
    let run = Path::new("/run");
    if is_writable(run) {
        run.join("enshu-host-guard.lock")
    } else {
        std::env::temp_dir().join("enshu-host-guard.lock")
    }
}

fn is_writable(directory: &Path) -> bool {
    let probe = directory.join(format!(".enshu-write-probe-{}", std::process::id()));
    let writable = std::fs::File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    writable
}

/// Installs and removes the host's filter rules for range bridges.
#[derive(Debug, Clone)]
pub struct HostGuard {
    programs: Vec<String>,
}

impl Default for HostGuard {
    fn default() -> Self {
        HostGuard::new()
    }
}

impl HostGuard {
    /// `iptables`, and `ip6tables` when the host has IPv6 (range bridges
    /// get IPv6 link-local addresses even on IPv4-only networks).
    pub fn new() -> HostGuard {
        let mut programs = vec!["iptables".to_string()];
        if Path::new("/proc/net/if_inet6").exists() {
            programs.push("ip6tables".to_string());
        }
        HostGuard { programs }
    }

    /// A guard driving these programs (each taking `iptables` arguments).
    pub fn with_programs(programs: impl IntoIterator<Item = impl Into<String>>) -> HostGuard {
        HostGuard {
            programs: programs.into_iter().map(Into::into).collect(),
        }
    }

    async fn run(program: &str, arguments: &[String]) -> Result<String, HostGuardError> {
        let output = tokio::process::Command::new(program)
            .args(arguments)
            .output()
            .await
            .map_err(|source| HostGuardError::Spawn {
                program: program.to_string(),
                source,
            })?;
        if !output.status.success() {
            return Err(HostGuardError::Command {
                program: program.to_string(),
                arguments: arguments.join(" "),
                message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    async fn observe(program: &str) -> Result<FilterTable, HostGuardError> {
        let listing = Self::run(program, &to_arguments(&["-w", "-t", "filter", "-S"])).await?;
        Ok(FilterTable::parse(&listing))
    }

    async fn converge(
        &self,
        plan: fn(&FilterTable) -> Vec<Vec<String>>,
        report: &mut GuardReport,
    ) -> Result<(), HostGuardError> {
        for program in &self.programs {
            let commands = plan(&Self::observe(program).await?);
            for arguments in &commands {
                let arguments: Vec<String> =
                    ["-w".to_string(), "-t".to_string(), "filter".to_string()]
                        .into_iter()
                        .chain(arguments.iter().cloned())
                        .collect();
                Self::run(program, &arguments).await?;
                report
                    .commands
                    .push(format!("{program} {}", arguments.join(" ")));
            }
            let remaining = plan(&Self::observe(program).await?);
            if !remaining.is_empty() {
                let remaining: Vec<String> = remaining
                    .iter()
                    .map(|arguments| arguments.join(" "))
                    .collect();
                return Err(HostGuardError::NotEffective {
                    program: program.clone(),
                    remaining: remaining.join("; "),
                });
            }
        }
        Ok(())
    }

    /// Install the guard, or repair it; does nothing when it is in place.
    /// Call it before the first range network is created, and again on
    /// every `up`: a firewall reload elsewhere on the host may flush it.
    ///
    /// Observing and then changing the firewall is not atomic, so ensures
    /// are serialised across processes with a lock file: two `enshu up` (or
    /// two tests) at once must not both create the same chain.
    pub async fn ensure(&self) -> Result<GuardReport, HostGuardError> {
        // Created 0600 and never through a symbolic link.
        let lock_path = lock_file();
        let lock = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            use std::os::unix::fs::OpenOptionsExt as _;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&lock_path)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(|error| HostGuardError::Lock(std::io::Error::other(error.to_string())))?
        .map_err(HostGuardError::Lock)?;
        let result = self.ensure_locked().await;
        drop(lock);
        result
    }

    async fn ensure_locked(&self) -> Result<GuardReport, HostGuardError> {
        let mut report = GuardReport::default_for(&self.programs);
        for program in &self.programs {
            let version = Self::run(program, &to_arguments(&["-V"])).await?;
            report.versions.push(version.trim().to_string());
        }
        self.converge(plan_ensure, &mut report).await?;
        Ok(report)
    }

    /// Whether the guard is fully in place for every program.
    pub async fn is_active(&self) -> Result<bool, HostGuardError> {
        for program in &self.programs {
            if !plan_ensure(&Self::observe(program).await?).is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// What a watcher does every round while an exercise runs: nothing
    /// when the guard is in place, or when no range bridge is on the host
    /// (every range is down: there is nothing to guard, and an operator
    /// may have taken the guard off on purpose); else [`HostGuard::ensure`].
    /// The commands that repaired it (empty: nothing was changed).
    pub async fn keep(&self) -> Result<Vec<String>, HostGuardError> {
        let names = host_interface_names().map_err(HostGuardError::Interfaces)?;
        if !any_range_bridge(names.iter().map(String::as_str)) || self.is_active().await? {
            return Ok(Vec::new());
        }
        Ok(self.ensure().await?.commands)
    }

    /// Take the guard off, whatever is running.
    pub async fn remove(&self) -> Result<GuardReport, HostGuardError> {
        let mut report = GuardReport::default_for(&self.programs);
        self.converge(plan_remove, &mut report).await?;
        Ok(report)
    }

    /// Take the guard off when no range bridge is left on the host; `true`
    /// when it was removed (or was not there).
    pub async fn remove_if_unused(&self) -> Result<bool, HostGuardError> {
        let names = host_interface_names().map_err(HostGuardError::Interfaces)?;
        if any_range_bridge(names.iter().map(String::as_str)) {
            return Ok(false);
        }
        self.remove().await?;
        Ok(true)
    }
}

impl GuardReport {
    fn default_for(programs: &[String]) -> GuardReport {
        GuardReport {
            versions: Vec::with_capacity(programs.len()),
            commands: Vec::new(),
        }
    }
}

/// Names of the host's network interfaces.
pub fn host_interface_names() -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(SYSFS_NET)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `iptables -S` on a Docker 20.10 host (nf_tables backend), no guard.
    const DOCKER_HOST: &str = "\
-P INPUT ACCEPT
-P FORWARD DROP
-P OUTPUT ACCEPT
-N DOCKER
-N DOCKER-ISOLATION-STAGE-1
-N DOCKER-ISOLATION-STAGE-2
-N DOCKER-USER
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i esh307404e7516 -o esh307404e7516 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 ! -d 10.64.10.0/24 -i esh307404e7516 -j DROP
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-USER -j RETURN
";

    fn commands(plan: &[Vec<String>]) -> Vec<String> {
        plan.iter().map(|arguments| arguments.join(" ")).collect()
    }

    /// The table after applying `plan` (enough of iptables to check plans).
    fn apply(table: &FilterTable, plan: &[Vec<String>]) -> FilterTable {
        let mut chains = table.chains.clone();
        for arguments in plan {
            let words: Vec<&str> = arguments.iter().map(String::as_str).collect();
            match words.as_slice() {
                ["-N", chain] => {
                    chains.insert(chain.to_string(), Vec::new());
                }
                ["-F", chain] => chains.get_mut(*chain).unwrap().clear(),
                ["-X", chain] => {
                    chains.remove(*chain);
                }
                ["-A", chain, rule @ ..] => chains.get_mut(*chain).unwrap().push(rule.join(" ")),
                ["-I", chain, position, rule @ ..] => chains
                    .get_mut(*chain)
                    .unwrap()
                    .insert(position.parse::<usize>().unwrap() - 1, rule.join(" ")),
                ["-D", chain, position] => {
                    chains
                        .get_mut(*chain)
                        .unwrap()
                        .remove(position.parse::<usize>().unwrap() - 1);
                }
                other => panic!("unexpected command {other:?}"),
            }
        }
        FilterTable { chains }
    }

    #[test]
    fn parses_chains_and_rules_in_order() {
        let table = FilterTable::parse(DOCKER_HOST);
        assert!(table.has_chain("INPUT") && table.has_chain("DOCKER-USER"));
        assert!(table.rules("INPUT").is_empty());
        assert_eq!(table.rules("DOCKER-USER"), ["-j RETURN"]);
        assert_eq!(table.rules("FORWARD")[0], "-j DOCKER-USER");
        assert_eq!(table.rules("NO-SUCH-CHAIN"), [] as [String; 0]);
    }

    #[test]
    fn fresh_host_gets_both_chains_jumped_to_first() {
        let table = FilterTable::parse(DOCKER_HOST);
        let plan = plan_ensure(&table);
        assert_eq!(
            commands(&plan),
            [
                "-N ENSHU-HOST-GUARD",
                "-A ENSHU-HOST-GUARD -i esh+ -j DROP",
                "-I INPUT 1 -j ENSHU-HOST-GUARD",
                "-N ENSHU-FORWARD-GUARD",
                "-A ENSHU-FORWARD-GUARD -i esh+ ! -o esh+ -j DROP",
                "-A ENSHU-FORWARD-GUARD ! -i esh+ -o esh+ -j DROP",
                "-A ENSHU-FORWARD-GUARD -i esh+ -o esh+ -m physdev --physdev-is-bridged -j ACCEPT",
                "-A ENSHU-FORWARD-GUARD -i esh+ -o esh+ -j DROP",
                "-I DOCKER-USER 1 -j ENSHU-FORWARD-GUARD",
            ]
        );
        let after = apply(&table, &plan);
        assert_eq!(after.rules("INPUT")[0], "-j ENSHU-HOST-GUARD");
        assert_eq!(
            after.rules("DOCKER-USER"),
            ["-j ENSHU-FORWARD-GUARD", "-j RETURN"]
        );
        assert!(plan_ensure(&after).is_empty(), "ensure is idempotent");
    }

    #[test]
    fn a_jump_pushed_down_is_moved_back_to_the_top() {
        let table = FilterTable::parse(&format!(
            "{DOCKER_HOST}-N ENSHU-HOST-GUARD\n-A ENSHU-HOST-GUARD -i esh+ -j DROP\n\
             -A INPUT -i lo -j ACCEPT\n-A INPUT -j ENSHU-HOST-GUARD\n-A INPUT -j ENSHU-HOST-GUARD\n"
        ));
        let plan = plan_ensure(&table);
        assert_eq!(
            commands(&plan[..3]),
            ["-I INPUT 1 -j ENSHU-HOST-GUARD", "-D INPUT 4", "-D INPUT 3"]
        );
        let after = apply(&table, &plan);
        assert_eq!(
            after.rules("INPUT"),
            ["-j ENSHU-HOST-GUARD", "-i lo -j ACCEPT"]
        );
        assert!(plan_ensure(&after).is_empty());
    }

    #[test]
    fn edited_guard_rules_are_rewritten() {
        let table = FilterTable::parse(&format!(
            "{DOCKER_HOST}-N ENSHU-HOST-GUARD\n-A INPUT -j ENSHU-HOST-GUARD\n-A ENSHU-HOST-GUARD -i esh+ -j ACCEPT\n"
        ));
        let plan = plan_ensure(&table);
        assert_eq!(
            commands(&plan[..2]),
            ["-F ENSHU-HOST-GUARD", "-A ENSHU-HOST-GUARD -i esh+ -j DROP"]
        );
        assert!(plan_ensure(&apply(&table, &plan)).is_empty());
    }

    #[test]
    fn without_docker_user_the_forward_guard_hangs_off_forward() {
        let table = FilterTable::parse("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n");
        let plan = plan_ensure(&table);
        assert!(commands(&plan).contains(&"-I FORWARD 1 -j ENSHU-FORWARD-GUARD".to_string()));
        assert!(plan_ensure(&apply(&table, &plan)).is_empty());
    }

    #[test]
    fn removal_takes_jumps_out_before_chains() {
        let guarded = apply(
            &FilterTable::parse(DOCKER_HOST),
            &plan_ensure(&FilterTable::parse(DOCKER_HOST)),
        );
        let plan = plan_remove(&guarded);
        assert_eq!(
            commands(&plan),
            [
                "-D INPUT 1",
                "-D DOCKER-USER 1",
                "-F ENSHU-HOST-GUARD",
                "-X ENSHU-HOST-GUARD",
                "-F ENSHU-FORWARD-GUARD",
                "-X ENSHU-FORWARD-GUARD",
            ]
        );
        assert_eq!(apply(&guarded, &plan), FilterTable::parse(DOCKER_HOST));
        assert!(plan_remove(&FilterTable::parse(DOCKER_HOST)).is_empty());
    }

    #[test]
    fn range_bridges_are_recognised_by_prefix() {
        assert!(any_range_bridge(["lo", "eth0", "esh307404e7516"]));
        assert!(!any_range_bridge(["lo", "eth0", "docker0", "br-1234"]));
    }
}
