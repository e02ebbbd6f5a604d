//! The kernel calls of the direct TTY path (`crate::terminal::direct`):
//! the pty master's window size and blocking mode, the descriptor runc
//! passes over its console socket (`SCM_RIGHTS`), this process as a child
//! subreaper, and waiting for one process by its pid (a pidfd, then
//! `waitpid` of that pid alone).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use enshu_backend::terminal::TerminalSize;

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) takes nothing and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Make this process the reaper of its descendants' orphans, so a
/// process runc started (its child) is this process's child once runc
/// exits, and its exit status is ours to read.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl(2) with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(|_| ())
}

/// Tell the pty its window size (the kernel signals SIGWINCH to the
/// foreground process group when it changed).
pub fn set_window_size(master: RawFd, size: TerminalSize) -> io::Result<()> {
    let window = libc::winsize {
        ws_row: size.rows,
        ws_col: size.columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize, which lives across the call.
    check(unsafe { libc::ioctl(master, libc::TIOCSWINSZ, &window as *const libc::winsize) })
        .map(|_| ())
}

/// Make a descriptor non-blocking (for tokio's `AsyncFd`).
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl(2) F_GETFL/F_SETFL take and return integers only.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) }).map(|_| ())
}

/// Whether `fd` is a character device (a pty master is).
pub fn is_character_device(fd: RawFd) -> bool {
    // SAFETY: an all-zero stat is a valid value for fstat to overwrite.
    let mut status: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat(2) writes one stat into `status`, which outlives the call.
    let result = unsafe { libc::fstat(fd, &mut status) };
    result == 0 && status.st_mode & libc::S_IFMT == libc::S_IFCHR
}

/// One descriptor received with `SCM_RIGHTS` on `socket` (runc's console
/// socket sends one message: the pty's name and its master). Any other
/// descriptor the message carried is closed. `WouldBlock` when nothing
/// waits yet.
pub fn receive_fd(socket: &impl AsRawFd) -> io::Result<OwnedFd> {
    let mut name = [0u8; 512];
    let mut iov = libc::iovec {
        iov_base: name.as_mut_ptr().cast(),
        iov_len: name.len(),
    };
    // Room for a few descriptors, aligned as a cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: an all-zero msghdr is valid; its pointers are set below.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: recvmsg(2) writes into `name` and `control` through the
    // msghdr, within the lengths given; all three outlive the call.
    let received = unsafe {
        libc::recvmsg(
            socket.as_raw_fd(),
            &mut message,
            libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
        )
    };
    if received < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut descriptors = Vec::new();
    // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR walk the control buffer the kernel
    // filled, bounded by msg_controllen; each SCM_RIGHTS payload holds
    // whole c_ints, read unaligned.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header).cast::<libc::c_int>();
                let bytes = (*header).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for index in 0..bytes / std::mem::size_of::<libc::c_int>() {
                    descriptors.push(OwnedFd::from_raw_fd(data.add(index).read_unaligned()));
                }
            }
            header = libc::CMSG_NXTHDR(&message, header);
        }
    }
    if message.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::other(
            "the console message's descriptors were cut",
        ));
    }
    let mut descriptors = descriptors.into_iter();
    let first = descriptors
        .next()
        .ok_or_else(|| io::Error::other("the console message carried no descriptor"))?;
    Ok(first)
}

/// A pidfd for `pid` (readable once the process has exited).
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) takes integers; the result is a fresh
    // descriptor, owned by the OwnedFd alone once checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(io::Error::other)?;
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reap child `pid` if it has exited: `Some(status)` as the engine
/// reports it (the exit code, or 128 + the signal that killed it).
pub fn try_reap(pid: i32) -> io::Result<Option<i64>> {
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid(2) of one positive pid writes one c_int we own.
    let reaped = check(unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) })?;
    if reaped == 0 {
        return Ok(None);
    }
    if libc::WIFEXITED(status) {
        Ok(Some(i64::from(libc::WEXITSTATUS(status))))
    } else {
        Ok(Some(128 + i64::from(libc::WTERMSIG(status))))
    }
}

/// The parent pid of `pid`, from `/proc/<pid>/stat`.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// `fd` registered with tokio's reactor for `interest`.
pub fn register<T: AsRawFd>(
    fd: T,
    interest: tokio::io::Interest,
) -> io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY: `T` (a File or an OwnedFd here) owns its descriptor: it
    // stays open and the same until the AsyncFd, which now owns `T`, drops
    // it, and `as_raw_fd` returns that one descriptor every time.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, interest) }
        .map_err(|error| error.into())
}
