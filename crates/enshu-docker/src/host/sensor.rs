//! The network sensor on this machine: veth taps and tc mirrors, with the
//! host's `ip` and `tc` (iproute2).
//!
//! A tap is a veth pair created from the host with its far end placed
//! straight into the analyst workstation's network namespace
//! (`netns /proc/<this process>/fd/<n>`, the namespace opened first and
//! its process then checked to belong to the container, as in
//! [`super::netns`]). The host end is attached to nothing and sealed: no
//! ARP, IPv6 and IPv4 forwarding off, a `clsact` whose ingress drops
//! every frame (a one-instruction classic BPF program in direct-action
//! mode, `ret #2` = `TC_ACT_SHOT`: this needs only `cls_bpf`, which is
//! where kernels without `act_gact` still have a drop). Its name starts
//! with `esh`, so the host guard's `esh+` rules cover it too. In the
//! workstation, `cap-<segment>` is up, without ARP or IPv6, and its own
//! ingress drops every frame after the packet taps (tcpdump) have seen it,
//! so the workstation's kernel never answers a mirrored frame.
//!
//! Every port of the segment's bridge gets a `clsact` whose ingress is one
//! shared block per segment; the block's one filter (`u32` matching
//! everything) mirrors to the host end. A port added later (a container
//! made anew) only needs its `clsact` on the block.
//!
//! Looking costs two processes whatever the number of teams: `ip -j -d
//! link show` (taps, bridge ports), and one `tc -j -batch` (every qdisc,
//! every mirror action and where it sends, each tap's ingress filter).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsRawFd;

use enshu_backend::sensor::{Fix, ObservedPort, ObservedSensors, ObservedTap};
use enshu_scenario::plan::BRIDGE_PREFIX;
use enshu_scenario::sensor::{ALIAS_PREFIX, HOST_END_PREFIX, session_alias_prefix};
use serde_json::Value;

use super::cgroup_names_container;

/// `PATH` for the host's iproute2.
const HOST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The drop: classic BPF `ret #2` (`TC_ACT_SHOT`) in direct-action mode.
const DROP_FILTER: &str = "pref 1 handle 1 protocol all bpf da bytecode \"1,6 0 0 2,\"";

#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: &'static str,
        source: std::io::Error,
    },
    #[error("`{program}` failed: {message}")]
    Command { program: String, message: String },
    #[error("cannot read what {program} printed: {message}")]
    Parse {
        program: &'static str,
        message: String,
    },
    #[error("process {pid} is not container {id} on this host (is the engine on another machine?)")]
    NotTheContainer { pid: i64, id: String },
    #[error("cannot open the network namespace of process {pid}: {source}")]
    Namespace { pid: i64, source: std::io::Error },
    #[error("writing {path}: {source}")]
    Sysctl {
        path: String,
        source: std::io::Error,
    },
}

