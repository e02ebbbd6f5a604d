//! The AF_PACKET sender (feature `raw-socket`).
//!
//! A raw packet socket bound to one interface, protocol 0 so that it never
//! receives, sending pre-built Ethernet frames, up to
//! [`SenderOptions::batch_size`] per system call, one of two ways:
//!
//! - a PACKET_MMAP TX ring ([`crate::tx_ring`]), the default: frames are
//!   copied into slots shared with the kernel and one `send` transmits the
//!   batch;
//! - `sendmmsg`, the fallback when the kernel refuses a ring (the reason is
//!   kept for the report) or when asked for.
//!
//! An earlier version argued that a ring could not beat `sendmmsg`, since
//! the kernel builds one socket buffer per frame either way. Measured on a
//! veth pair, the ring sends 1.1x (loaded host) to 1.4x (quieter host) the
//! 64-byte frames per second of `sendmmsg` batches (see BENCHMARKS.md): the
//! per-message work of the generic send path (message header copy, iovec
//! import, checks) is a visible share of a ~2 µs frame. What remains is
//! kernel work no sender avoids: the socket buffer, the device transmit and,
//! on a veth pair, the receiving namespace's stack, which runs on the
//! sending CPU and is more than half of it (user space is under 2 % in a
//! profile). Beyond that, a second core is the lever: `--threads` (see
//! [`crate::flows`]).
//!
//! `PACKET_QDISC_BYPASS` is opt-in: it skips the interface's queueing
//! discipline, so a range that shapes traffic with `tc` would be bypassed.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use enshu_pcap::MacAddress;

use crate::replay::FrameSink;
use crate::tx_ring::TxRing;

// Not exported by every libc version; values from <linux/if_packet.h> and
// <asm-generic/socket.h>.
pub(crate) const PACKET_QDISC_BYPASS: libc::c_int = 20;
const SO_SNDBUFFORCE: libc::c_int = 32;

/// How long one batch may wait for the kernel to take it (a full queue, a
/// ring slot not yet released) before the replay fails instead of hanging.
pub(crate) const SEND_PATIENCE: Duration = Duration::from_secs(10);

/// Facts about the interface a sender is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub index: u32,
    pub mac: MacAddress,
    pub mtu: u32,
}

impl InterfaceInfo {
    /// Largest frame the kernel accepts on this interface: the MTU plus the
    /// Ethernet header and one VLAN tag.
    pub fn max_frame_length(&self) -> usize {
        self.mtu as usize + 14 + 4
    }
}

/// Which kernel interface a [`Sender`] hands frames to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMethod {
    /// A PACKET_MMAP TX ring: frames are copied into shared slots and one
    /// `send` asks the kernel to transmit every filled slot.
    TxRing,
    /// `sendmmsg` batches from the frames' own memory.
    Sendmmsg,
}

impl std::fmt::Display for SendMethod {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            SendMethod::TxRing => "tx-ring",
            SendMethod::Sendmmsg => "sendmmsg",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderOptions {
    /// Most frames per system call (`sendmmsg` call or ring flush).
    pub batch_size: usize,
    /// Set `PACKET_QDISC_BYPASS` (skips `tc` shaping on the interface).
    pub qdisc_bypass: bool,
    /// Socket send buffer; larger lets a batch queue without blocking.
    pub send_buffer_bytes: usize,
    /// Try a PACKET_MMAP TX ring first; `sendmmsg` is used when this is
    /// false or the kernel refuses the ring.
    pub tx_ring: bool,
}

impl Default for SenderOptions {
    fn default() -> Self {
        Self {
            batch_size: 64,
            qdisc_bypass: false,
            send_buffer_bytes: 4 << 20,
            tx_ring: true,
        }
    }
}

/// Why the sender could not be opened or could not send.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("interface name {name:?} is not a valid interface name")]
    InvalidName { name: String },
    #[error("interface {name} not found in this network namespace")]
    NoSuchInterface { name: String },
    #[error(
        "interface {name} is not an ethernet interface (hardware type {hardware_type}); frames are ethernet"
    )]
    NotEthernet { name: String, hardware_type: u16 },
    #[error("{operation} for interface {name}: {source} (needs CAP_NET_RAW)")]
    Socket {
        operation: &'static str,
        name: String,
        source: io::Error,
    },
}

