//! A database that does not answer: frozen (it takes connections and never answers),
//! or reachable only on new connections while the open ones go silent (a pooler or
//! proxy in between whose server went away, a fail-over). TCP sees nothing wrong in
//! either: the bytes are taken, only no answer comes.

use crate::cut_proxy::CutProxy;
use crate::deliveries::{Answer, Delivery, assert_in_time, deliver, worst};
use crate::stack::{Stack, eventually};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// What the deployment gives a readiness probe (deploy/k8s/deployment.yaml).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long readiness may take to notice: a check round (1 s) and its budget (1 s),
/// with room for a loaded machine.
const READINESS_NOTICES: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_holds_neither_readiness_nor_answers() {
    let _turn = crate::my_turn().await;
    let stack = Stack::start("outage-hung", &[]);
    // Connections open and idle in the pool, as in any running deployment.
    let before: Vec<Delivery> = (0..4).map(Delivery::new_user).collect();
    for delivery in &before {
        assert_eq!(stack.deliver(delivery).await.outcome, "created");
    }

    stack.cluster.freeze();
    // Readiness reports the background check (once a second, each waiting at most the
    // budget), so it says `degraded` within a few seconds; every probe answers at once.
    let probes = std::sync::Mutex::new(Vec::new());
    eventually(READINESS_NOTICES, "readiness says degraded", || async {
        let asked = Instant::now();
        let (status, body) = tokio::time::timeout(PROBE_TIMEOUT, stack.readiness())
            .await
            .expect("readiness answers within a probe's timeout");
        probes.lock().unwrap().push(asked.elapsed());
        let degraded = (status, body["status"].as_str()) == (200, Some("degraded"));
        degraded.then_some(()).ok_or(format!("{status} {body}"))
    })
    .await;
    let probes = probes.into_inner().unwrap();
    let slowest = probes.iter().max().copied().unwrap_or_default();
    assert!(slowest < Duration::from_secs(1), "a probe took {slowest:?}");
    let during: Vec<Delivery> = (4..12).map(Delivery::new_user).collect();
    let mut answers: Vec<Answer> = Vec::new();
    for delivery in &during {
        let answer = stack.deliver(delivery).await;
        assert!(delivery.answered_as_stored(&answer), "{answer:?}");
        answers.push(answer);
    }
    stack.cluster.thaw();

    let drained = stack.wait_until_drained(Duration::from_secs(30)).await;
    eprintln!(
        "frozen database: readiness answered in at most {slowest:?}, worst hook answer {:?}, \
         {drained} drained after the thaw",
        worst(&answers)
    );
    assert_in_time(&answers);
    let all: Vec<&Delivery> = before.iter().chain(&during).collect();
    stack.assert_stored_exactly(&all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_gone_silent_are_given_up_and_the_drain_goes_on() {
    let _turn = crate::my_turn().await;
    let cluster = Stack::cluster();
    let proxy = CutProxy::start(cluster.port).await;
    let url = format!("postgres://postgres@127.0.0.1:{}/mirror", proxy.port);
    // The proxy runs on the runtime's workers; blocking this thread holds up only the test.
    let stack = Stack::serve(cluster, url, "outage-cut", &[]);
    // Every pooled connection open and idle, as after any busy minute.
    let before: Vec<Delivery> = (0..160).map(Delivery::new_user).collect();
    let answers = send_all(&stack, &before, 32).await;
    assert!(answers.iter().all(|a| a.outcome == "created"));

    proxy.cut_open_connections();
    let cut = Instant::now();
    let during: Vec<Delivery> = (160..240).map(Delivery::new_user).collect();
    let answers = send_all(&stack, &during, 8).await;
    for (delivery, answer) in during.iter().zip(&answers) {
        assert!(delivery.answered_as_stored(answer), "{answer:?}");
    }
    // A silent connection is given up after 10 s, and the idle ones with it.
    let drained = stack.wait_until_drained(Duration::from_secs(30)).await;
    eprintln!(
        "open connections cut: worst answer {:?}, {} spooled, {drained} drained, \
         spool empty {:.1} s after the cut",
        worst(&answers),
        answers.iter().filter(|a| a.outcome == "spooled").count(),
        cut.elapsed().as_secs_f64()
    );
    assert_in_time(&answers);
    let all: Vec<&Delivery> = before.iter().chain(&during).collect();
    stack.assert_stored_exactly(&all);
    // Nothing stays held by a connection that went silent: each writer is free again.
    eventually(Duration::from_secs(15), "no connection held", || async {
        let metrics = stack.metrics().await;
        let in_use = metrics.sum("supahook_pool_connections", &["state=\"in_use\""]);
        (in_use == 0.0)
            .then_some(())
            .ok_or(format!("{in_use} in use"))
    })
    .await;
}

/// Sends `deliveries`, `in_flight` at a time, and returns the answers in order.
async fn send_all(stack: &Stack, deliveries: &[Delivery], in_flight: usize) -> Vec<Answer> {
    let (client, base) = (&stack.client, stack.serve.url());
    futures_util::stream::iter(deliveries)
        .map(|delivery| deliver(client, &base, delivery))
        .buffered(in_flight)
        .collect()
        .await
}
