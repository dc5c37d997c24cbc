//! Standard Webhooks verification of one delivery: the HMAC over `id.timestamp.body`
//! and the constant-time comparison, for typical body sizes, with one signature in
//! the header and with two (a secret being rotated, the matching one last).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use supahook::signature::{SignedHeaders, SigningKey, Verifier};

const CURRENT: &str = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const RETIRED: &str = "v1,whsec_dGhlIHJldGlyZWQgc2VjcmV0IG9mIGEgcm90YXRpb24=";
const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const TIMESTAMP: i64 = 1_768_475_700;

/// A JSON body of exactly `size` bytes: the custom-access-token fixture, padded.
fn body_of(size: usize) -> Vec<u8> {
    let fixture = include_str!("../tests/fixtures/custom-access-token.json");
    let mut value: serde_json::Value = serde_json::from_str(fixture).expect("the fixture is JSON");
    value["padding"] = serde_json::Value::String(String::new());
    let base = serde_json::to_vec(&value).expect("JSON serialises");
    assert!(
        base.len() <= size,
        "the fixture is larger than {size} bytes"
    );
    value["padding"] = serde_json::Value::String("x".repeat(size - base.len()));
    let body = serde_json::to_vec(&value).expect("JSON serialises");
    assert_eq!(body.len(), size);
    body
}

fn verification(c: &mut Criterion) {
    let current = SigningKey::parse(CURRENT).expect("a valid secret");
    let retired = SigningKey::parse(RETIRED).expect("a valid secret");
    let verifier = Verifier::new(vec![current.clone()]);
    let mut group = c.benchmark_group("verify");
    for size in [1024, 10 * 1024] {
        let body = body_of(size);
        let signature = current.sign(ID, TIMESTAMP, &body);
        let single = signature.clone();
        let two = format!("{}, {signature}", retired.sign(ID, TIMESTAMP, &body));
        group.throughput(Throughput::Bytes(size as u64));
        for (name, header) in [("one signature", &single), ("two signatures", &two)] {
            let timestamp = TIMESTAMP.to_string();
            let headers = SignedHeaders {
                id: Some(ID),
                timestamp: Some(&timestamp),
                signature: Some(header),
            };
            verifier
                .verify(headers, &body, TIMESTAMP)
                .expect("the signature matches");
            group.bench_with_input(
                BenchmarkId::new(name, format!("{} KiB", size / 1024)),
                &body,
                |b, body| {
                    b.iter(|| verifier.verify(black_box(headers), black_box(body), TIMESTAMP));
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
