//! Behind a reverse proxy: Unix sockets beside TCP ones, forwarding
//! headers believed only from trusted peers, and a real nginx in front.
//!
//! Loopback has a whole network, 127.0.0.0/8: a client that connects from
//! 127.0.0.2 is told apart from nginx (127.0.0.1), so the tests can see
//! whose address the app was given.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;
use socket2::{Domain, Socket, Type};
use testkit::{ServerProcess, apps_dir, status_of, visible};

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

/// A directory of its own for each test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("stage-06-proxy-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// stage-06 serving `tests/apps/proxied.py` on a free TCP port and on
/// the Unix socket `socket`, with `args` besides.
fn start(socket: &Path, args: &[&str]) -> ServerProcess {
    let bind = format!("unix:{}", socket.display());
    let mut all = vec!["--bind", &bind, "--no-access-log"];
    all.extend(args);
    all.push("proxied:application");
    let server = ServerProcess::start_in_apps(BIN, &all);
    server.wait_for_stderr(&format!("Listening on {bind}"));
    server
}

/// Sends `request` on `stream` and reads until the server closes.
fn exchange_on(mut stream: impl Read + Write, request: &str) -> String {
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert_eq!(status_of(&response), Some(200), "{}", visible(&response));
    String::from_utf8_lossy(&response).into_owned()
}

/// A GET of `target` with `headers`, sent from the local address `from`.
fn get_from(from: &str, to: SocketAddr, target: &str, headers: &str) -> String {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&format!("{from}:0").parse::<SocketAddr>().unwrap().into())
        .unwrap();
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: example.test\r\n{headers}Connection: close\r\n\r\n"
    );
    exchange_on(stream, &request)
}

/// A GET over the Unix socket at `path`.
fn get_unix(path: &Path, target: &str, headers: &str) -> String {
    let stream = UnixStream::connect(path).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: example.test\r\n{headers}Connection: close\r\n\r\n"
    );
    exchange_on(stream, &request)
}

/// The `KEY=value` line the app wrote for `key`.
fn seen<'r>(response: &'r str, key: &str) -> &'r str {
    let prefix = format!("{key}=");
    response
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {response}"))
}

#[test]
fn a_unix_socket_serves_beside_tcp_and_its_file_goes_on_exit() {
    let dir = TempDir::new("unix");
    let socket = dir.0.join("app.sock");
    let mut server = start(&socket, &[]);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660, "owner and group may connect, others not");

    let over_tcp = get_from("127.0.0.1", server.addr, "/tcp", "");
    assert_eq!(seen(&over_tcp, "PATH_INFO"), "/tcp");
    assert_eq!(seen(&over_tcp, "REMOTE_ADDR"), "127.0.0.1");

    // No addresses over a Unix socket: environ says so, as gunicorn's does.
    let over_unix = get_unix(&socket, "/unix?x=1", "");
    assert_eq!(seen(&over_unix, "PATH_INFO"), "/unix");
    assert_eq!(seen(&over_unix, "QUERY_STRING"), "x=1");
    assert_eq!(seen(&over_unix, "REMOTE_ADDR"), "");
    assert_eq!(seen(&over_unix, "REMOTE_PORT"), "<absent>");
    assert_eq!(seen(&over_unix, "SERVER_NAME"), socket.to_str().unwrap());
    assert_eq!(seen(&over_unix, "SERVER_PORT"), "");

    assert_eq!(server.terminate(), Some(0));
    assert!(!socket.exists(), "the socket file is removed on exit");
}

#[test]
fn a_stale_socket_file_is_replaced_and_a_live_one_is_refused() {
    let dir = TempDir::new("stale");
    let socket = dir.0.join("app.sock");
    // What a server killed with SIGKILL leaves behind: a socket file that
    // nobody accepts on.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let server = start(&socket, &[]);
    assert_eq!(seen(&get_unix(&socket, "/", ""), "PATH_INFO"), "/");

    // A second server on the same path must not steal the first one's.
    AssertCommand::new(BIN)
        .args(["--bind", &format!("unix:{}", socket.display())])
        .current_dir(apps_dir())
        .timeout(Duration::from_secs(20))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "another server is accepting on it",
        ));
    assert_eq!(seen(&get_unix(&socket, "/", ""), "PATH_INFO"), "/");
    drop(server);
}

