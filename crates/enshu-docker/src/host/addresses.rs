//! This machine's IPv4 addresses, which verify's "host machine" probes
//! must not reach from any range.

use std::net::Ipv4Addr;

/// Every IPv4 address of this machine (of this process's network
/// namespace), from the kernel's own table (`getifaddrs(3)`, the list
/// `ip -4 addr show` prints), loopback left out, sorted, each once. Empty
/// when the table cannot be read.
pub fn host_addresses() -> Vec<Ipv4Addr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `getifaddrs` is given a valid place for the list's head; on
    // success the list is ours until `freeifaddrs` below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut addresses = Vec::new();
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a non-null node of the list `getifaddrs`
        // returned, which is not freed until after the loop.
        let interface = unsafe { &*entry };
        let address = interface.ifa_addr;
        // SAFETY: a non-null `ifa_addr` points to a sockaddr whose family
        // says its type; for AF_INET it is a `sockaddr_in`.
        if !address.is_null() && i32::from(unsafe { (*address).sa_family }) == libc::AF_INET {
            // SAFETY: the family is AF_INET, checked above, so the
            // sockaddr is a `sockaddr_in`.
            let inet = unsafe { &*address.cast::<libc::sockaddr_in>() };
            addresses.push(Ipv4Addr::from(u32::from_be(inet.sin_addr.s_addr)));
        }
        entry = interface.ifa_next;
    }
    // SAFETY: `list` came from a successful `getifaddrs` and is freed once;
    // no reference into it outlives this call.
    unsafe { libc::freeifaddrs(list) };
    addresses.retain(|address| !address.is_loopback());
    addresses.sort();
    addresses.dedup();
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed_by_ip() -> Option<Vec<Ipv4Addr>> {
        let output = std::process::Command::new("ip")
            .args(["-4", "-o", "addr", "show"])
            .output()
            .ok()?;
        let mut listed: Vec<Ipv4Addr> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                words.position(|word| word == "inet")?;
                words.next()?.split('/').next()?.parse().ok()
            })
            .filter(|address: &Ipv4Addr| !address.is_loopback())
            .collect();
        listed.sort();
        listed.dedup();
        Some(listed)
    }

    /// The same set `ip -4 -o addr show` prints (what the list was read
    /// from before), where `ip` is installed. Addresses come and go while
    /// other tests run (a verify's stand-in), so a few tries are allowed.
    #[test]
    fn the_addresses_are_those_ip_lists() {
        let mut last = None;
        for _ in 0..5 {
            let Some(listed) = listed_by_ip() else {
                return;
            };
            let read = host_addresses();
            if read == listed {
                return;
            }
            last = Some((read, listed));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let (read, listed) = last.unwrap();
        assert_eq!(read, listed);
    }
}