/// Run a host program with `input` on its stdin (a batch), optionally in
/// the network namespace of `pid` (through `nsenter`): its stdout, or its
/// stderr as the error.
async fn run(
    program: &'static str,
    arguments: &[&str],
    input: &str,
    namespace_of: Option<i64>,
) -> Result<String, SensorError> {
    use tokio::io::AsyncWriteExt as _;
    let mut command = match namespace_of {
        Some(pid) => {
            let mut command = tokio::process::Command::new("nsenter");
            command
                .args(["--target", &pid.to_string(), "--net", "--", program])
                .args(arguments);
            command
        }
        None => {
            let mut command = tokio::process::Command::new(program);
            command.args(arguments);
            command
        }
    };
    let mut child = command
        .env_clear()
        .env("PATH", HOST_PATH)
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| SensorError::Spawn { program, source })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .await
            .map_err(|source| SensorError::Spawn { program, source })?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|source| SensorError::Spawn { program, source })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(SensorError::Command {
            program: format!("{program} {}", arguments.join(" ")),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// One `ip -j -d link show`, parsed.
async fn links() -> Result<Vec<Value>, SensorError> {
    let listing = run("ip", &["-j", "-d", "link", "show"], "", None).await?;
    serde_json::from_str(&listing).map_err(|error| SensorError::Parse {
        program: "ip",
        message: error.to_string(),
    })
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn has_flag(link: &Value, flag: &str) -> bool {
    link.get("flags")
        .and_then(Value::as_array)
        .is_some_and(|flags| flags.iter().any(|found| found.as_str() == Some(flag)))
}

/// A tap's host end (pure): a veth named `eshc…`.
fn is_host_end(link: &Value) -> bool {
    text(link, "ifname").starts_with(HOST_END_PREFIX)
        && link
            .get("linkinfo")
            .and_then(|info| info.get("info_kind"))
            .and_then(Value::as_str)
            == Some("veth")
}

/// What `tc -j -batch` printed: one JSON array per command, in order.
fn batch_outputs(listing: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(listing)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .collect()
}

/// The commands of the observing `tc` batch for these host ends.
fn observe_batch(host_ends: &[&str]) -> String {
    let mut batch = String::from("qdisc show\nactions list action mirred\n");
    for host_end in host_ends {
        batch.push_str(&format!("filter show dev {host_end} ingress\n"));
    }
    batch
}

/// The machine's sensors from the link listing, the batch's outputs and
/// each host end's IPv6 switch (pure).
pub fn parse_observed(
    links: &[Value],
    outputs: &[Value],
    ipv6_disabled: &dyn Fn(&str) -> bool,
) -> ObservedSensors {
    let qdiscs = outputs
        .first()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut clsact: BTreeMap<&str, Option<u32>> = BTreeMap::new();
    for qdisc in &qdiscs {
        if text(qdisc, "kind") == "clsact" {
            let block = qdisc
                .get("ingress_block")
                .and_then(Value::as_u64)
                .and_then(|block| u32::try_from(block).ok());
            clsact.insert(text(qdisc, "dev"), block);
        }
    }
    // Where bound mirror actions send to.
    let mut mirrored_to: Vec<String> = Vec::new();
    for entry in outputs
        .get(1)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for action in entry
            .get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let bound = action.get("bind").and_then(Value::as_u64).unwrap_or(0) > 0;
            if text(action, "kind") == "mirred" && bound {
                mirrored_to.push(text(action, "to_dev").to_string());
            }
        }
    }
    let host_ends: Vec<&Value> = links.iter().filter(|link| is_host_end(link)).collect();
    // Each host end's ingress filter listing follows, in order; a batch
    // cut short leaves the rest unknown, which reads as not sealed.
    let mut observed = ObservedSensors::default();
    for (index, link) in host_ends.iter().enumerate() {
        let name = text(link, "ifname");
        let drops = outputs
            .get(2 + index)
            .and_then(Value::as_array)
            .is_some_and(|filters| {
                filters.iter().any(|filter| {
                    let options = filter.get("options");
                    text(filter, "kind") == "bpf"
                        && options
                            .and_then(|options| options.get("direct-action"))
                            .and_then(Value::as_bool)
                            == Some(true)
                        && options
                            .and_then(|options| options.get("bytecode"))
                            .and_then(|bytecode| bytecode.get("insns"))
                            .and_then(Value::as_array)
                            .is_some_and(|insns| {
                                insns.len() == 1
                                    && insns[0].get("code").and_then(Value::as_u64) == Some(6)
                                    && insns[0].get("k").and_then(Value::as_u64) == Some(2)
                            })
                })
            });
        let sealed = has_flag(link, "UP")
            && has_flag(link, "NOARP")
            && text(link, "master").is_empty()
            && clsact.contains_key(name)
            && drops
            && ipv6_disabled(name);
        observed.taps.insert(
            name.to_string(),
            ObservedTap {
                alias: text(link, "ifalias").to_string(),
                sealed,
                mirrored: mirrored_to.iter().any(|target| target == name),
            },
        );
    }
    for link in links {
        let master = text(link, "master");
        let name = text(link, "ifname");
        if master.starts_with(BRIDGE_PREFIX) && !name.is_empty() {
            observed
                .bridges
                .entry(master.to_string())
                .or_default()
                .push(ObservedPort {
                    name: name.to_string(),
                    clsact: clsact.contains_key(name),
                    ingress_block: clsact.get(name).copied().flatten(),
                });
        }
    }
    observed
}

fn ipv6_disabled(name: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6")) {
        Ok(value) => value.trim() == "1",
        // No IPv6 on this host at all.
        Err(error) => {
            error.kind() == std::io::ErrorKind::NotFound
                && !std::path::Path::new("/proc/sys/net/ipv6").exists()
        }
    }
}

