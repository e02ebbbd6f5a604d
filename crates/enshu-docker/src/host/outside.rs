//! Verify's "outside": a stand-in made of this machine's own kernel, so
//! that no probe ever leaves the machine.

use std::net::Ipv4Addr;

#[derive(Debug, thiserror::Error)]
pub enum OutsideError {
    #[error(transparent)]
    Spawn(#[from] std::io::Error),
    #[error("ip {arguments}: {message}")]
    Command { arguments: String, message: String },
}

/// A stand-in for "the outside": a network namespace of this machine
/// behind a veth pair, with an address from 198.18.0.0/15 (RFC 2544's
/// benchmarking block, never routed on the internet) that the host routes
/// to. Any way off a range's bridges (NAT to an uplink, a route through
/// the host) ends there, and its kernel answers with a reset, which verify
/// counts as reached. Nothing listens and nothing leaves this machine.
/// Removed (namespace and veth) when dropped.
#[derive(Debug)]
pub struct OutsideStandIn {
    namespace: String,
    address: Ipv4Addr,
}

impl OutsideStandIn {
    /// Create the namespace and its veth with the host's `ip`.
    pub fn create() -> Result<OutsideStandIn, OutsideError> {
        // One /30 per process, so that verifies running side by side (the
        // tests) do not share a route.
        let pid = std::process::id();
        let (third, fourth) = (((pid >> 6) & 0xff) as u8, ((pid & 0x3f) << 2) as u8);
        let host_side = Ipv4Addr::new(198, 18, third, fourth + 1);
        let address = Ipv4Addr::new(198, 18, third, fourth + 2);
        let stand_in = OutsideStandIn {
            namespace: format!("enshu-outside-{pid}"),
            address,
        };
        let (host_link, far_link) = (format!("eo{pid}h"), format!("eo{pid}o"));
        let ns = stand_in.namespace.as_str();
        let (host_cidr, far_cidr) = (format!("{host_side}/30"), format!("{address}/30"));
        let host_gateway = host_side.to_string();
        let steps: [&[&str]; 7] = [
            &["netns", "add", ns],
            &[
                "link", "add", &host_link, "type", "veth", "peer", "name", &far_link, "netns", ns,
            ],
            &["addr", "add", &host_cidr, "dev", &host_link],
            &["link", "set", &host_link, "up"],
            &["-n", ns, "addr", "add", &far_cidr, "dev", &far_link],
            &["-n", ns, "link", "set", &far_link, "up"],
            &["-n", ns, "route", "add", "default", "via", &host_gateway],
        ];
        for step in steps {
            let output = std::process::Command::new("ip").args(step).output()?;
            if !output.status.success() {
                return Err(OutsideError::Command {
                    arguments: step.join(" "),
                    message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                });
            }
        }
        Ok(stand_in)
    }

    /// The stand-in's address: where a probe of "the outside" goes.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }
}

impl Drop for OutsideStandIn {
    fn drop(&mut self) {
        // Deleting the namespace deletes its veth end and with it the pair.
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.namespace])
            .output();
    }
}
