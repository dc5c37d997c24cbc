//! Faults, against the real binary and a PostgreSQL cluster that each test runs
//! itself so that it can stop and start it: a database outage under steady load, a
//! crash with deliveries in the spool, a spool write cut short, a row held locked, a
//! database that never answers, and `closed` mode. Nothing acknowledged is lost or
//! applied twice, and no answer takes longer than the budget allows.
//!
//! The tests take turns: each starts its own cluster and server, and answer times
//! mean something only when they do not share the machine with another test's load.

#[path = "support/cut_proxy.rs"]
mod cut_proxy;
#[path = "support/load.rs"]
mod load;
#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/process.rs"]
mod process;

#[path = "outage/closed.rs"]
mod closed;
#[path = "outage/crash.rs"]
mod crash;
#[path = "outage/deliveries.rs"]
mod deliveries;
#[path = "outage/hung.rs"]
mod hung;
#[path = "outage/slow.rs"]
mod slow;
#[path = "outage/stack.rs"]
mod stack;
#[path = "outage/steady_load.rs"]
mod steady_load;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for this test's turn.
async fn my_turn() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}
