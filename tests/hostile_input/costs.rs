//! What a request costs the real `supahook serve` process when it comes without the
//! secret it needs: the CPU of a signature header of thousands of entries over a large
//! body, and the memory of huge bodies under a wrong token; and 413 for a body past the
//! limit, announced or chunked. The client streams bodies from a generator and
//! tolerates the server closing the connection before the upload ends.

use super::requests::{CUSTOM_ACCESS_TOKEN, EDIT_LIMIT, MIB, SYNC, token, token_claims};
use crate::process::{Serve, WorkDir, http_status};
use crate::support::tokens::JWT_SECRET;
use crate::support::{ADMIN_TOKEN, SECRET, TestDb, now};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use uuid::Uuid;

/// The pieces of a body a client sends, 64 KiB at a time, never held whole.
const PIECE: usize = 64 * 1024;

/// `supahook serve` on a fresh database with every credential configured.
struct Server {
    serve: Serve,
    _dir: WorkDir,
    _db: TestDb,
}

impl Server {
    async fn start() -> Self {
        let db = TestDb::create().await;
        let dir = WorkDir::new("hostile-input");
        let serve = Serve::start(
            dir.path(),
            &[
                ("DATABASE_URL", &db.url),
                ("SUPAHOOK_HOOK_SECRETS", SECRET),
                ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
                ("SUPAHOOK_JWT_SECRET", JWT_SECRET),
            ],
        );
        Self {
            serve,
            _dir: dir,
            _db: db,
        }
    }

    /// The CPU time the process has used, in clock ticks (`getconf CLK_TCK`, 100 a second).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.serve.pid())).unwrap();
        // Fields after the command name, which may hold spaces: utime and stime are
        // the 14th and 15th fields of the line, the 12th and 13th after `) `.
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// The peak resident memory of the process so far, in KiB.
    fn peak_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.serve.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn assert_alive(&self) {
        let live = http_status(&self.serve.addr, "/health/live");
        assert_eq!(live, Some(200), "the server answers after the request");
    }
}

/// What came back: the status and body, or nothing because the server cut the connection.
#[derive(Debug)]
enum Reply {
    Answer(u16, Value),
    Cut,
}

impl Reply {
    fn status(&self) -> Option<u16> {
        match self {
            Self::Answer(status, _) => Some(*status),
            Self::Cut => None,
        }
    }
}

