//! Helpers for the namespace tests: a veth pair between two fresh network
//! namespaces, a tcpdump on the far side, and an address parser written
//! apart from the library so that a bug there cannot hide itself here.
//!
//! These tests need root. They fail, never skip, when namespaces cannot be
//! made: a silently skipped safety test is worse than a red one.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const SENDER_INTERFACE: &str = "veth-send";
pub const RECEIVER_INTERFACE: &str = "veth-recv";
/// Everything the tests send lies in here; the veth ends get the last /30.
pub const ALLOWED: &str = "10.250.0.0/16";

pub fn replay_binary() -> &'static str {
    env!("CARGO_BIN_EXE_enshu-replay")
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pcaps")
        .join(name)
}

/// Every capture in tests/fixtures/pcaps/.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_path(""))
        .expect("listing tests/fixtures/pcaps")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".pcap") || name.ends_with(".pcapng"))
        .collect();
    names.sort();
    names
}

pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("running {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Two namespaces joined by a veth pair; both are deleted on drop, which
/// also removes the pair.
pub struct VethPair {
    pub sender_namespace: String,
    pub receiver_namespace: String,
    pub receiver_mac: String,
    pub sender_mac: String,
    pub scratch: PathBuf,
}

impl VethPair {
    /// Creates the pair or panics with the reason (the test then fails).
    pub fn create(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = format!("esr{}-{number}-{tag}", std::process::id());
        let pair = VethPair {
            sender_namespace: format!("{base}-s"),
            receiver_namespace: format!("{base}-r"),
            receiver_mac: String::new(),
            sender_mac: String::new(),
            scratch: std::env::temp_dir().join(&base),
        };
        let mut pair = pair;
        std::fs::create_dir_all(&pair.scratch).unwrap();
        for namespace in [&pair.sender_namespace, &pair.receiver_namespace] {
            let output = Command::new("ip")
                .args(["netns", "add", namespace])
                .output()
                .expect("running ip (iproute2 is required)");
            assert!(
                output.status.success(),
                "cannot create network namespace {namespace} (these tests need root and CAP_SYS_ADMIN): {}",
                String::from_utf8_lossy(&output.stderr)
            );
            // No IPv6: the kernel would send neighbour discovery of its own.
            run(Command::new("ip").args([
                "netns",
                "exec",
                namespace,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ]));
        }
        run(Command::new("ip").args([
            "-n",
            &pair.sender_namespace,
            "link",
            "add",
            SENDER_INTERFACE,
            "mtu",
            "9000",
            "type",
            "veth",
            "peer",
            "name",
            RECEIVER_INTERFACE,
            "mtu",
            "9000",
            "netns",
            &pair.receiver_namespace,
        ]));
        for (namespace, interface, address) in [
            (&pair.sender_namespace, SENDER_INTERFACE, "10.250.255.1/30"),
            (
                &pair.receiver_namespace,
                RECEIVER_INTERFACE,
                "10.250.255.2/30",
            ),
        ] {
            run(Command::new("ip")
                .args(["-n", namespace, "addr", "add", address, "dev", interface]));
            run(Command::new("ip").args(["-n", namespace, "link", "set", interface, "up"]));
        }
        pair.receiver_mac = mac_of(&pair.receiver_namespace, RECEIVER_INTERFACE);
        pair.sender_mac = mac_of(&pair.sender_namespace, SENDER_INTERFACE);
        pair
    }

    /// Runs enshu-replay in the sender namespace.
    pub fn replay(&self, arguments: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.sender_namespace, replay_binary()])
            .args(["--interface", SENDER_INTERFACE])
            .args(arguments)
            .output()
            .expect("running enshu-replay")
    }

    /// Frames the receiving veth has counted so far, independent of tcpdump.
    pub fn receiver_rx_packets(&self) -> u64 {
        let output = run(Command::new("ip").args([
            "-n",
            &self.receiver_namespace,
            "-s",
            "-j",
            "link",
            "show",
            RECEIVER_INTERFACE,
        ]));
        let links: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        links[0]["stats64"]["rx"]["packets"]
            .as_u64()
            .expect("ip -s -j reports rx packets")
    }

    /// Starts tcpdump on the receiving end (incoming frames only) and waits
    /// until it listens.
    pub fn start_capture(&self, name: &str) -> FarSideCapture {
        self.start_capture_with_snaplen(name, 9100)
    }

    /// As [`VethPair::start_capture`], keeping at most `snaplen` bytes of a
    /// frame. tcpdump's ring (64 MiB) has one slot per `snaplen`, so small
    /// frames sent at top speed need a small one to fit a burst of tens of
    /// thousands while another test loads the machine.
    pub fn start_capture_with_snaplen(&self, name: &str, snaplen: u32) -> FarSideCapture {
        ensure_tcpdump();
        let path = self.scratch.join(format!("{name}.pcap"));
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.receiver_namespace, "tcpdump"])
            .args([
                "-i",
                RECEIVER_INTERFACE,
                "-Q",
                "in",
                "-nn",
                "-U",
                "-s",
                &snaplen.to_string(),
            ])
            // A large ring of snaplen-sized slots (-s bounds the slot size):
            // on a busy host tcpdump may fall behind a burst.
            .args([
                "-B",
                "65536",
                "--immediate-mode",
                "--time-stamp-precision=nano",
                "-w",
            ])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting tcpdump");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let started = Instant::now();
        let mut line = String::new();
        loop {
            line.clear();
            let read = stderr.read_line(&mut line).unwrap();
            assert!(read > 0, "tcpdump exited before listening");
            if line.contains("listening on") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tcpdump never listened"
            );
        }
        FarSideCapture {
            child,
            stderr,
            path,
        }
    }
}

