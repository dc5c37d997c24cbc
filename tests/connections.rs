//! Connection limits, with the real binary and raw sockets: a client that trickles
//! its headers or its body, or keeps a connection idle, is cut off within the
//! configured time; past the connection cap a new client waits while those already
//! served go on; with an admin listener, each port carries only its own paths.

#[path = "support/process.rs"]
mod process;

use process::{Serve, WorkDir, free_port};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "connections-admin-token-0123";
/// What a cut may take beyond its timeout on a loaded test machine.
const SLACK: Duration = Duration::from_millis(1000);

/// `serve` on the embedded database with the given limits; every other timeout long.
fn serve(dir: &WorkDir, limits: &[(&str, &str)]) -> Serve {
    let mut env = vec![
        ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
        ("SUPAHOOK_HEADER_READ_TIMEOUT_MS", "10000"),
        ("SUPAHOOK_REQUEST_READ_TIMEOUT_MS", "10000"),
        ("SUPAHOOK_IDLE_TIMEOUT_MS", "10000"),
        ("RUST_LOG", "info"),
    ];
    env.retain(|(name, _)| !limits.iter().any(|(set, _)| set == name));
    env.extend_from_slice(limits);
    Serve::start(dir.path(), &env)
}

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads one answer (headers and a `Content-Length` body); `None` when the server
/// closed the connection or answered nothing within the read timeout.
fn read_answer(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return Some(text);
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
}

fn get(stream: &mut TcpStream, path: &str) -> Option<String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: supahook\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    read_answer(stream)
}

fn status(answer: &str) -> u16 {
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Whether the server has closed `stream`: a read sees the end, not a timeout.
fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// Fails unless `took` ended within `timeout_ms` (less 100 ms of timer granularity)
/// and `timeout_ms` + [`SLACK`].
fn assert_took_about(took: Duration, timeout_ms: u64, what: &str) {
    let timeout = Duration::from_millis(timeout_ms);
    assert!(
        took + Duration::from_millis(100) >= timeout && took < timeout + SLACK,
        "{what} came after {took:?}, for a timeout of {timeout:?}"
    );
}

/// Sends `bytes` one every 200 ms until the server closes the connection; returns
/// how long after `started` that was.
fn trickle_until_closed(stream: &mut TcpStream, bytes: &[u8], started: Instant) -> Duration {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    for byte in bytes.iter().cycle() {
        if stream.write_all(&[*byte]).is_err() || closed(stream) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never cut off");
    }
    unreachable!()
}

#[test]
fn a_client_trickling_its_headers_is_cut_off_within_the_header_timeout() {
    let dir = WorkDir::new("slow-headers");
    let server = serve(&dir, &[("SUPAHOOK_HEADER_READ_TIMEOUT_MS", "600")]);
    let mut stream = connect(&server.addr);
    let started = Instant::now();

    let held = trickle_until_closed(
        &mut stream,
        b"GET /health/live HTTP/1.1\r\nX-Slow: aaaa",
        started,
    );

    assert_took_about(held, 600, "the cut");
}

#[test]
fn a_client_trickling_its_body_gets_408_within_the_request_timeout() {
    let dir = WorkDir::new("slow-body");
    let server = serve(&dir, &[("SUPAHOOK_REQUEST_READ_TIMEOUT_MS", "800")]);
    let mut stream = connect(&server.addr);
    let started = Instant::now();
    let head = format!(
        "PATCH /v1/users/3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14/profile HTTP/1.1\r\n\
         Host: supahook\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"display_name\": \""
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        while writer.write_all(b"a").is_ok() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(200));
        }
    });

    let answer = read_answer(&mut stream).expect("an answer before the connection closes");
    let answered = started.elapsed();

    assert_eq!(status(&answer), 408, "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert_took_about(answered, 800, "the 408");
    assert!(closed(&mut stream), "the connection stayed open");
    trickle.join().unwrap();
}

#[test]
fn an_idle_kept_alive_connection_is_closed_within_the_idle_timeout() {
    let dir = WorkDir::new("idle");
    // The header timeout is shorter: an idle connection is not cut by it.
    let limits = [
        ("SUPAHOOK_IDLE_TIMEOUT_MS", "900"),
        ("SUPAHOOK_HEADER_READ_TIMEOUT_MS", "300"),
    ];
    let server = serve(&dir, &limits);
    let mut stream = connect(&server.addr);

    let answer = get(&mut stream, "/health/live").expect("an answer");
    let answered = Instant::now();
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(closed(&mut stream), "the connection stayed open");
    let idle = answered.elapsed();

    assert_took_about(idle, 900, "the close");
}

