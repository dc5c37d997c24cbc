//! Lifecycle events sent out of supahook to other systems, each following the outbox
//! in `position` order from a cursor of its own: [`nats`] publishes them to NATS
//! JetStream.

pub mod nats;
