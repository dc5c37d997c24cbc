//! A database that answers, but slowly: a user's row held locked by another session.

use crate::deliveries::{ANSWER_LIMIT, Delivery};
use crate::stack::{Stack, eventually};
use std::time::{Duration, Instant};

const HOLDER: &str = "row-lock-holder";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_row_locked_for_three_seconds_delays_no_answer_and_loses_no_change() {
    let _turn = crate::my_turn().await;
    let stack = Stack::start("outage-slow", &[]);
    let signed_up = Delivery::new_user(0);
    assert_eq!(stack.deliver(&signed_up).await.outcome, "created");
    let id = signed_up.user.clone();

    let mut holder = stack
        .cluster
        .psql_command("mirror")
        .env("PGAPPNAME", HOLDER)
        .args([
            "-c",
            &format!(
                "BEGIN; SELECT 1 FROM users WHERE id = '{id}' FOR UPDATE; \
                 SELECT pg_sleep(3); COMMIT;"
            ),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run psql");
    eventually(Duration::from_secs(10), "the row is locked", || async {
        let sleeping = stack.cluster.query(
            "mirror",
            &format!(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = '{HOLDER}' AND wait_event = 'PgSleep'"
            ),
        );
        (sleeping == "1").then_some(()).ok_or(sleeping)
    })
    .await;
    let locked = Instant::now();

    // A token counts time in whole seconds: one issued a second after the sign-up is newer.
    let issued = chrono::Utc::now() + chrono::TimeDelta::seconds(1);
    let renamed = Delivery::token_for(&id, "renamed@example.com", issued);
    let answer = stack.deliver(&renamed).await;
    let answered_after = locked.elapsed();
    assert!(renamed.answered_as_stored(&answer), "{answer:?}");
    // The lock outlasts the budget: the delivery waits in the spool, not the answer.
    assert_eq!(answer.outcome, "spooled");
    assert!(answer.took < ANSWER_LIMIT, "answered in {:?}", answer.took);
    assert!(
        answered_after < Duration::from_secs(3),
        "the answer came after the lock was released ({answered_after:?}): it waited for it"
    );

    assert!(holder.wait().unwrap().success(), "the lock holder failed");
    let email = format!("SELECT email FROM users WHERE id = '{id}'");
    eventually(Duration::from_secs(15), "the change is stored", || async {
        let stored = stack.cluster.query("mirror", &email);
        (stored == "renamed@example.com")
            .then_some(())
            .ok_or(stored)
    })
    .await;
    let stored_after = locked.elapsed();
    stack.wait_until_drained(Duration::from_secs(15)).await;
    eprintln!(
        "row locked 3 s: answered {} in {:?}; stored {:.1} s after the row was locked",
        answer.outcome,
        answer.took,
        stored_after.as_secs_f64()
    );
    stack.assert_stored_exactly(&[&signed_up, &renamed]);
}
