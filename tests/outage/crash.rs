//! supahook killed with SIGKILL while deliveries wait in its spool, with the spool
//! whole and with its last write cut short.

use crate::deliveries::{Answer, Delivery, assert_in_time, worst};
use crate::stack::Stack;
use futures_util::StreamExt;
use std::time::Duration;

/// supahook killed with SIGKILL after `count` deliveries of new users went to its
/// spool while PostgreSQL was stopped; PostgreSQL is still stopped. With
/// `one_at_a_time` each delivery waits for the one before, so that each is a commit
/// of its own; else 8 are sent at once.
async fn killed_with_a_spool(
    label: &str,
    count: usize,
    one_at_a_time: bool,
) -> (Stack, Vec<Delivery>, Vec<Answer>) {
    let mut stack = Stack::start(label, &[]);
    stack.cluster.stop();
    let deliveries: Vec<Delivery> = (0..count).map(Delivery::new_user).collect();
    let in_flight = if one_at_a_time { 1 } else { 8 };
    let answers: Vec<Answer> = futures_util::stream::iter(&deliveries)
        .map(|delivery| stack.deliver(delivery))
        .buffered(in_flight)
        .collect()
        .await;
    assert_spooled(&deliveries, &answers);
    let depth = stack.metrics().await.sum("supahook_spool_depth", &[]);
    assert_eq!(depth, count as f64);
    stack.kill();
    (stack, deliveries, answers)
}

fn assert_spooled(deliveries: &[Delivery], answers: &[Answer]) {
    for (delivery, answer) in deliveries.iter().zip(answers) {
        assert!(
            delivery.answered_as_stored(answer) && answer.outcome == "spooled",
            "{} answered {} {} {}",
            delivery.hook,
            answer.status,
            answer.outcome,
            answer.body
        );
    }
    assert_in_time(answers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_deliveries_survive_a_kill_and_reach_the_database_once() {
    let _turn = crate::my_turn().await;
    let (mut stack, deliveries, answers) = killed_with_a_spool("outage-kill", 40, false).await;
    stack.cluster.start();
    stack.restart();
    assert!(
        stack.serve.logs().contains("waiting=40"),
        "the restart reports what the spool holds:\n{}",
        stack.serve.logs()
    );
    let drained = stack.wait_until_drained(Duration::from_secs(30)).await;
    eprintln!(
        "kill -9 with 40 spooled: worst answer {:?}, {drained} drained after the restart",
        worst(&answers)
    );
    assert_eq!(drained, 40.0);
    let all: Vec<&Delivery> = deliveries.iter().collect();
    stack.assert_stored_exactly(&all);

    // Supabase retrying some of them: the same metadata.uuid under a new webhook-id.
    for delivery in &deliveries[..6] {
        let answer = stack.deliver(delivery).await;
        assert!(delivery.answered_as_stored(&answer), "{answer:?}");
        assert_eq!(answer.outcome, "duplicate", "{}", delivery.hook);
    }
    stack.assert_stored_exactly(&all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_write_cut_short_by_a_crash_loses_that_write_alone() {
    let _turn = crate::my_turn().await;
    let (mut stack, deliveries, answers) = killed_with_a_spool("outage-torn", 12, true).await;
    // A write cut short: the last commit (the last delivery alone) loses its end.
    let wal = stack.spool_wal();
    let length = std::fs::metadata(&wal).expect("the spool's log").len();
    let cut = 7;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(length - cut)
        .unwrap();
    stack.cluster.start();
    stack.restart();
    let logs = stack.serve.logs();
    assert!(
        logs.contains("the spool's last write was cut short on disk"),
        "the torn write is reported:\n{logs}"
    );
    let drained = stack.wait_until_drained(Duration::from_secs(30)).await;
    eprintln!(
        "torn spool: {cut} bytes cut from a {length}-byte log; worst answer {:?}, \
         {drained} of {} drained",
        worst(&answers),
        deliveries.len()
    );
    let kept: Vec<&Delivery> = deliveries[..deliveries.len() - 1].iter().collect();
    stack.assert_stored_exactly(&kept);

    let (status, body) = stack.readiness().await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
    let after = Delivery::new_user(100);
    let answer = stack.deliver(&after).await;
    assert!(after.answered_as_stored(&answer), "{answer:?}");
    assert_eq!(answer.outcome, "created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_restarted_during_the_outage_answers_and_drains_once_the_database_is_back() {
    let _turn = crate::my_turn().await;
    let (mut stack, mut deliveries, _) = killed_with_a_spool("outage-restart", 10, false).await;

    // PostgreSQL is still down: the new process cannot migrate, and serves anyway.
    stack.restart();
    let (status, body) = stack.readiness().await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("degraded")),
        "{body}"
    );
    let later: Vec<Delivery> = (10..15).map(Delivery::new_user).collect();
    let mut answers = Vec::new();
    for delivery in &later {
        answers.push(stack.deliver(delivery).await);
    }
    assert_spooled(&later, &answers);
    stack.cluster.start();
    let drained = stack.wait_until_drained(Duration::from_secs(30)).await;

    assert_eq!(drained, 15.0);
    assert!(
        stack
            .serve
            .logs()
            .contains("migrations applied, the spool drains now"),
        "{}",
        stack.serve.logs()
    );
    deliveries.extend(later);
    let all: Vec<&Delivery> = deliveries.iter().collect();
    stack.assert_stored_exactly(&all);
}