fn mac_of(namespace: &str, interface: &str) -> String {
    let link = run(Command::new("ip").args(["-n", namespace, "-o", "link", "show", interface]));
    let link = String::from_utf8_lossy(&link.stdout);
    link.split_whitespace()
        .skip_while(|word| *word != "link/ether")
        .nth(1)
        .unwrap_or_else(|| panic!("{interface} has no mac"))
        .to_owned()
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for namespace in [&self.sender_namespace, &self.receiver_namespace] {
            let _ = Command::new("ip")
                .args(["netns", "del", namespace])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// A running tcpdump; stopped (SIGINT) by [`FarSideCapture::finish`] or on
/// drop.
pub struct FarSideCapture {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
    path: PathBuf,
}

/// What the far side received.
pub struct Received {
    pub frames: Vec<Vec<u8>>,
    pub timestamps_ns: Vec<u64>,
    pub kernel_drops: u64,
}

impl FarSideCapture {
    pub fn finish(mut self) -> Received {
        // Let the last frames reach the capture file.
        std::thread::sleep(Duration::from_millis(300));
        stop(&mut self.child);
        let mut report = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut report).unwrap();
        let kernel_drops = report
            .lines()
            .find(|line| line.contains("dropped by kernel"))
            .and_then(|line| line.split_whitespace().next())
            .and_then(|count| count.parse().ok())
            .unwrap_or(0);
        let bytes = std::fs::read(&self.path).expect("reading the far side's capture");
        let packets = enshu_pcap::read_all_packets(&bytes).expect("far side capture parses");
        Received {
            timestamps_ns: packets.iter().map(|packet| packet.timestamp_ns).collect(),
            frames: packets
                .into_iter()
                .map(|packet| packet.data.into_owned())
                .collect(),
            kernel_drops,
        }
    }
}

impl Drop for FarSideCapture {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn stop(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        #[expect(
            unsafe_code,
            reason = "SIGINT (tcpdump's clean stop), which std cannot send"
        )]
        // SAFETY: signalling our own child by its id.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let _ = child.wait();
    }
}

pub fn ensure_tcpdump() {
    if Command::new("tcpdump").arg("--version").output().is_ok() {
        return;
    }
    run(Command::new("apt-get").args(["install", "-y", "tcpdump"]));
}

/// IPv4 addresses in an Ethernet frame's IPv4 header or IPv4 ARP packet,
/// walking VLAN tags; `None` for any other frame.
pub fn ipv4_addresses_in_frame(frame: &[u8]) -> Option<[Ipv4Addr; 2]> {
    let at = |offset: usize| -> Option<Ipv4Addr> {
        let bytes: [u8; 4] = frame.get(offset..offset + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(bytes))
    };
    let mut offset = 12;
    loop {
        let ethertype = u16::from_be_bytes([*frame.get(offset)?, *frame.get(offset + 1)?]);
        offset += 2;
        match ethertype {
            0x8100 | 0x88a8 | 0x9100 => offset += 2,
            0x0800 => return Some([at(offset + 12)?, at(offset + 16)?]),
            0x0806 => return Some([at(offset + 14)?, at(offset + 24)?]),
            _ => return None,
        }
    }
}

/// Writes a JSON map file sending each address to its own address in
/// `10.250.1.0`–`10.250.200.255` and returns the file and the team
/// addresses.
pub fn write_map_file(
    directory: &Path,
    name: &str,
    addresses: impl IntoIterator<Item = Ipv4Addr>,
    second_octet: u8,
) -> (PathBuf, BTreeSet<Ipv4Addr>) {
    let mut object = serde_json::Map::new();
    let mut mapped = BTreeSet::new();
    for (number, address) in addresses.into_iter().enumerate() {
        let team_address = Ipv4Addr::new(
            10,
            second_octet,
            1 + (number / 250) as u8,
            1 + (number % 250) as u8,
        );
        object.insert(address.to_string(), team_address.to_string().into());
        mapped.insert(team_address);
    }
    let path = directory.join(format!("{name}.map.json"));
    std::fs::write(&path, serde_json::Value::Object(object).to_string()).unwrap();
    (path, mapped)
}
