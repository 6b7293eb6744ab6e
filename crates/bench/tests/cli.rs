//! The baselines do what bench/run relies on: the trivial handler answers
//! `ok` on the port it names, the argon2id rate is one JSON object with the
//! parameters of the hash it verified, and bad input is refused with 64.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn the_trivial_handler_answers_ok() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench-trivial"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start bench-trivial");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut line).expect("read its address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("an address")
        .to_owned();
    let mut conn = TcpStream::connect(&addr).expect("connect");
    conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read");
    child.kill().expect("stop");
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
}

#[test]
fn the_argon2_rate_is_json_with_the_hash_parameters() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench-argon2"))
        .args(["--threads", "1", "--seconds", "0.1"])
        .output()
        .expect("run bench-argon2");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("{\"threads\":1,"), "{text}");
    assert!(text.contains("\"params\":\"m=19456,t=2,p=1\""), "{text}");
    assert!(text.contains("\"per_second\":"), "{text}");
}

#[test]
fn a_hash_that_the_password_does_not_verify_is_refused() {
    // A valid PHC string of other parameters (m=4096, t=1), whose password is
    // not the one given: nothing to measure.
    let hash = "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$QWxhZGRpbjpvcGVuIHNlc2FtZQ";
    let out = Command::new(env!("CARGO_BIN_EXE_bench-argon2"))
        .args(["--seconds", "0.1", "--hash", hash, "--password", "wrong"])
        .output()
        .expect("run bench-argon2");
    assert_eq!(out.status.code(), Some(64));
    let bad = Command::new(env!("CARGO_BIN_EXE_bench-argon2"))
        .args(["--threads", "zero"])
        .output()
        .expect("run bench-argon2");
    assert_eq!(bad.status.code(), Some(64));
}
