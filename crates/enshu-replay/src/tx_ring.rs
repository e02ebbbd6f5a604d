//! The PACKET_MMAP TX ring (TPACKET_V2) behind [`crate::Sender`].
//!
//! The ring is memory shared with the kernel, cut into fixed-size slots.
//! The sender copies a batch of frames into consecutive slots, marks each
//! `TP_STATUS_SEND_REQUEST`, and one `send(fd, NULL, 0, 0)` makes the
//! kernel build and transmit a socket buffer for every marked slot. Against
//! `sendmmsg` this saves, per frame, the message header copy and checks
//! and the user-memory import of the generic socket send path; the socket
//! buffer, the device transmit and (on a veth pair) the receiving stack
//! remain, and they are most of the cost.
//!
//! Every slot carries a `virtio_net_hdr` (`PACKET_VNET_HDR`) whose
//! `hdr_len` is the whole frame: this makes the kernel *copy* the frame into
//! the socket buffer instead of pointing the buffer at the ring's pages.
//! Without it, a veth pair (or any device that orphans the buffer early)
//! releases the slot while the receiving side may still hold the pages,
//! and the next frame written into that slot would change the bytes of a
//! frame already sent. The copy also leaves the receiver a linear buffer,
//! which it would otherwise have to pull the headers into.
//!
//! The blocking `send` returns once the kernel has taken every marked slot
//! (on a veth pair, transmitted and usually received too), so the next
//! batch finds its slots free; `SO_SNDTIMEO` and [`SEND_PATIENCE`] bound
//! every wait. A frame the device dropped stays requested in its slot and
//! goes out with the next flush, as `sendmmsg` retries it.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::sender::{SEND_PATIENCE, set_option};

// From <linux/if_packet.h> and <linux/virtio_net.h>.
const PACKET_VERSION: libc::c_int = 10;
const PACKET_TX_RING: libc::c_int = 13;
const PACKET_VNET_HDR: libc::c_int = 15;
const TPACKET_V2: libc::c_int = 1;
const TP_STATUS_AVAILABLE: u32 = 0;
const TP_STATUS_SEND_REQUEST: u32 = 1;
const TP_STATUS_WRONG_FORMAT: u32 = 4;
/// `TPACKET_ALIGN(sizeof(struct tpacket2_hdr))`: where a V2 slot's data
/// starts when no `tp_mac` offset is used.
const SLOT_DATA_OFFSET: usize = 32;
/// Offset of `tp_len` in `struct tpacket2_hdr` (after `tp_status`).
const SLOT_LENGTH_OFFSET: usize = 4;
const TPACKET_ALIGNMENT: usize = 16;
/// `sizeof(struct virtio_net_hdr)`.
const VNET_HEADER_LENGTH: usize = 10;
/// Offset of `hdr_len` in `struct virtio_net_hdr` (after flags, gso_type).
const VNET_HEADER_LENGTH_FIELD: usize = 2;
/// Slots live in blocks of at least this size (a multiple of the page).
const MINIMUM_BLOCK_BYTES: usize = 1 << 16;
/// At least this many slots, so that a ring is not refilled every frame.
const MINIMUM_SLOTS: usize = 256;

/// `struct tpacket_req`.
#[repr(C)]
struct TpacketRequest {
    block_size: u32,
    block_count: u32,
    frame_size: u32,
    frame_count: u32,
}

/// A mapped TX ring of one socket.
#[derive(Debug)]
pub(crate) struct TxRing {
    base: NonNull<u8>,
    mapped_bytes: usize,
    block_size: usize,
    slot_size: usize,
    slots_per_block: usize,
    slot_count: usize,
    /// Longest frame a slot holds.
    frame_capacity: usize,
    next_slot: usize,
}

