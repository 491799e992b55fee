//! Where the server listens: any number of TCP addresses and Unix
//! sockets, as `--bind` names them, and the two kinds of connection they
//! give.
//!
//! Behind a reverse proxy on the same machine, a Unix socket is the usual
//! choice: no port to pick or to expose, and who may connect is decided by
//! the socket file's permissions. The loop treats both kinds alike; only
//! `environ` tells them apart (a Unix peer has no IP address).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use mio::event::Source;
use mio::{Interest, Registry, Token};
use nix::sys::stat::{Mode, umask};
use stage_04::environ::ConnectionInfo;

/// One `--bind` value: `HOST:PORT`, or `unix:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// A TCP address, `HOST:PORT`.
    Tcp(String),
    /// A Unix socket's path.
    Unix(PathBuf),
}

impl Bind {
    /// Reads a `--bind` value, the way gunicorn spells them.
    pub fn parse(text: &str) -> Bind {
        match text.strip_prefix("unix:") {
            Some(path) => Bind::Unix(path.into()),
            None => Bind::Tcp(text.to_string()),
        }
    }
}

/// A listening socket, made by the master before it forks: every worker
/// inherits it and accepts on it.
#[derive(Debug)]
pub enum Listener {
    /// On a TCP address.
    Tcp(TcpListener),
    /// On a Unix socket.
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Listener {
        Listener::Tcp(listener)
    }
}

impl Listener {
    /// A copy of the socket for a worker's loop (the same socket, another
    /// descriptor).
    pub fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(listener) => Listener::Tcp(listener.try_clone()?),
            Listener::Unix(listener) => Listener::Unix(listener.try_clone()?),
        })
    }

    /// What to tell the user: `http://127.0.0.1:8000` or `unix:/run/app.sock`.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(listener) => match listener.local_addr() {
                Ok(addr) => format!("http://{addr}"),
                Err(e) => format!("a TCP socket ({e})"),
            },
            Listener::Unix(listener) => match listener.local_addr() {
                Ok(addr) => match addr.as_pathname() {
                    Some(path) => format!("unix:{}", path.display()),
                    None => "an unnamed Unix socket".into(),
                },
                Err(e) => format!("a Unix socket ({e})"),
            },
        }
    }
}

/// How many connections may wait to be accepted, per listening socket
/// (gunicorn's default `--backlog`; the kernel caps it at
/// `net.core.somaxconn`). Rust's `bind` asks for 128: a burst of a few
/// hundred clients, or a worker busy for a moment, would have the kernel
/// drop SYNs, and those clients wait a second or more to retry.
pub const BACKLOG: i32 = 2048;

/// Binds every address, in order. The socket files of Unix binds are
/// removed when the returned [`SocketFile`]s are dropped.
pub fn bind_all(binds: &[Bind]) -> Result<(Vec<Listener>, Vec<SocketFile>), String> {
    let (mut listeners, mut files) = (Vec::new(), Vec::new());
    for bind in binds {
        match bind {
            // Rust sets SO_REUSEADDR on Unix before binding (see stage-02's
            // `listen`): a restart is not refused by connections in TIME_WAIT.
            Bind::Tcp(addr) => {
                let listener = TcpListener::bind(addr)
                    .and_then(|listener| with_backlog(listener, BACKLOG))
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
                listeners.push(Listener::Tcp(listener));
            }
            Bind::Unix(path) => {
                let (listener, file) = bind_unix(path)
                    .and_then(|(listener, file)| Ok((with_backlog(listener, BACKLOG)?, file)))
                    .map_err(|e| format!("cannot listen on unix:{}: {e}", path.display()))?;
                listeners.push(Listener::Unix(listener));
                files.push(file);
            }
        }
    }
    Ok((listeners, files))
}

/// `listener`, its queue of connections waiting to be accepted made
/// `backlog` long (`listen` again on a listening socket only changes that).
fn with_backlog<L: AsFd>(listener: L, backlog: i32) -> io::Result<L> {
    socket2::SockRef::from(&listener).listen(backlog)?;
    Ok(listener)
}

