//! Tests of the moto harness itself ([`crate::harness::moto`]): a real S3 API server driven by
//! boto3 and curl, nothing of hubctl's S3 store (that is in `lfs_s3.rs` and `lfs_s3_migrate.rs`).

use std::time::Duration;

use crate::harness::*;

#[test]
fn moto_stores_objects_logs_requests_pauses_and_restarts_on_its_port() {
    let mut moto = Moto::start();
    assert!(moto.port > 0 && moto.endpoint.ends_with(&moto.port.to_string()));

    // boto3 puts, lists and reads back; a missing key reads as None.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    moto.put_object("p/ns/name/ab/cd/abcd", &data);
    moto.put_object("p/other", b"x");
    assert_eq!(
        moto.list("p/ns/"),
        vec![("p/ns/name/ab/cd/abcd".to_string(), data.len() as u64)]
    );
    assert_eq!(
        moto.get_object("p/ns/name/ab/cd/abcd").as_deref(),
        Some(&data[..])
    );
    assert_eq!(moto.get_object("p/none"), None);

    // The request log names each request with its status, the bucket creation first.
    let reqs = moto.requests();
    assert_eq!(reqs[0].method, "PUT");
    assert_eq!(reqs[0].target, format!("/{}", moto.bucket));
    assert!(
        reqs.iter().any(|r| r.method == "PUT"
            && r.target
                .starts_with(&format!("/{}/p/ns/name/ab/cd/abcd", moto.bucket))
            && r.status == 200),
        "{reqs:?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "HEAD" || r.method == "GET" && r.status == 404),
        "{reqs:?}"
    );

    // Paused: a plain GET gets no answer; resumed: the object is still there.
    // (Unsigned, it would be refused: moto answers anonymous reads of private objects 403.)
    let url = format!("{}/{}/p/other", moto.endpoint, moto.bucket);
    moto.pause();
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "2",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "000");
    moto.resume();
    assert_eq!(moto.get_object("p/other").as_deref(), Some(&b"x"[..]));

    // Stopped: refused; restarted on the same port with an empty bucket.
    let port = moto.port;
    moto.stop();
    assert!(!wait_for_port(port, Duration::from_millis(300)));
    moto.restart();
    assert_eq!(moto.port, port);
    assert!(moto.list("").is_empty());
    moto.put_object("after", b"y");
    assert_eq!(moto.get_object("after").as_deref(), Some(&b"y"[..]));
}