impl TxRing {
    /// Sets up a ring on `socket` (bound, with no ring yet) for frames of
    /// up to `max_frame_length` bytes and batches of `batch_size`.
    pub(crate) fn set_up(
        socket: &OwnedFd,
        max_frame_length: usize,
        batch_size: usize,
    ) -> io::Result<Self> {
        let with_context = |what: &'static str| {
            move |error: io::Error| io::Error::new(error.kind(), format!("{what}: {error}"))
        };
        set_option(socket, libc::SOL_PACKET, PACKET_VERSION, TPACKET_V2)
            .map_err(with_context("PACKET_VERSION TPACKET_V2"))?;
        set_option(socket, libc::SOL_PACKET, PACKET_VNET_HDR, 1)
            .map_err(with_context("PACKET_VNET_HDR"))?;
        let slot_size = (SLOT_DATA_OFFSET + VNET_HEADER_LENGTH + max_frame_length)
            .next_multiple_of(TPACKET_ALIGNMENT);
        let block_size = slot_size.next_power_of_two().max(MINIMUM_BLOCK_BYTES);
        let slots_per_block = block_size / slot_size;
        let wanted_slots = (2 * batch_size).max(MINIMUM_SLOTS);
        let block_count = wanted_slots.div_ceil(slots_per_block);
        let slot_count = slots_per_block * block_count;
        let request = TpacketRequest {
            block_size: block_size as u32,
            block_count: block_count as u32,
            frame_size: slot_size as u32,
            frame_count: slot_count as u32,
        };
        // SAFETY: `request` is a valid tpacket_req that outlives the call,
        // its size is given.
        let result = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_TX_RING,
                (&request as *const TpacketRequest).cast(),
                std::mem::size_of::<TpacketRequest>() as u32,
            )
        };
        if result < 0 {
            return Err(with_context("PACKET_TX_RING")(io::Error::last_os_error()));
        }
        let mapped_bytes = block_size * block_count;
        // SAFETY: maps the ring the kernel just allocated for this socket;
        // the result is checked and unmapped in `drop`.
        let mapping = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped_bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                socket.as_raw_fd(),
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return Err(with_context("mapping the TX ring")(
                io::Error::last_os_error(),
            ));
        }
        let base = NonNull::new(mapping.cast::<u8>()).expect("mmap succeeded");
        // Bound the blocking send's wait for the kernel to take the ring.
        let timeout = libc::timeval {
            tv_sec: SEND_PATIENCE.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: `timeout` is a valid timeval that outlives the call.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
        Ok(Self {
            base,
            mapped_bytes,
            block_size,
            slot_size,
            slots_per_block,
            slot_count,
            frame_capacity: slot_size - SLOT_DATA_OFFSET - VNET_HEADER_LENGTH,
            next_slot: 0,
        })
    }

    fn slot(&self, index: usize) -> *mut u8 {
        let offset = (index / self.slots_per_block) * self.block_size
            + (index % self.slots_per_block) * self.slot_size;
        // SAFETY: `index < slot_count`, so the offset lies inside the mapping.
        unsafe { self.base.as_ptr().add(offset) }
    }

    fn status(&self, index: usize) -> &AtomicU32 {
        // SAFETY: every slot starts with the kernel's 4-byte aligned
        // `tp_status` (slots are 16-byte aligned in a page-aligned mapping),
        // which the kernel also accesses atomically; the reference does not
        // outlive `self`, which keeps the mapping.
        unsafe { AtomicU32::from_ptr(self.slot(index).cast::<u32>()) }
    }

    /// Copies `frames` into free slots, in order, and has the kernel send
    /// them; returns how many were sent (at least one unless the kernel
    /// did not release a slot within [`SEND_PATIENCE`]).
    pub(crate) fn send_frames(
        &mut self,
        socket: &OwnedFd,
        frames: &[&[u8]],
        full_queue_retries: &mut u64,
    ) -> io::Result<usize> {
        let started = Instant::now();
        loop {
            let filled = self.fill(frames)?;
            if filled > 0 {
                self.flush(socket, started, full_queue_retries)?;
                return Ok(filled);
            }
            // No free slot: the kernel still holds the next one. Flushing
            // waits for it; give up after the patience runs out.
            if started.elapsed() >= SEND_PATIENCE {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the kernel did not release a TX ring slot",
                ));
            }
            *full_queue_retries += 1;
            self.flush(socket, started, full_queue_retries)?;
            std::thread::yield_now();
        }
    }

    /// Writes as many of `frames` as there are consecutive free slots.
    fn fill(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        let mut filled = 0;
        for frame in frames.iter().take(self.slot_count) {
            let index = self.next_slot;
            let status = self.status(index).load(Ordering::Acquire);
            if status & TP_STATUS_WRONG_FORMAT != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the kernel refused a TX ring frame as malformed",
                ));
            }
            if status != TP_STATUS_AVAILABLE {
                break;
            }
            if frame.len() > self.frame_capacity {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "frame of {} bytes exceeds the TX ring slot's {}",
                        frame.len(),
                        self.frame_capacity
                    ),
                ));
            }
            let slot = self.slot(index);
            let mut virtio_header = [0u8; VNET_HEADER_LENGTH];
            // hdr_len = the whole frame: the kernel copies all of it.
            virtio_header[VNET_HEADER_LENGTH_FIELD..VNET_HEADER_LENGTH_FIELD + 2]
                .copy_from_slice(&(frame.len() as u16).to_ne_bytes());
            let slot_length = (VNET_HEADER_LENGTH + frame.len()) as u32;
            // SAFETY: the slot is AVAILABLE, so the kernel does not touch it
            // until the status below says so; all writes stay inside the
            // slot (frame length checked against its capacity above).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    slot_length.to_ne_bytes().as_ptr(),
                    slot.add(SLOT_LENGTH_OFFSET),
                    4,
                );
                let data = slot.add(SLOT_DATA_OFFSET);
                std::ptr::copy_nonoverlapping(virtio_header.as_ptr(), data, VNET_HEADER_LENGTH);
                std::ptr::copy_nonoverlapping(
                    frame.as_ptr(),
                    data.add(VNET_HEADER_LENGTH),
                    frame.len(),
                );
            }
            // Release: the length and bytes above are visible to the kernel
            // before it sees the request.
            self.status(index)
                .store(TP_STATUS_SEND_REQUEST, Ordering::Release);
            self.next_slot = (index + 1) % self.slot_count;
            filled += 1;
        }
        Ok(filled)
    }

    /// Asks the kernel to send every requested slot and waits until it has.
    fn flush(
        &self,
        socket: &OwnedFd,
        started: Instant,
        full_queue_retries: &mut u64,
    ) -> io::Result<()> {
        loop {
            // SAFETY: a zero-length send with no buffer is how a TX ring is
            // flushed; the kernel reads only the mapped slots.
            let result = unsafe { libc::send(socket.as_raw_fd(), std::ptr::null(), 0, 0) };
            if result >= 0 {
                return Ok(());
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR) => continue,
                // A dropped frame stays requested in the ring: send again.
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) if started.elapsed() < SEND_PATIENCE => {
                    *full_queue_retries += 1;
                    std::thread::yield_now();
                }
                _ => return Err(error),
            }
        }
    }
}

impl Drop for TxRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `set_up`, which no
        // reference outlives (they all borrow `self`).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.mapped_bytes);
        }
    }
}