/// The permissions of a new socket file: owner and group may connect (a
/// connect needs write permission), others not. A proxy running as
/// another user connects through the group (nginx's user added to it), or
/// through a directory the administrator opens up; a socket anyone on the
/// machine can connect to would let any local user skip the proxy and its
/// rules, forwarded headers included.
pub const SOCKET_MODE: u32 = 0o660;

/// Binds a Unix socket at `path`, replacing a stale socket file a server
/// that was killed left behind; a live one (something accepts on it) or
/// a file that is not a socket is left alone, and binding fails.
// ANCHOR: bind_unix
pub fn bind_unix(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
    // ANCHOR: ex-08.3-stale-socket
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the file exists and is not a socket",
            ));
        }
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another server is accepting on it",
                ));
            }
            // Nobody accepts: a leftover, which `bind` would refuse.
            Err(_) => std::fs::remove_file(path)?,
        },
    }
    // ANCHOR_END: ex-08.3-stale-socket
    // The mode is set by the umask at `bind`, not by a chmod after it:
    // in between, the socket would accept with whatever mode the umask
    // gave. Changing the umask is safe here: no other thread runs yet.
    let old = umask(Mode::from_bits_truncate(0o777 & !SOCKET_MODE));
    let bound = UnixListener::bind(path);
    umask(old);
    let listener = bound?;
    let meta = std::fs::metadata(path)?;
    Ok((
        listener,
        SocketFile {
            path: path.to_path_buf(),
            identity: (meta.dev(), meta.ino()),
        },
    ))
}
// ANCHOR_END: bind_unix

/// A Unix socket's file, removed when this is dropped (when the server
/// exits), unless another server has replaced it meanwhile.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    identity: (u64, u64),
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.identity);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A listener's poll token. Listeners' tokens count down from the top,
/// so that connections' can count up from 1 (0 is the pool's waker) and
/// the two never meet.
pub fn listener_token(index: usize) -> Token {
    Token(usize::MAX - index)
}

/// Which of `listeners` listeners a token is, if it is one's.
pub fn listener_index(token: Token, listeners: usize) -> Option<usize> {
    let index = usize::MAX - token.0;
    (index < listeners).then_some(index)
}

/// A listener as a worker's poll sees it: non-blocking, of mio's kind.
pub enum Accepting {
    /// On a TCP address.
    Tcp(mio::net::TcpListener),
    /// On a Unix socket.
    Unix(mio::net::UnixListener),
}

impl Accepting {
    /// `listener`, made non-blocking for a poll.
    pub fn new(listener: Listener) -> io::Result<Accepting> {
        Ok(match listener {
            Listener::Tcp(listener) => {
                listener.set_nonblocking(true)?;
                Accepting::Tcp(mio::net::TcpListener::from_std(listener))
            }
            Listener::Unix(listener) => {
                listener.set_nonblocking(true)?;
                Accepting::Unix(mio::net::UnixListener::from_std(listener))
            }
        })
    }

    /// The next connection, with its peer's address (`None` for a Unix peer).
    pub fn accept(&self) -> io::Result<(Stream, Option<SocketAddr>)> {
        match self {
            Accepting::Tcp(listener) => {
                let (stream, peer) = listener.accept()?;
                // Responses go out in as few writes as the loop can make:
                // Nagle's delay would only hold back the last piece.
                let _ = stream.set_nodelay(true);
                Ok((Stream::Tcp(stream), Some(peer)))
            }
            Accepting::Unix(listener) => Ok((Stream::Unix(listener.accept()?.0), None)),
        }
    }

    /// The TCP address it listens on (`None` for a Unix socket).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Accepting::Tcp(listener) => listener.local_addr().ok(),
            Accepting::Unix(_) => None,
        }
    }

    /// What the poll registers.
    pub fn source(&mut self) -> &mut dyn Source {
        match self {
            Accepting::Tcp(listener) => listener,
            Accepting::Unix(listener) => listener,
        }
    }
}

/// A client connection of either kind.
#[derive(Debug)]
pub enum Stream {
    /// Over TCP.
    Tcp(mio::net::TcpStream),
    /// Over a Unix socket.
    Unix(mio::net::UnixStream),
}