/// The scratch a `sendmmsg` batch needs; its pointers are only set, and
/// only valid, during one `send_frames` call.
#[derive(Debug)]
struct SendmmsgScratch {
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

#[derive(Debug)]
enum SendPath {
    TxRing(TxRing),
    Sendmmsg(SendmmsgScratch),
}

/// An AF_PACKET socket bound to one interface, sending through a TX ring
/// or with `sendmmsg`.
#[derive(Debug)]
pub struct Sender {
    socket: OwnedFd,
    interface: InterfaceInfo,
    batch_size: usize,
    path: SendPath,
    /// Why a TX ring was asked for but not set up, if so.
    tx_ring_unavailable: Option<String>,
    /// Times the kernel said the queue was full and the batch was retried.
    pub full_queue_retries: u64,
}

// SAFETY: the raw pointers in the sendmmsg scratch are written at the start
// of each `send_frames` call and never read outside it, and the TX ring's
// mapping is owned by this sender alone (see `TxRing`), so moving the
// sender to another thread cannot let a dangling or shared pointer be used.
unsafe impl Send for Sender {}

impl Sender {
    /// Opens a raw socket on `interface_name` in the current network
    /// namespace, with a TX ring when asked for and the kernel allows one.
    pub fn open(interface_name: &str, options: SenderOptions) -> Result<Self, SenderError> {
        let batch_size = options.batch_size.clamp(1, 1024);
        let (socket, interface) = open_bound_socket(interface_name, options)?;
        let mut tx_ring_unavailable = None;
        let (socket, path) = if options.tx_ring {
            match TxRing::set_up(&socket, interface.max_frame_length(), batch_size) {
                Ok(ring) => (socket, SendPath::TxRing(ring)),
                Err(error) => {
                    tx_ring_unavailable = Some(error.to_string());
                    // The failed attempt may have changed the socket's
                    // version or header options: start again with a clean one.
                    drop(socket);
                    let (socket, _) = open_bound_socket(interface_name, options)?;
                    (socket, sendmmsg_path(batch_size))
                }
            }
        } else {
            (socket, sendmmsg_path(batch_size))
        };
        Ok(Self {
            socket,
            interface,
            batch_size,
            path,
            tx_ring_unavailable,
            full_queue_retries: 0,
        })
    }

    pub fn interface(&self) -> &InterfaceInfo {
        &self.interface
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    pub fn send_method(&self) -> SendMethod {
        match self.path {
            SendPath::TxRing(_) => SendMethod::TxRing,
            SendPath::Sendmmsg(_) => SendMethod::Sendmmsg,
        }
    }

    /// Why the TX ring could not be set up, when it was asked for.
    pub fn tx_ring_unavailable(&self) -> Option<&str> {
        self.tx_ring_unavailable.as_deref()
    }
}

fn sendmmsg_path(batch_size: usize) -> SendPath {
    SendPath::Sendmmsg(SendmmsgScratch {
        // SAFETY: an all-zero iovec is valid (a null pointer, zero
        // length); it is filled before each use.
        iovecs: vec![unsafe { std::mem::zeroed() }; batch_size],
        // SAFETY: an all-zero mmsghdr is valid (null pointers, zero
        // lengths); it is filled before each use.
        headers: vec![unsafe { std::mem::zeroed() }; batch_size],
    })
}

/// A raw socket bound to the interface (protocol 0: it never receives),
/// with the send buffer and qdisc bypass set, and the interface's facts.
fn open_bound_socket(
    interface_name: &str,
    options: SenderOptions,
) -> Result<(OwnedFd, InterfaceInfo), SenderError> {
    // Must be called right after the failing system call.
    let socket_error = |operation: &'static str| SenderError::Socket {
        operation,
        name: interface_name.to_owned(),
        source: io::Error::last_os_error(),
    };
    let name = CString::new(interface_name).map_err(|_| SenderError::InvalidName {
        name: interface_name.to_owned(),
    })?;
    if interface_name.is_empty() || interface_name.len() >= libc::IFNAMSIZ {
        return Err(SenderError::InvalidName {
            name: interface_name.to_owned(),
        });
    }
    // SAFETY: plain system call; the result is checked.
    let raw_socket =
        unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw_socket < 0 {
        return Err(socket_error("opening an AF_PACKET socket"));
    }
    // SAFETY: `raw_socket` is a fresh descriptor owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(raw_socket) };
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(SenderError::NoSuchInterface {
            name: interface_name.to_owned(),
        });
    }
    let mut request = interface_request(&name);
    // SAFETY: `request` is a properly initialised ifreq naming the
    // interface; the kernel fills in the union.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFHWADDR, &mut request) } < 0 {
        return Err(socket_error("reading the hardware address"));
    }
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union.
    let hardware_address = unsafe { request.ifr_ifru.ifru_hwaddr };
    if hardware_address.sa_family != libc::ARPHRD_ETHER {
        return Err(SenderError::NotEthernet {
            name: interface_name.to_owned(),
            hardware_type: hardware_address.sa_family,
        });
    }
    let mut mac = [0u8; 6];
    for (octet, byte) in mac.iter_mut().zip(hardware_address.sa_data.iter()) {
        *octet = *byte as u8;
    }
    let mut request = interface_request(&name);
    // SAFETY: as above, for the MTU member.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFMTU, &mut request) } < 0 {
        return Err(socket_error("reading the mtu"));
    }
    // SAFETY: SIOCGIFMTU filled the mtu member of the union.
    let mtu = unsafe { request.ifr_ifru.ifru_mtu }.max(0) as u32;

    // SAFETY: zeroed sockaddr_ll is a valid value; fields set below.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = 0; // send only: never registered for receiving
    address.sll_ifindex = index as i32;
    // SAFETY: `address` is a valid sockaddr_ll of the size passed.
    let bound = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&address as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if bound < 0 {
        return Err(socket_error("binding the socket"));
    }
    let buffer = options.send_buffer_bytes.min(i32::MAX as usize) as libc::c_int;
    if set_option(&socket, libc::SOL_SOCKET, SO_SNDBUFFORCE, buffer).is_err() {
        // Without CAP_NET_ADMIN the kernel caps it at wmem_max; fine.
        let _ = set_option(&socket, libc::SOL_SOCKET, libc::SO_SNDBUF, buffer);
    }
    if options.qdisc_bypass {
        set_option(&socket, libc::SOL_PACKET, PACKET_QDISC_BYPASS, 1).map_err(|source| {
            SenderError::Socket {
                operation: "setting PACKET_QDISC_BYPASS",
                name: interface_name.to_owned(),
                source,
            }
        })?;
    }
    Ok((
        socket,
        InterfaceInfo {
            name: interface_name.to_owned(),
            index,
            mac: MacAddress(mac),
            mtu,
        },
    ))
}