/// One look at every tap and range bridge port of this machine.
pub async fn observe() -> Result<ObservedSensors, SensorError> {
    let links = links().await?;
    let host_ends: Vec<&str> = links
        .iter()
        .filter(|link| is_host_end(link))
        .map(|link| text(link, "ifname"))
        .collect();
    // `-force`: a tap removed between the two looks ends only its own
    // listing; what follows it is then unknown (not sealed), never wrong.
    let listing = run(
        "tc",
        &["-j", "-force", "-batch", "-"],
        &observe_batch(&host_ends),
        None,
    )
    .await
    .or_else(|error| match &error {
        SensorError::Command { .. } => Ok(String::new()),
        _ => Err(error),
    })?;
    let outputs = batch_outputs(&listing);
    if outputs.len() < 2 {
        return Err(SensorError::Parse {
            program: "tc",
            message: format!("expected the qdiscs and the mirror actions, got {listing:?}"),
        });
    }
    Ok(parse_observed(&links, &outputs, &ipv6_disabled))
}

/// The batches that apply `fixes` (pure): the workstation's `ip` and `tc`
/// before and after, the host's `ip` to create and then to seal, and the
/// host's `tc`. `namespace` is the path of the workstation's namespace.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FixBatches {
    /// In the workstation, first: stale interfaces of a tap's name.
    pub inside_before: String,
    /// On the host: the pairs.
    pub create: String,
    /// Host ends whose IPv6 and IPv4 forwarding are switched off.
    pub sysctls: Vec<String>,
    /// On the host: aliases, no ARP, up.
    pub host_links: String,
    /// On the host: the drops, the ports' blocks, the mirrors.
    pub tc: String,
    /// In the workstation, last: the new interfaces (their IPv6 off), up,
    /// their ingress dropped after capture.
    pub inside_interfaces: Vec<String>,
    pub inside_links: String,
    pub inside_tc: String,
}

pub fn fix_batches(fixes: &[Fix], namespace: &str) -> FixBatches {
    let mut batches = FixBatches::default();
    let mut seal = Vec::new();
    // Feeds before mirrors: a block exists only while a port uses it.
    let mut feeds = String::new();
    let mut mirrors = String::new();
    for fix in fixes {
        let tap = fix.tap();
        match fix {
            Fix::Create { tap } => {
                batches
                    .inside_before
                    .push_str(&format!("link del dev {}\n", tap.interface));
                batches.create.push_str(&format!(
                    "link add {} arp off type veth peer name {} arp off netns {namespace}\n",
                    tap.host_end, tap.interface
                ));
                batches.inside_interfaces.push(tap.interface.clone());
                batches.inside_links.push_str(&format!(
                    "link set dev {} addrgenmode none\nlink set dev {} up\n",
                    tap.interface, tap.interface
                ));
                batches.inside_tc.push_str(&format!(
                    "qdisc replace dev {} clsact\nfilter replace dev {} ingress {DROP_FILTER}\n",
                    tap.interface, tap.interface
                ));
                seal.push(tap);
            }
            Fix::Seal { tap } => seal.push(tap),
            Fix::Feed { ports, .. } => {
                for (port, has_clsact) in ports {
                    if *has_clsact {
                        feeds.push_str(&format!("qdisc del dev {port} clsact\n"));
                    }
                    feeds.push_str(&format!(
                        "qdisc add dev {port} ingress_block {} clsact\n",
                        tap.block
                    ));
                }
            }
            Fix::Mirror { .. } => mirrors.push_str(&format!(
                "filter replace block {} pref 1 protocol all handle 800::800 u32 match u32 0 0 \
                 action mirred egress mirror dev {}\n",
                tap.block, tap.host_end
            )),
        }
    }
    for tap in seal {
        batches.sysctls.push(tap.host_end.clone());
        batches.host_links.push_str(&format!(
            "link set dev {} alias \"{}\"\nlink set dev {} arp off\nlink set dev {} up\n",
            tap.host_end, tap.alias, tap.host_end, tap.host_end
        ));
        batches.tc.push_str(&format!(
            "qdisc replace dev {} clsact\nfilter replace dev {} ingress {DROP_FILTER}\n",
            tap.host_end, tap.host_end
        ));
    }
    batches.tc.push_str(&feeds);
    batches.tc.push_str(&mirrors);
    batches
}

fn write_sysctl(path: String) -> Result<(), SensorError> {
    match std::fs::write(&path, "1\n") {
        Ok(()) => Ok(()),
        // A host without IPv6: nothing to switch off.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && path.contains("/ipv6/") => {
            Ok(())
        }
        Err(source) => Err(SensorError::Sysctl { path, source }),
    }
}

