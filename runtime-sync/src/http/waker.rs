//! Waking a poll(2) loop from the HTTP threads: a self-pipe (a Unix socket pair) whose read end
//! the loop polls along with its sockets.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// The read end of a self-pipe, for the sync runtime's poll loop: register [`Waker::as_fd`] for
/// readability, call [`Waker::drain`] when it is readable, then drain
/// [`ApiServer::poll_request`](super::ApiServer::poll_request). Both ends are nonblocking, so a
/// burst of requests never blocks an HTTP thread: one pending byte is enough to wake the loop.
#[derive(Debug)]
pub struct Waker {
    read: UnixStream,
    write: Arc<UnixStream>,
}

impl Waker {
    /// A new self-pipe.
    pub fn new() -> io::Result<Waker> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(Waker {
            read,
            write: Arc::new(write),
        })
    }

    /// The closure to give [`ApiServer::start`](super::ApiServer::start): makes the read end
    /// readable. A full pipe already wakes the loop, so a failed write is ignored.
    pub fn notifier(&self) -> impl Fn() + Send + Sync + 'static {
        let write = Arc::clone(&self.write);
        move || {
            let _ = (&*write).write(&[1]);
        }
    }

    /// Empties the read end, so that the next poll blocks until the next notification. Call it
    /// before draining the requests, so that one queued after the drain still wakes the loop.
    pub fn drain(&self) {
        let mut buf = [0u8; 256];
        loop {
            match (&self.read).read(&mut buf) {
                Ok(0) => return,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }
}

impl AsFd for Waker {
    /// The read end, to poll for readability.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}