impl FrameSink for Sender {
    /// Sends up to `batch_size` frames with one system call. When the
    /// kernel reports a full queue (`ENOBUFS`/`EAGAIN`) it yields and
    /// retries (for at most [`SEND_PATIENCE`]), so a frame is never
    /// silently skipped here.
    fn send_frames(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        let count = frames.len().min(self.batch_size);
        if count == 0 {
            return Ok(0);
        }
        match &mut self.path {
            SendPath::TxRing(ring) => {
                ring.send_frames(&self.socket, &frames[..count], &mut self.full_queue_retries)
            }
            SendPath::Sendmmsg(scratch) => send_with_sendmmsg(
                &self.socket,
                scratch,
                &frames[..count],
                &mut self.full_queue_retries,
            ),
        }
    }
}

fn send_with_sendmmsg(
    socket: &OwnedFd,
    scratch: &mut SendmmsgScratch,
    frames: &[&[u8]],
    full_queue_retries: &mut u64,
) -> io::Result<usize> {
    let count = frames.len();
    for (index, frame) in frames.iter().enumerate() {
        scratch.iovecs[index] = libc::iovec {
            iov_base: frame.as_ptr() as *mut libc::c_void,
            iov_len: frame.len(),
        };
        let header = &mut scratch.headers[index];
        // SAFETY: an all-zero msghdr is valid: no address (the bound
        // interface is used), no control data.
        header.msg_hdr = unsafe { std::mem::zeroed() };
        header.msg_hdr.msg_iov = &mut scratch.iovecs[index];
        header.msg_hdr.msg_iovlen = 1;
        header.msg_len = 0;
    }
    let started = Instant::now();
    loop {
        // SAFETY: `headers[..count]` point at `iovecs[..count]`, which
        // point into `frames`, all alive for the duration of the call.
        let sent = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                scratch.headers.as_mut_ptr(),
                count as u32,
                0,
            )
        };
        if sent > 0 {
            return Ok(sent as usize);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ENOBUFS) | Some(libc::EAGAIN) if started.elapsed() < SEND_PATIENCE => {
                *full_queue_retries += 1;
                std::thread::yield_now();
            }
            _ => return Err(error),
        }
    }
}

fn interface_request(name: &CString) -> libc::ifreq {
    // SAFETY: an all-zero ifreq is valid; the name is copied in below and
    // is shorter than IFNAMSIZ (checked by the caller).
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.as_bytes()) {
        *slot = *byte as libc::c_char;
    }
    request
}

pub(crate) fn set_option(
    socket: &OwnedFd,
    level: libc::c_int,
    option: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a c_int that outlives the call, size given.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Asks the kernel to wake sleeping timers of this thread without the
/// default 50 µs slack, which the pacer would otherwise have to spin out.
pub fn reduce_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument; failure leaves
    // the default slack, which only costs some spinning.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// Moves the calling thread to `SCHED_FIFO` at `priority` and locks the
/// process's memory, so that a paced replay is not preempted by ordinary
/// work on a busy host. Needs CAP_SYS_NICE and CAP_IPC_LOCK. The kernel's
/// real-time throttling still leaves other tasks 5% of each core.
pub fn enter_realtime_scheduling(priority: i32) -> io::Result<()> {
    let parameters = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `parameters` is a valid sched_param for the calling thread.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &parameters) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain system call; failure only means pages may fault in.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