#[test]
fn past_the_connection_limit_a_new_client_waits_until_one_closes() {
    let dir = WorkDir::new("max-connections");
    let server = serve(&dir, &[("SUPAHOOK_MAX_CONNECTIONS", "2")]);
    // The readiness checks' connections are closed by now, or about to be.
    std::thread::sleep(Duration::from_millis(200));
    let mut first = connect(&server.addr);
    let mut second = connect(&server.addr);
    assert_eq!(status(&get(&mut first, "/health/live").unwrap()), 200);
    assert_eq!(status(&get(&mut second, "/health/live").unwrap()), 200);

    let mut third = connect(&server.addr);
    third
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let waiting = get(&mut third, "/health/live");
    assert_eq!(waiting, None, "served past the limit");
    let again = get(&mut first, "/v1/users").expect("the held connection still works");
    assert_eq!(status(&again), 200, "{again}");

    drop(second);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let answer = read_answer(&mut third).expect("served once a connection closed");
    assert_eq!(status(&answer), 200, "{answer}");
}

#[test]
fn with_an_admin_listener_each_port_carries_only_its_own_paths() {
    let dir = WorkDir::new("admin-listener");
    let admin = format!("127.0.0.1:{}", free_port());
    let server = serve(&dir, &[("SUPAHOOK_ADMIN_LISTEN_ADDR", admin.as_str())]);
    let answer = |addr: &str, path: &str| status(&get(&mut connect(addr), path).unwrap());
    let post = |addr: &str, path: &str| {
        let mut stream = connect(addr);
        let request =
            format!("POST {path} HTTP/1.1\r\nHost: supahook\r\nContent-Length: 2\r\n\r\n{{}}");
        stream.write_all(request.as_bytes()).unwrap();
        status(&read_answer(&mut stream).unwrap())
    };

    for path in [
        "/v1/users",
        "/v1/events",
        "/metrics",
        "/docs",
        "/openapi.json",
    ] {
        assert_eq!(answer(&server.addr, path), 404, "public {path}");
        assert_eq!(answer(&admin, path), 200, "admin {path}");
    }
    let root = get(&mut connect(&admin), "/").unwrap();
    assert_eq!(status(&root), 303, "{root}");
    assert!(
        root.to_ascii_lowercase()
            .contains("\r\nlocation: /docs\r\n"),
        "{root}"
    );
    assert_eq!(answer(&server.addr, "/"), 404, "public /");
    for path in ["/health/live", "/health/ready"] {
        assert_eq!(answer(&server.addr, path), 200, "public {path}");
        assert_eq!(answer(&admin, path), 200, "admin {path}");
    }
    for path in [
        "/hooks/before-user-created",
        "/hooks/auth-users",
        "/api/auth/users/sync",
    ] {
        assert_ne!(post(&server.addr, path), 404, "public {path}");
        assert_eq!(post(&admin, path), 404, "admin {path}");
    }
}

#[test]
fn a_request_head_of_200_kib_is_refused_and_an_http2_preface_gets_no_http2() {
    let dir = WorkDir::new("connections-head");
    let serve = serve(&dir, &[]);

    let mut big = connect(&serve.addr);
    let head = format!(
        "GET /health/live HTTP/1.1\r\nHost: supahook\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    // The server may refuse before it has read everything: a cut write is fine.
    let _ = big.write_all(head.as_bytes());
    let refused = read_answer(&mut big);
    let mut h2 = connect(&serve.addr);
    let _ = h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let h2_answer = read_answer(&mut h2);
    let mut next = connect(&serve.addr);

    assert_eq!(refused.as_deref().map(status), Some(431), "{refused:?}");
    assert!(
        h2_answer
            .as_ref()
            .is_none_or(|a| a.starts_with("HTTP/1.1 4")),
        "HTTP/2 is not spoken: {h2_answer:?}"
    );
    let after = get(&mut next, "/health/live").expect("still serving");
    assert_eq!(status(&after), 200, "{after}");
}
