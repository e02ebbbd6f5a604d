//! The network sensor in a real range, as the team uses it: `sudo tcpdump
//! -i cap-office` on the analyst workstation shows every frame of the
//! office once (connections between two other hosts, a capture replayed
//! into the segment), nothing of another team; what root there sends into
//! `cap-*` reaches no container and not the host; `up` mirrors a container
//! made anew; `down` leaves no tap and no filter on the machine.
//!
//! Needs Docker, root (the host guard, tc) and the range images (`make
//! images`); without them it fails, it never skips.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{Session, docker, enshu, fixture, in_container};

const ANALYST: &str = "10.64.10.10";
const PC01: &str = "10.64.10.101";
const PC02: &str = "10.64.10.102";
const CONNECTIONS: usize = 7;
/// How long each capture runs.
const CAPTURE_SECONDS: u64 = 8;

/// Host links as `ip -j -d link show` lists them.
fn host_links() -> Vec<serde_json::Value> {
    let output = Command::new("ip")
        .args(["-j", "-d", "link", "show"])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The host end of `session`'s tap for `team`'s `segment`.
fn host_end(session: &str, team: &str, segment: &str) -> String {
    let alias = format!("enshu-sensor {session} {team} {segment}");
    host_links()
        .iter()
        .find(|link| link["ifalias"] == alias.as_str())
        .and_then(|link| link["ifname"].as_str())
        .unwrap_or_else(|| panic!("no tap {alias:?} on the host"))
        .to_string()
}

fn host(program: &str, arguments: &[&str]) -> String {
    let output = Command::new(program).args(arguments).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Start a capture as the trainee would (`analyst`, `sudo`, the team's
/// password) into `/tmp/<name>.pcap`; it ends by itself.
fn capture_as_analyst(container: &str, password: &str, interface: &str, name: &str) {
    let status = Command::new("docker")
        .args(["exec", "-d", "-u", "analyst", "-e"])
        .arg(format!("PW={password}"))
        .args([container, "bash", "-c"])
        .arg(format!(
            "echo \"$PW\" | sudo -S -p '' timeout {CAPTURE_SECONDS} tcpdump -U -nn -i {interface} -w /tmp/{name}.pcap"
        ))
        .status()
        .unwrap();
    assert!(status.success());
}

/// Frames of a finished capture that match `filter`.
fn count(container: &str, name: &str, filter: &str) -> usize {
    in_container(
        container,
        &format!("tcpdump -nn -r /tmp/{name}.pcap '{filter}' 2>/dev/null | wc -l"),
    )
    .parse()
    .unwrap()
}

/// `count` connections from `client` to `server`:8000, each closed at once.
fn connect_many(client: &str, server: &str, server_address: &str, count: usize) {
    docker(&[
        "exec",
        "-d",
        server,
        "python3",
        "-c",
        &format!(
            "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.bind(('0.0.0.0', 8000)); s.listen(64); s.settimeout(15)\n\
             for _ in range({count}):\n    c, _ = s.accept(); c.recv(16); c.close()\n"
        ),
    ]);
    std::thread::sleep(Duration::from_millis(800));
    let script = format!(
        "import socket, time\nfor _ in range({count}):\n    c = socket.create_connection(('{server_address}', 8000), timeout=5); c.sendall(b'x'); time.sleep(0.05); c.close(); time.sleep(0.05)\n"
    );
    let output = Command::new("docker")
        .args(["exec", client, "python3", "-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{client} → {server_address}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn wait_capture() {
    std::thread::sleep(Duration::from_secs(CAPTURE_SECONDS + 1));
}

/// The `dropped` count of the host end's clsact.
fn dropped_on(host_end: &str) -> u64 {
    let listing = host("tc", &["-s", "qdisc", "show", "dev", host_end]);
    let after_clsact = listing.split("qdisc clsact").nth(1).unwrap_or_default();
    after_clsact
        .split("(dropped ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no clsact drop count on {host_end}: {listing}"))
}

/// Whether every port of `bridge` feeds the tc block of the tap.
fn every_port_feeds_a_block(bridge: &str) -> (usize, usize) {
    let ports: Vec<String> = host_links()
        .iter()
        .filter(|link| link["master"] == bridge)
        .filter_map(|link| link["ifname"].as_str().map(str::to_string))
        .collect();
    let qdiscs: Vec<serde_json::Value> =
        serde_json::from_str(&host("tc", &["-j", "qdisc", "show"])).unwrap();
    let feeding = ports
        .iter()
        .filter(|port| {
            qdiscs.iter().any(|qdisc| {
                qdisc["dev"] == port.as_str()
                    && qdisc["kind"] == "clsact"
                    && qdisc["ingress_block"].is_u64()
            })
        })
        .count();
    (feeding, ports.len())
}

#[test]
fn the_analyst_sees_each_frame_of_its_segments_once_and_sends_nothing_anywhere() {
    let replay_binary =
        std::path::Path::new(env!("CARGO_BIN_EXE_enshu")).with_file_name("enshu-replay");
    assert!(
        replay_binary.is_file(),
        "{} is missing: `make test` builds it (cargo build -p enshu-replay)",
        replay_binary.display()
    );
    let session = Session::new("sn");
    let name = session.0.as_str();
    let up = enshu(&["up", &fixture("sensor"), "--teams", "2", "--session", name]);
    assert!(up.status.success(), "enshu up failed");
    let credentials = enshu(&["credentials", "--session", name, "--output", "json"]);
    assert!(credentials.status.success());
    let credentials: serde_json::Value = serde_json::from_slice(&credentials.stdout).unwrap();
    let password = credentials["teams"][0]["password"]
        .as_str()
        .unwrap()
        .to_string();
    let analyst = session.container("analyst");
    let (pc01, pc02) = (session.container("pc01"), session.container("pc02"));
    let team_two = |host: &str| format!("enshu-{name}-t02-{host}");

    // The analyst has one capture interface per segment of its range.
    let links = in_container(
        &analyst,
        "ip -br link | awk '{print $1}' | cut -d@ -f1 | sort",
    );
    assert_eq!(links, "cap-dmz\ncap-office\neth0\nlo", "{links}");

    // N connections between two other hosts of the office, and as many in
    // team 2's office at the same time.
    capture_as_analyst(&analyst, &password, "cap-office", "office");
    capture_as_analyst(&analyst, &password, "cap-dmz", "dmz");
    std::thread::sleep(Duration::from_millis(1500));
    connect_many(&pc01, &pc02, PC02, CONNECTIONS);
    connect_many(
        &team_two("pc01"),
        &team_two("pc02"),
        "10.65.10.102",
        CONNECTIONS,
    );
    wait_capture();
    let syn = format!("src host {PC01} and dst host {PC02} and tcp dst port 8000 and tcp[13] == 2");
    let syn_ack =
        format!("src host {PC02} and dst host {PC01} and tcp src port 8000 and tcp[13] == 18");
    assert_eq!(
        count(&analyst, "office", &syn),
        CONNECTIONS,
        "one SYN per connection"
    );
    assert_eq!(count(&analyst, "office", &syn_ack), CONNECTIONS);
    assert!(count(&analyst, "office", &format!("host {PC01} and host {PC02}")) >= CONNECTIONS * 8);
    assert_eq!(
        count(&analyst, "office", "net 10.65.0.0/16"),
        0,
        "team 2 on team 1's sensor"
    );
    assert_eq!(
        count(&analyst, "dmz", "tcp port 8000"),
        0,
        "the office on the DMZ's interface"
    );

    // A capture replayed into the office from pc01: every frame it sends to
    // the analyst crosses the bridge once, so the sensor has exactly the
    // frames the analyst's own eth0 received from it.
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", &pc01])
        .trim()
        .to_string();
    let capture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/pcaps/synscan.pcapng"
    );
    let replay = |pps: &str| {
        let output = Command::new("nsenter")
            .args(["--target", &pid, "--net", "--"])
            .arg(&replay_binary)
            .args(["--interface", "eth0", "--capture", capture])
            .args(["--map", &format!("172.16.0.8={PC01}")])
            .args(["--map", &format!("64.13.134.52={ANALYST}")])
            .args([
                "--allow",
                "10.64.10.0/24",
                "--skip-refused",
                "--output",
                "json",
            ])
            .args(["--pps", pps])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report
    };
    capture_as_analyst(&analyst, &password, "cap-office", "replay");
    docker(&[
        "exec",
        "-d",
        &analyst,
        "timeout",
        &CAPTURE_SECONDS.to_string(),
        "tcpdump",
        "-U",
        "-nn",
        "-i",
        "eth0",
        "-w",
        "/tmp/replay-eth0.pcap",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    let report = replay("2000");
    wait_capture();
    let sent = report["sent"].as_u64().unwrap() as usize;
    assert_eq!(sent, 2011, "{report}");
    let towards_analyst = format!("src host {PC01} and dst host {ANALYST}");
    let mirrored = count(&analyst, "replay", &towards_analyst);
    let delivered = count(&analyst, "replay-eth0", &towards_analyst);
    eprintln!(
        "replay: {sent} sent, {mirrored} mirrored to the analyst, {delivered} delivered to its eth0"
    );
    assert!(mirrored > 1000, "{mirrored}");
    assert_eq!(mirrored, delivered);

    // Root on the workstation sends into cap-office: an ARP request for
    // pc02 and for the host's own address, IPv4 to pc02, IPv6 to all nodes.
    // Nothing reaches the office's bridge (every container of the segment)
    // or the host, and no one answers.
    let tap = host_end(name, "t01", "office");
    let bridge = format!("esh{}", &tap[4..]);
    let host_address = host("ip", &["-4", "-o", "route", "get", "1.1.1.1"])
        .split(" src ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("10.0.0.1")
        .to_string();
    let dropped_before = dropped_on(&tap);
    let mut bridge_watch = Command::new("timeout")
        .args([
            &CAPTURE_SECONDS.to_string(),
            "tcpdump",
            "-U",
            "-nn",
            "-i",
            &bridge,
            "-w",
        ])
        .arg(format!("/tmp/enshu-sensor-{name}-bridge.pcap"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    capture_as_analyst(&analyst, &password, "cap-office", "inject");
    std::thread::sleep(Duration::from_millis(1500));
    let inject = format!(
        r#"
import socket, struct, ipaddress
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("cap-office", 0))
me = s.getsockname()[4]
bcast = b"\xff" * 6
def arp(target):
    return bcast + me + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + me + bytes(4) + bytes(6) + ipaddress.IPv4Address(target).packed
def ipv4(target):
    payload = b"enshu-sensor-marker"
    udp = struct.pack("!HHHH", 4444, 4444, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ipaddress.IPv4Address("{ANALYST}").packed, ipaddress.IPv4Address(target).packed)
    return bcast + me + b"\x08\x00" + header + udp
def ipv6():
    payload = b"enshu-sensor-marker"
    udp = struct.pack("!HHHH", 4444, 4444, 8 + len(payload), 0) + payload
    header = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, ipaddress.IPv6Address("fe80::1").packed, ipaddress.IPv6Address("ff02::1").packed)
    return b"\x33\x33\x00\x00\x00\x01" + me + b"\x86\xdd" + header + udp
frames = [arp("{PC02}"), arp("{host_address}"), ipv4("{PC02}"), ipv4("{host_address}"), ipv6()]
for frame in frames * 4:
    s.send(frame)
print(len(frames) * 4, me.hex())
"#
    );
    let injected = in_container(&analyst, &format!("python3 -c '{inject}'"));
    let (sent_frames, mac) = injected.split_once(' ').expect("the frames were sent");
    let sent_frames: u64 = sent_frames.parse().unwrap();
    assert_eq!(sent_frames, 20);
    let _ = bridge_watch.wait();
    wait_capture();
    let mac = mac
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let on_bridge = host(
        "tcpdump",
        &[
            "-nn",
            "-r",
            &format!("/tmp/enshu-sensor-{name}-bridge.pcap"),
            &format!("ether src {mac}"),
        ],
    );
    let _ = std::fs::remove_file(format!("/tmp/enshu-sensor-{name}-bridge.pcap"));
    assert_eq!(
        on_bridge, "",
        "frames sent into cap-office reached the office"
    );
    assert!(
        dropped_on(&tap) >= dropped_before + sent_frames,
        "the host end dropped {} of {sent_frames}",
        dropped_on(&tap) - dropped_before
    );
    assert_eq!(
        count(&analyst, "inject", "arp[6:2] == 2"),
        0,
        "someone answered ARP on cap-office"
    );
    assert_eq!(
        count(&analyst, "inject", &format!("not ether src {mac}")),
        0,
        "an answer came back"
    );

    // A mirrored container is removed and `up` makes it anew: its new port
    // is mirrored again.
    let (feeding, ports) = every_port_feeds_a_block(&bridge);
    assert_eq!(
        (feeding, ports),
        (4, 4),
        "analyst, pc01, pc02 and the router"
    );
    docker(&["rm", "-f", &pc02]);
    let again = enshu(&["up", &fixture("sensor"), "--teams", "2", "--session", name]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("configure_sensor 1×"));
    assert_eq!(every_port_feeds_a_block(&bridge), (4, 4));
    capture_as_analyst(&analyst, &password, "cap-office", "again");
    std::thread::sleep(Duration::from_millis(1500));
    connect_many(&pc01, &pc02, PC02, 3);
    wait_capture();
    assert_eq!(count(&analyst, "again", &syn), 3);
    assert_eq!(
        count(&analyst, "again", &syn_ack),
        3,
        "the new pc02 is mirrored"
    );

    // Gone with the session: no tap, no mirror, no block on the machine.
    assert!(enshu(&["down", "--session", name]).status.success());
    let left: Vec<String> = host_links()
        .iter()
        .filter(|link| {
            link["ifname"]
                .as_str()
                .is_some_and(|name| name.starts_with("eshc"))
                && link["ifalias"]
                    .as_str()
                    .is_some_and(|alias| alias.contains(&format!(" {name} ")))
        })
        .map(|link| link.to_string())
        .collect();
    assert_eq!(left, Vec::<String>::new());
    assert!(
        !host_links()
            .iter()
            .any(|link| link["ifname"] == tap.as_str())
    );
    assert!(
        !host_links()
            .iter()
            .any(|link| link["ifname"] == bridge.as_str())
    );
    let mirrors = host("tc", &["-j", "actions", "list", "action", "mirred"]);
    assert!(!mirrors.contains(&tap), "{mirrors}");
}