#[test]
fn forwarding_headers_count_only_from_trusted_peers() {
    let dir = TempDir::new("trust");
    let socket = dir.0.join("app.sock");
    let headers = "X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n";

    // Trusted by default: loopback's 127.0.0.1, and any Unix peer.
    let server = start(&socket, &[]);
    for response in [
        get_from("127.0.0.1", server.addr, "/", headers),
        get_unix(&socket, "/", headers),
    ] {
        assert_eq!(seen(&response, "REMOTE_ADDR"), "203.0.113.7", "{response}");
        assert_eq!(seen(&response, "REMOTE_PORT"), "<absent>");
        assert_eq!(seen(&response, "wsgi.url_scheme"), "https");
    }
    // From 127.0.0.2, not on the list: the headers change nothing.
    let spoofed = get_from("127.0.0.2", server.addr, "/", headers);
    assert_eq!(seen(&spoofed, "REMOTE_ADDR"), "127.0.0.2");
    assert_ne!(seen(&spoofed, "REMOTE_PORT"), "<absent>");
    assert_eq!(seen(&spoofed, "wsgi.url_scheme"), "http");
    assert_eq!(
        seen(&spoofed, "HTTP_X_FORWARDED_FOR"),
        "198.51.100.1, 203.0.113.7",
        "the header itself is still there for the app to see"
    );
    drop(server);

    // A list without loopback: 127.0.0.1 is just another client now.
    let strict = start(&socket, &["--forwarded-allow-ips", "10.0.0.0/8"]);
    let response = get_from("127.0.0.1", strict.addr, "/", headers);
    assert_eq!(seen(&response, "REMOTE_ADDR"), "127.0.0.1");
    assert_eq!(seen(&response, "wsgi.url_scheme"), "http");
    drop(strict);

    // `*`: every peer is believed, and every hop too, so the client is
    // the left-most address: the one a client can write itself. `*` is
    // for a proxy that replaces the header rather than appending to it.
    let open = start(&socket, &["--forwarded-allow-ips", "*"]);
    let response = get_from("127.0.0.2", open.addr, "/", headers);
    assert_eq!(seen(&response, "REMOTE_ADDR"), "198.51.100.1");
    assert_eq!(seen(&response, "wsgi.url_scheme"), "https");
}

#[test]
fn a_trust_list_that_does_not_parse_is_refused_with_a_message() {
    AssertCommand::new(BIN)
        .args(["--forwarded-allow-ips", "localhost"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "\"localhost\" is not an IP address",
        ));
}

// ---------------------------------------------------------------------
// A real nginx in front.

/// The nginx binary: `$NGINX` if set (a path that is no file skips the
/// test, which is how to see the skip), else `nginx` on the PATH, or
/// Debian's /usr/sbin/nginx (not on an ordinary user's PATH).
fn nginx_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NGINX") {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nginx"));
    on_path
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|path| path.is_file())
}