/// Sends `head` (the request line and headers, without the blank line) and then `body`
/// piece by piece, each piece as a chunk when `chunked`, while reading the answer.
fn send(
    server: &Server,
    head: &str,
    body: impl Iterator<Item = Vec<u8>> + Send + 'static,
    chunked: bool,
) -> Reply {
    let mut stream = TcpStream::connect(&server.serve.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let head = format!("{head}Connection: close\r\n\r\n");
    // The server may answer and close before the body is sent: the writer stops at the
    // first failed write, and the answer is read meanwhile.
    let upload = std::thread::spawn(move || {
        writer.write_all(head.as_bytes())?;
        for piece in body {
            if chunked {
                writer.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                writer.write_all(&piece)?;
                writer.write_all(b"\r\n")?;
            } else {
                writer.write_all(&piece)?;
            }
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n")?;
        }
        std::io::Result::Ok(())
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let _ = upload.join().unwrap();
    let text = String::from_utf8_lossy(&answer);
    let Some(status) = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()) else {
        return Reply::Cut;
    };
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Reply::Answer(status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// `size` bytes of body in pieces, made as they are sent.
fn pieces(size: usize) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    (0..size.div_ceil(PIECE)).map(move |n| vec![b' '; PIECE.min(size - n * PIECE)])
}

/// The head of a JSON request to `path` with `headers` and, unless chunked, the length.
fn head(method: &str, path: &str, headers: &[String], size: usize, chunked: bool) -> String {
    let length = if chunked {
        "Transfer-Encoding: chunked\r\n".to_owned()
    } else {
        format!("Content-Length: {size}\r\n")
    };
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: supahook\r\nContent-Type: application/json\r\n{length}{extra}"
    )
}

fn profile_path() -> String {
    format!("/v1/users/{}/profile", Uuid::new_v4())
}

#[tokio::test(flavor = "multi_thread")]
async fn four_thousand_signatures_over_a_mebibyte_cost_under_50_ms_of_cpu() {
    let server = Server::start().await;
    let entries: Vec<String> = (0..4000u32)
        .map(|n| format!("v1,{}", B64.encode([n.to_le_bytes(); 8].concat())))
        .collect();
    let headers = [
        format!("webhook-id: msg_{}", Uuid::new_v4().simple()),
        format!("webhook-timestamp: {}", now()),
        format!("webhook-signature: {}", entries.join(" ")),
    ];
    let head = head("POST", CUSTOM_ACCESS_TOKEN, &headers, MIB, false);
    let before = server.cpu_ticks();

    let reply = send(&server, &head, pieces(MIB), false);

    let spent_ms = (server.cpu_ticks() - before) * 10;
    let status = reply
        .status()
        .expect("an answer before the connection closed");
    assert!((400..500).contains(&status), "{reply:?}");
    assert!(spent_ms < 50, "the request cost {spent_ms} ms of CPU");
    server.assert_alive();
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_four_mebibytes_under_a_wrong_token_are_refused_without_being_held() {
    let server = Server::start().await;
    let before = server.peak_kib();
    let huge = 64 * MIB;

    let edit = send(
        &server,
        &head(
            "PATCH",
            &profile_path(),
            &["Authorization: Bearer anything".into()],
            huge,
            false,
        ),
        pieces(huge),
        false,
    );
    let sync = send(
        &server,
        &head(
            "POST",
            SYNC,
            &["Authorization: Bearer not.a.token".into()],
            huge,
            false,
        ),
        pieces(huge),
        false,
    );

    for (name, reply) in [("edit", &edit), ("sync", &sync)] {
        assert!(
            matches!(reply.status(), Some(401) | None),
            "{name}: refused, or cut off mid-upload: {reply:?}"
        );
    }
    server.assert_alive();
    let grown_kib = server.peak_kib() - before;
    assert!(grown_kib < 16 * 1024, "peak memory grew by {grown_kib} KiB");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_past_64_kib_under_a_valid_token_is_413_announced_or_chunked() {
    let server = Server::start().await;
    let size = EDIT_LIMIT + 1024;
    let admin = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let user = format!(
        "Authorization: Bearer {}",
        token(&token_claims(&Uuid::new_v4().to_string()))
    );

    for chunked in [false, true] {
        for (method, path, authorization) in [
            ("PATCH", profile_path(), &admin),
            ("POST", SYNC.to_owned(), &user),
        ] {
            let head = head(
                method,
                &path,
                std::slice::from_ref(authorization),
                size,
                chunked,
            );

            let reply = send(&server, &head, pieces(size), chunked);

            let Reply::Answer(status, body) = &reply else {
                panic!("{method} {path} (chunked: {chunked}): no answer");
            };
            assert_eq!(*status, 413, "{method} {path} (chunked: {chunked}): {body}");
            assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
            assert_eq!(
                body["error"]["message"], "the body is larger than 64 KiB",
                "{body}"
            );
        }
    }
    server.assert_alive();
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_held_at_once_are_bounded_and_past_the_bound_a_request_gets_503() {
    let server = Server::start().await;
    let held_head = |_| {
        let headers = [
            format!("webhook-id: msg_{}", Uuid::new_v4().simple()),
            format!("webhook-timestamp: {}", now()),
            format!("webhook-signature: v1,{}", B64.encode([7u8; 32])),
        ];
        head("POST", CUSTOM_ACCESS_TOKEN, &headers, MIB, false)
    };
    // Each announces the largest hook body, passes every check that needs no body, and
    // then sends nothing: the server reserves a mebibyte for each while it waits.
    let holders: Vec<TcpStream> = (0..128)
        .map(|n| {
            let mut stream = TcpStream::connect(&server.serve.addr).unwrap();
            stream
                .write_all(format!("{}\r\n", held_head(n)).as_bytes())
                .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));

    let past = send(&server, &held_head(128), pieces(MIB), false);
    drop(holders);
    std::thread::sleep(Duration::from_millis(500));
    let after = send(&server, &held_head(129), pieces(MIB), false);

    assert_eq!(past.status(), Some(503), "{past:?}");
    let Reply::Answer(_, body) = &past else {
        unreachable!()
    };
    assert_eq!(body["error"]["code"], "busy", "{body}");
    assert_eq!(
        after.status(),
        Some(401),
        "read and checked once bodies are released: {after:?}"
    );
    server.assert_alive();
}
