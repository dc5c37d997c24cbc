//! PostgreSQL down for ten seconds while new users keep signing up. It crashes
//! (every process quits at once), the harshest way down: a commit may be made and
//! its acknowledgement lost, so the delivery is spooled as well, and must still be
//! applied once.

use crate::deliveries::{Answer, Delivery, assert_in_time, deliver, worst};
use crate::stack::{Stack, eventually};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SENDERS: usize = 6;
/// Each sender's pause between deliveries: a steady load, not a flood.
const PACE: Duration = Duration::from_millis(25);
const OUTAGE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_database_outage_under_load_loses_nothing_and_delays_no_answer() {
    let _turn = crate::my_turn().await;
    let stack = Stack::start("outage-load", &[]);
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (client, base) = (stack.client.clone(), stack.serve.url());
            let (next, stop) = (next.clone(), stop.clone());
            tokio::spawn(async move {
                let mut sent = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let delivery = Delivery::new_user(next.fetch_add(1, Ordering::Relaxed));
                    let answer = deliver(&client, &base, &delivery).await;
                    sent.push((delivery, answer));
                    tokio::time::sleep(PACE).await;
                }
                sent
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    // The senders run on the runtime's workers; blocking this thread holds up only the test.
    stack.cluster.crash();
    let stopped = Instant::now();
    let probes = watch_the_outage(&stack, stopped).await;
    let metrics = stack.metrics().await;
    let oldest = metrics.sum("supahook_spool_oldest_age_seconds", &[]);
    assert!(
        oldest > 5.0,
        "the oldest spooled delivery is {oldest} s old"
    );
    let depth_at_end = metrics.sum("supahook_spool_depth", &[]);
    stack.cluster.start();
    let restarted = Instant::now();

    // Drained while the load goes on, without restarting supahook.
    stack.wait_until_drained(Duration::from_secs(30)).await;
    let drained_in = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for sender in senders {
        sent.extend(sender.await.unwrap());
    }
    let drained = stack.wait_until_drained(Duration::from_secs(10)).await;

    let answers: Vec<Answer> = sent.iter().map(|(_, a)| a.clone()).collect();
    let not_as_stored: Vec<_> = sent
        .iter()
        .filter(|(d, a)| !d.answered_as_stored(a))
        .map(|(d, a)| format!("{} {} {} {}", d.hook, a.status, a.outcome, a.body))
        .take(5)
        .collect();
    assert!(
        not_as_stored.is_empty(),
        "answered otherwise: {not_as_stored:?}"
    );
    let spooled = answers.iter().filter(|a| a.outcome == "spooled").count();
    eprintln!(
        "outage under load: {} deliveries from {SENDERS} senders, worst answer {:?}, \
         {spooled} spooled ({depth_at_end} waiting when PostgreSQL came back), \
         {drained} drained, spool empty {:.1} s after PostgreSQL started; \
         {probes} readiness probes in the outage, all 200 degraded",
        sent.len(),
        worst(&answers),
        drained_in.as_secs_f64()
    );
    assert_in_time(&answers);
    assert!(spooled > 0, "nothing was spooled: the outage was not seen");
    assert_eq!(
        drained, spooled as f64,
        "every spooled delivery drains once"
    );
    let acknowledged: Vec<&Delivery> = sent.iter().map(|(d, _)| d).collect();
    stack.assert_stored_exactly(&acknowledged);
}

/// Until the outage has lasted [`OUTAGE`]: readiness answers 200 `degraded` with
/// deliveries waiting, so traffic stays on this instance, and the metrics say the
/// database is down. Returns how many readiness probes were made.
async fn watch_the_outage(stack: &Stack, stopped: Instant) -> usize {
    let spooling = || async {
        let (status, body) = stack.readiness().await;
        let spooling = status == 200
            && body["status"] == "degraded"
            && body["database"] == "down"
            && body["spool_depth"].as_u64() > Some(0);
        spooling.then_some(()).ok_or(format!("{status} {body}"))
    };
    eventually(Duration::from_secs(5), "readiness degraded", spooling).await;
    let metrics = stack.metrics().await;
    let (up, depth) = (
        metrics.sum("supahook_database_up", &[]),
        metrics.sum("supahook_spool_depth", &[]),
    );
    assert!(up == 0.0 && depth > 0.0, "{}", metrics.0);
    let mut probes = 1;
    while stopped.elapsed() < OUTAGE {
        tokio::time::sleep(Duration::from_millis(500)).await;
        spooling().await.expect("readiness all through the outage");
        probes += 1;
    }
    probes
}
