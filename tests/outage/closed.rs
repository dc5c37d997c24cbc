//! `SUPAHOOK_ON_STORE_FAILURE=closed`: no spool; a delivery the database cannot take
//! is refused, so that Supabase fails the sign-in and retries.

use crate::deliveries::{ANSWER_LIMIT, Delivery};
use crate::stack::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_closed_mode_a_stopped_database_means_503_with_retry_after_and_nothing_kept() {
    let _turn = crate::my_turn().await;
    let stack = Stack::start("outage-closed", &[("SUPAHOOK_ON_STORE_FAILURE", "closed")]);
    stack.cluster.stop();

    let deliveries = [Delivery::new_user(0), Delivery::new_user(1)];
    for delivery in &deliveries {
        let answer = stack.deliver(delivery).await;
        assert_eq!(answer.status, 503, "{}: {answer:?}", delivery.hook);
        let wait: Option<u32> = answer.retry_after.as_deref().and_then(|s| s.parse().ok());
        assert!(wait.is_some_and(|s| s > 0), "Retry-After: {answer:?}");
        let error = &answer.body["error"];
        assert_eq!(error["http_code"], 503, "{}", answer.body);
        assert_eq!(error["code"], "database_unavailable", "{}", answer.body);
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(answer.took < ANSWER_LIMIT, "answered in {:?}", answer.took);
    }
    let (status, body) = stack.readiness().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["database"].as_str()),
        (Some("unavailable"), Some("down"))
    );
    assert!(
        !stack.dir.path().join("data/spool.sqlite").exists(),
        "closed mode keeps no spool"
    );

    // Supabase's retries, once the database is back, are what store them.
    stack.cluster.start();
    stack.assert_stored_exactly(&[]);
    for delivery in &deliveries {
        let answer = stack.deliver(delivery).await;
        assert!(delivery.answered_as_stored(&answer), "{answer:?}");
        assert_eq!(answer.outcome, "created");
    }
    stack.assert_stored_exactly(&deliveries.iter().collect::<Vec<_>>());
}