/// nginx's configuration: one plain-HTTP server on `port` that proxies
/// `/tcp/` to stage-06's TCP address and `/unix/` to its Unix socket, and
/// `/tls/` as a server block that ended TLS would (the same, with
/// `X-Forwarded-Proto: https`). Everything nginx writes stays in `dir`, so
/// it runs as any user.
fn nginx_config(dir: &Path, port: u16, app_tcp: SocketAddr, app_unix: &Path) -> String {
    let dir = dir.display();
    let app_unix = app_unix.display();
    // ANCHOR: nginx_conf
    let proxy_headers = "
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;";
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream app_tcp {{ server {app_tcp}; keepalive 4; }}
    upstream app_unix {{ server unix:{app_unix}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        location /tcp/ {{
            proxy_pass http://app_tcp;{proxy_headers}
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
        location /unix/ {{
            proxy_pass http://app_unix;{proxy_headers}
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
        location /tls/ {{
            proxy_pass http://app_unix;{proxy_headers}
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"
    )
    // ANCHOR_END: nginx_conf
}

/// nginx in the foreground, killed when dropped.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Nginx {
    fn start(binary: &Path, dir: &Path, app_tcp: SocketAddr, app_unix: &Path) -> Nginx {
        // A free port, as far as anyone can tell: nginx takes it at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, nginx_config(dir, port, app_tcp, app_unix)).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_path_buf(),
        };
        let started = Instant::now();
        while TcpStream::connect(nginx.addr).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited ({status}): {}", nginx.errors());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not listen in time: {}",
                nginx.errors()
            );
            thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn behind_nginx_over_tcp_and_a_unix_socket_the_app_sees_the_client() {
    let Some(binary) = nginx_binary() else {
        eprintln!("skipped: nginx not installed");
        return;
    };
    let dir = TempDir::new("nginx");
    let socket = dir.0.join("app.sock");
    let server = start(&socket, &[]);
    let nginx = Nginx::start(&binary, &dir.0, server.addr, &socket);
    let errors = || format!("nginx: {}\nstage-06: {}", nginx.errors(), server.stderr());

    for via in ["tcp", "unix"] {
        // The client at 127.0.0.2; nginx reaches stage-06 from 127.0.0.1
        // or over the socket, and says who the client was.
        let target = format!("/{via}/caf%C3%A9/a%20b?q=1");
        let response = get_from("127.0.0.2", nginx.addr, &target, "");
        assert_eq!(
            seen(&response, "REMOTE_ADDR"),
            "127.0.0.2",
            "{via}: {}",
            errors()
        );
        assert_eq!(seen(&response, "REMOTE_PORT"), "<absent>", "{via}");
        assert_eq!(seen(&response, "wsgi.url_scheme"), "http", "{via}");
        assert_eq!(
            seen(&response, "PATH_INFO"),
            format!("/{via}/caf\u{c3}\u{a9}/a b")
        );
        assert_eq!(seen(&response, "QUERY_STRING"), "q=1");

        // A client that claims another address through nginx: nginx
        // appends the real one, and that is what the app gets.
        let spoofing = get_from(
            "127.0.0.2",
            nginx.addr,
            &format!("/{via}/"),
            "X-Forwarded-For: 10.6.6.6\r\nX-Forwarded-Proto: https\r\n",
        );
        assert_eq!(
            seen(&spoofing, "REMOTE_ADDR"),
            "127.0.0.2",
            "{via}: {}",
            errors()
        );
        assert_eq!(
            seen(&spoofing, "HTTP_X_FORWARDED_FOR"),
            "10.6.6.6, 127.0.0.2"
        );
        assert_eq!(
            seen(&spoofing, "wsgi.url_scheme"),
            "http",
            "nginx sets the scheme it was reached by"
        );
    }

    // Where TLS ended at nginx, the app builds https:// URLs.
    let tls = get_from("127.0.0.2", nginx.addr, "/tls/x", "");
    assert_eq!(seen(&tls, "wsgi.url_scheme"), "https", "{}", errors());
    assert_eq!(seen(&tls, "REMOTE_ADDR"), "127.0.0.2");

    // The same spoof sent straight to stage-06 from 127.0.0.2, which is
    // not a trusted proxy: nothing changes.
    let direct = get_from(
        "127.0.0.2",
        server.addr,
        "/direct",
        "X-Forwarded-For: 10.6.6.6\r\nX-Forwarded-Proto: https\r\n",
    );
    assert_eq!(seen(&direct, "REMOTE_ADDR"), "127.0.0.2");
    assert_eq!(seen(&direct, "wsgi.url_scheme"), "http");
}