/// Apply `fixes` to the sensor whose workstation is container `id` with
/// init process `pid`.
pub async fn apply(id: &str, pid: i64, fixes: &[Fix]) -> Result<(), SensorError> {
    // Opened first, then checked: the descriptor holds that namespace
    // whatever becomes of the PID.
    let namespace = File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|source| SensorError::Namespace { pid, source })?;
    let listing = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|source| SensorError::Namespace { pid, source })?;
    if !cgroup_names_container(&listing, id) {
        return Err(SensorError::NotTheContainer {
            pid,
            id: id.to_string(),
        });
    }
    let path = format!("/proc/{}/fd/{}", std::process::id(), namespace.as_raw_fd());
    let batches = fix_batches(fixes, &path);
    if !batches.inside_before.is_empty() {
        // Most of these find nothing to delete.
        let _ = run(
            "ip",
            &["-force", "-batch", "-"],
            &batches.inside_before,
            Some(pid),
        )
        .await;
    }
    if !batches.create.is_empty() {
        run("ip", &["-batch", "-"], &batches.create, None).await?;
    }
    for host_end in &batches.sysctls {
        write_sysctl(format!("/proc/sys/net/ipv6/conf/{host_end}/disable_ipv6"))?;
        std::fs::write(
            format!("/proc/sys/net/ipv4/conf/{host_end}/forwarding"),
            "0\n",
        )
        .map_err(|source| SensorError::Sysctl {
            path: format!("net.ipv4.conf.{host_end}.forwarding"),
            source,
        })?;
    }
    // Sealed before it is up.
    if !batches.tc.is_empty() {
        run("tc", &["-batch", "-"], &batches.tc, None).await?;
    }
    if !batches.host_links.is_empty() {
        run("ip", &["-batch", "-"], &batches.host_links, None).await?;
    }
    if !batches.inside_links.is_empty() {
        // IPv6 off before the link is up (no address, no solicitation).
        for interface in &batches.inside_interfaces {
            let sysctl = format!("net.ipv6.conf.{interface}.disable_ipv6=1");
            let _ = run("sysctl", &["-q", "-w", &sysctl], "", Some(pid)).await;
        }
        run("tc", &["-batch", "-"], &batches.inside_tc, Some(pid)).await?;
        run("ip", &["-batch", "-"], &batches.inside_links, Some(pid)).await?;
    }
    drop(namespace);
    Ok(())
}

