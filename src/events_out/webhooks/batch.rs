//! What a batch of new events comes to, decided without I/O: which events go out now
//! (one chain per user, in the order they happened, so that a user's events never
//! overtake each other), and, once they were tried, which are left to the retry queue
//! with what schedule and whether the endpoint is to be disabled. The cursor moves
//! past the whole batch either way: whatever was not delivered waits in the queue.

use crate::storage::{PushQueued, PushStep, RecordedEvent};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// A batch split for sending.
#[derive(Debug)]
pub struct Plan {
    /// One chain per user, in order: each is sent one event after the other and stops
    /// at its first event not delivered. Chains go out side by side.
    pub chains: Vec<Vec<RecordedEvent>>,
    /// Events of users with an event already waiting for the endpoint: they are not
    /// sent now but queued behind it.
    pub waiting: Vec<RecordedEvent>,
}

/// Splits `events` (each with whether its user has an event waiting) for sending.
pub fn plan(events: Vec<(RecordedEvent, bool)>) -> Plan {
    let mut chains: Vec<Vec<RecordedEvent>> = Vec::new();
    let mut chain_of: HashMap<Uuid, usize> = HashMap::new();
    let mut waiting = Vec::new();
    for (event, held) in events {
        if held {
            waiting.push(event);
            continue;
        }
        match chain_of.get(&event.user_id) {
            Some(&chain) => chains[chain].push(event),
            None => {
                chain_of.insert(event.user_id, chains.len());
                chains.push(vec![event]);
            }
        }
    }
    Plan { chains, waiting }
}

/// What the retry queue receives from a tried batch, recorded at `at`: a delivery for
/// every event not delivered (`None` for an event not sent), and the reason to disable
/// the endpoint if one of its answers asked for it.
pub fn settle(
    sent: &[(&RecordedEvent, Option<&PushStep>)],
    at: DateTime<Utc>,
) -> (Vec<PushQueued>, Option<String>) {
    let mut disable = None;
    let queued = sent
        .iter()
        .filter_map(|(event, step)| {
            let (attempts, next_attempt_at, dead_at) = match step {
                None => (0, at, None),
                Some(PushStep::Delivered) => return None,
                Some(PushStep::RetryAt(next)) => (1, *next, None),
                Some(PushStep::Dead) => (1, at, Some(at)),
                Some(PushStep::Disable(reason)) => {
                    disable.get_or_insert_with(|| reason.clone());
                    (1, at, None)
                }
            };
            Some(PushQueued {
                position: event.position,
                user_id: event.user_id,
                attempts,
                next_attempt_at,
                dead_at,
            })
        })
        .collect();
    (queued, disable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(position: i64, user: u128) -> RecordedEvent {
        RecordedEvent {
            position,
            id: Uuid::from_u128(position as u128),
            kind: "user.created".to_owned(),
            user_id: Uuid::from_u128(user),
            sequence: 1,
            recorded_at: Utc.timestamp_opt(0, 0).unwrap(),
            data: serde_json::json!({}),
        }
    }

    fn positions(events: &[RecordedEvent]) -> Vec<i64> {
        events.iter().map(|e| e.position).collect()
    }

    #[test]
    fn each_users_events_form_one_chain_in_order_and_waiting_users_are_held() {
        let plan = plan(vec![
            (event(1, 7), false),
            (event(2, 8), false),
            (event(3, 7), false),
            (event(4, 9), true),
            (event(5, 9), true),
            (event(6, 8), false),
        ]);
        let chains: Vec<Vec<i64>> = plan.chains.iter().map(|c| positions(c)).collect();
        assert_eq!(chains, vec![vec![1, 3], vec![2, 6]]);
        assert_eq!(positions(&plan.waiting), vec![4, 5]);
    }

    #[test]
    fn delivered_events_leave_nothing_and_the_rest_is_queued_with_its_schedule() {
        let at = Utc.timestamp_opt(1_000, 0).unwrap();
        let later = Utc.timestamp_opt(1_060, 0).unwrap();
        let events: Vec<RecordedEvent> = (1..=5).map(|p| event(p, p as u128)).collect();
        let retry = PushStep::RetryAt(later);
        let gone = PushStep::Disable("answered 410".to_owned());
        let sent = [
            (&events[0], Some(&PushStep::Delivered)),
            (&events[1], Some(&retry)),
            (&events[2], Some(&PushStep::Dead)),
            (&events[3], Some(&gone)),
            (&events[4], None),
        ];
        let (queued, disable) = settle(&sent, at);
        let queue = |position, attempts, next_attempt_at, dead_at| PushQueued {
            position,
            user_id: Uuid::from_u128(position as u128),
            attempts,
            next_attempt_at,
            dead_at,
        };
        assert_eq!(
            queued,
            vec![
                queue(2, 1, later, None),
                queue(3, 1, at, Some(at)),
                queue(4, 1, at, None),
                queue(5, 0, at, None),
            ]
        );
        assert_eq!(disable.as_deref(), Some("answered 410"));
    }

    #[test]
    fn a_batch_all_delivered_queues_nothing() {
        let at = Utc.timestamp_opt(1_000, 0).unwrap();
        let events = [event(1, 1), event(2, 2)];
        let sent: Vec<_> = events
            .iter()
            .map(|e| (e, Some(&PushStep::Delivered)))
            .collect();
        assert_eq!(settle(&sent, at), (Vec::new(), None));
    }
}