impl Stream {
    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.shutdown(how),
            Stream::Unix(stream) => stream.shutdown(how),
        }
    }

    /// The connection's two addresses, for `environ` or a scope; `None`
    /// when a TCP socket cannot say its own (it has closed already). A Unix
    /// socket has none: unspecified ones stand in, and the server says so
    /// in its own way (an empty `REMOTE_ADDR`, a scope's `client` None).
    pub fn info(&self, peer: Option<SocketAddr>) -> Option<ConnectionInfo> {
        match (self, peer) {
            (Stream::Tcp(tcp), Some(peer)) => Some(ConnectionInfo {
                local: tcp.local_addr().ok()?,
                peer,
            }),
            _ => {
                let none = SocketAddr::from(([0, 0, 0, 0], 0));
                Some(ConnectionInfo {
                    local: none,
                    peer: none,
                })
            }
        }
    }

    /// The path of the Unix socket this connection came in on, if it did.
    pub fn unix_path(&self) -> Option<PathBuf> {
        match self {
            Stream::Tcp(_) => None,
            Stream::Unix(stream) => Some(stream.local_addr().ok()?.as_pathname()?.to_path_buf()),
        }
    }
}

impl From<mio::net::TcpStream> for Stream {
    fn from(stream: mio::net::TcpStream) -> Stream {
        Stream::Tcp(stream)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.read(buf),
            Stream::Unix(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.write(buf),
            Stream::Unix(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(stream) => stream.as_fd(),
            Stream::Unix(stream) => stream.as_fd(),
        }
    }
}

impl Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.register(registry, token, interest),
            Stream::Unix(stream) => stream.register(registry, token, interest),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.reregister(registry, token, interest),
            Stream::Unix(stream) => stream.reregister(registry, token, interest),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.deregister(registry),
            Stream::Unix(stream) => stream.deregister(registry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("stage-06-{}-{name}.sock", std::process::id()))
    }

    #[test]
    fn a_burst_of_connections_waits_in_the_backlog_rather_than_being_dropped() {
        // Nobody accepts: each connection that completes waits in the
        // listen queue. With the kernel's old default of 128, the next
        // SYNs are dropped, and a burst of clients waits seconds for
        // retransmissions.
        let (listeners, _) = bind_all(&[Bind::parse("127.0.0.1:0")]).unwrap();
        let Listener::Tcp(listener) = &listeners[0] else {
            panic!("not TCP")
        };
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for i in 0..BACKLOG.min(600) {
            let client = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500));
            assert!(client.is_ok(), "connection {i} was not taken");
            clients.push(client);
        }
    }

    #[test]
    fn bind_values_are_tcp_unless_they_say_unix() {
        assert_eq!(Bind::parse("127.0.0.1:0"), Bind::Tcp("127.0.0.1:0".into()));
        assert_eq!(Bind::parse("[::1]:80"), Bind::Tcp("[::1]:80".into()));
        assert_eq!(
            Bind::parse("unix:/run/app.sock"),
            Bind::Unix("/run/app.sock".into())
        );
    }

    #[test]
    fn a_socket_file_gets_the_mode_and_goes_when_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let path = temp_path("mode");
        let (listener, file) = bind_unix(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, SOCKET_MODE);
        assert!(UnixStream::connect(&path).is_ok(), "it accepts");
        drop(listener);
        drop(file);
        assert!(!path.exists(), "removed on drop");
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_or_a_plain_file_is_not() {
        let path = temp_path("stale");
        // A socket file nobody accepts on: what a killed server leaves.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let (live, file) = bind_unix(&path).expect("a stale socket is replaced");
        let again = bind_unix(&path).expect_err("a live socket is not taken over");
        assert_eq!(again.kind(), io::ErrorKind::AddrInUse);
        drop((live, file));

        std::fs::write(&path, b"not a socket").unwrap();
        let refused = bind_unix(&path).expect_err("a plain file is not removed");
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");
        std::fs::remove_file(&path).unwrap();
    }
}