/// Remove every tap of `session` left on this machine; how many.
pub async fn remove_session(session: &str) -> Result<usize, SensorError> {
    let prefix = session_alias_prefix(session);
    let doomed: Vec<String> = links()
        .await?
        .iter()
        .filter(|link| is_host_end(link) && text(link, "ifalias").starts_with(&prefix))
        .map(|link| text(link, "ifname").to_string())
        .collect();
    if doomed.is_empty() {
        return Ok(0);
    }
    let batch: String = doomed
        .iter()
        .map(|name| format!("link del dev {name}\n"))
        .collect();
    // `-force`: one that vanished meanwhile (its workstation's namespace
    // went) does not stop the others.
    let _ = run("ip", &["-force", "-batch", "-"], &batch, None).await;
    let left = links()
        .await?
        .iter()
        .filter(|link| is_host_end(link) && text(link, "ifalias").starts_with(&prefix))
        .count();
    if left > 0 {
        return Err(SensorError::Command {
            program: "ip link del".into(),
            message: format!("{left} of {}'s taps are still there", session),
        });
    }
    debug_assert!(ALIAS_PREFIX.len() < prefix.len());
    Ok(doomed.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use enshu_backend::sensor::SensorTap;

    fn tap() -> SensorTap {
        SensorTap {
            segment: "office".into(),
            bridge: "esh0123456789a".into(),
            interface: "cap-office".into(),
            host_end: "eshc0123456789a".into(),
            block: 4242,
            alias: "enshu-sensor s1 t01 office".into(),
        }
    }

    /// Trimmed from what iproute2 6.1 prints on a machine with one sealed
    /// tap, one port on the block and one new port.
    #[test]
    fn the_listings_say_which_taps_are_sealed_and_mirrored_and_which_ports_feed() {
        let links: Vec<Value> = serde_json::from_str(
            r#"[
            {"ifname":"eshc0123456789a","flags":["BROADCAST","MULTICAST","NOARP","UP","LOWER_UP"],"linkinfo":{"info_kind":"veth"},"ifalias":"enshu-sensor s1 t01 office"},
            {"ifname":"esh0123456789a","flags":["UP"],"linkinfo":{"info_kind":"bridge"}},
            {"ifname":"veth1","master":"esh0123456789a","flags":["UP"],"linkinfo":{"info_kind":"veth"}},
            {"ifname":"veth2","master":"esh0123456789a","flags":["UP"],"linkinfo":{"info_kind":"veth"}},
            {"ifname":"veth9","master":"docker0","flags":["UP"],"linkinfo":{"info_kind":"veth"}}
        ]"#,
        )
        .unwrap();
        let outputs = batch_outputs(
            r#"[{"kind":"clsact","handle":"ffff:","dev":"veth1","parent":"ffff:fff1","ingress_block":4242,"options":{}},{"kind":"clsact","handle":"ffff:","dev":"eshc0123456789a","parent":"ffff:fff1","options":{}}]
[{"total acts":1},{"actions":[{"order":0,"kind":"mirred","mirred_action":"mirror","direction":"egress","to_dev":"eshc0123456789a","index":1,"ref":1,"bind":1}]}]
[{"protocol":"all","pref":1,"kind":"bpf","chain":0},{"protocol":"all","pref":1,"kind":"bpf","chain":0,"options":{"handle":"0x1","direct-action":true,"bytecode":{"length":1,"insns":[{"code":6,"jt":0,"jf":0,"k":2}]}}}]
"#,
        );
        let observed = parse_observed(&links, &outputs, &|_| true);
        let found = &observed.taps["eshc0123456789a"];
        assert!(found.sealed && found.mirrored, "{found:?}");
        assert_eq!(found.alias, "enshu-sensor s1 t01 office");
        assert_eq!(
            observed.bridges["esh0123456789a"],
            [
                ObservedPort {
                    name: "veth1".into(),
                    clsact: true,
                    ingress_block: Some(4242)
                },
                ObservedPort {
                    name: "veth2".into(),
                    clsact: false,
                    ingress_block: None
                },
            ]
        );
        assert!(!observed.bridges.contains_key("docker0"));

        // IPv6 on, or the listing of its filter cut short: not sealed.
        assert!(!parse_observed(&links, &outputs, &|_| false).taps["eshc0123456789a"].sealed);
        assert!(!parse_observed(&links, &outputs[..2], &|_| true).taps["eshc0123456789a"].sealed);
        // A mirror whose device went (`*`) mirrors into nothing.
        let stale = batch_outputs(
            r#"[]
[{"total acts":1},{"actions":[{"kind":"mirred","to_dev":"*","bind":1}]}]
"#,
        );
        assert!(!parse_observed(&links, &stale, &|_| true).taps["eshc0123456789a"].mirrored);
    }

    #[test]
    fn a_new_tap_is_created_sealed_before_it_is_up_and_fed_before_mirrored() {
        let tap = tap();
        let fixes = [
            Fix::Create { tap: tap.clone() },
            Fix::Feed {
                tap: tap.clone(),
                ports: vec![("veth1".into(), false), ("veth2".into(), true)],
            },
            Fix::Mirror { tap: tap.clone() },
        ];
        let batches = fix_batches(&fixes, "/proc/7/fd/9");
        assert_eq!(
            batches.create,
            "link add eshc0123456789a arp off type veth peer name cap-office arp off netns /proc/7/fd/9\n"
        );
        assert_eq!(batches.sysctls, ["eshc0123456789a"]);
        assert_eq!(
            batches.tc,
            "qdisc replace dev eshc0123456789a clsact\n\
             filter replace dev eshc0123456789a ingress pref 1 handle 1 protocol all bpf da bytecode \"1,6 0 0 2,\"\n\
             qdisc add dev veth1 ingress_block 4242 clsact\n\
             qdisc del dev veth2 clsact\n\
             qdisc add dev veth2 ingress_block 4242 clsact\n\
             filter replace block 4242 pref 1 protocol all handle 800::800 u32 match u32 0 0 action mirred egress mirror dev eshc0123456789a\n"
        );
        assert_eq!(
            batches.host_links,
            "link set dev eshc0123456789a alias \"enshu-sensor s1 t01 office\"\n\
             link set dev eshc0123456789a arp off\n\
             link set dev eshc0123456789a up\n"
        );
        assert_eq!(
            batches.inside_links,
            "link set dev cap-office addrgenmode none\nlink set dev cap-office up\n"
        );
        assert!(
            batches
                .inside_tc
                .contains("filter replace dev cap-office ingress")
        );

        // Only new ports: nothing is created or sealed.
        let batches = fix_batches(&fixes[1..2], "/proc/7/fd/9");
        assert!(batches.create.is_empty() && batches.host_links.is_empty());
        assert!(
            batches
                .tc
                .starts_with("qdisc add dev veth1 ingress_block 4242 clsact\n")
        );
    }
}
