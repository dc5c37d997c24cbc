//! Parsing each verified hook payload (the fixtures in tests/fixtures) into the
//! delivery the mirror applies: JSON syntax, shape and the domain mapping.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::hint::black_box;
use supahook::events::{
    self, AfterUserCreatedInput, AuthUsersChange, BeforeUserCreatedInput, CustomAccessTokenInput,
    Delivery, ParseError,
};
use supahook::signature::VerifiedBody;

const WEBHOOK_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

/// Parses `bytes` as `T` and maps it to its delivery, as the endpoint does.
fn delivery_of<T: DeserializeOwned>(
    bytes: &[u8],
    delivery: impl Fn(&T, &str) -> Result<Delivery, ParseError>,
) -> Result<Delivery, ParseError> {
    let verified = VerifiedBody {
        webhook_id: Cow::Borrowed(WEBHOOK_ID),
        bytes,
    };
    let input = events::parse::<T>(&verified)?;
    delivery(&input, &verified.webhook_id)
}

fn bench_parser<T: DeserializeOwned>(
    c: &mut Criterion,
    name: &str,
    bytes: &[u8],
    delivery: impl Fn(&T, &str) -> Result<Delivery, ParseError> + Copy,
) {
    delivery_of::<T>(bytes, delivery).expect("the fixture parses");
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(name, |b| {
        b.iter(|| delivery_of::<T>(black_box(bytes), delivery));
    });
    group.finish();
}

fn parsers(c: &mut Criterion) {
    bench_parser::<CustomAccessTokenInput>(
        c,
        "custom-access-token",
        include_bytes!("../tests/fixtures/custom-access-token.json"),
        CustomAccessTokenInput::delivery,
    );
    bench_parser::<BeforeUserCreatedInput>(
        c,
        "before-user-created",
        include_bytes!("../tests/fixtures/before-user-created.json"),
        BeforeUserCreatedInput::delivery,
    );
    bench_parser::<AfterUserCreatedInput>(
        c,
        "after-user-created",
        include_bytes!("../tests/fixtures/after-user-created.json"),
        AfterUserCreatedInput::delivery,
    );
    bench_parser::<AuthUsersChange>(
        c,
        "auth-users",
        include_bytes!("../tests/fixtures/db-update-auth-users.json"),
        AuthUsersChange::delivery,
    );
}

criterion_group!(benches, parsers);
criterion_main!(benches);
