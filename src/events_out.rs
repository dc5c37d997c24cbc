//! Lifecycle events carried out of supahook to other systems, each way in a module of
//! its own over the outbox (`storage::OutboxQueries`) with its own delivery state:
//! [`webhooks`] posts them as signed HTTP requests to the app's endpoints, with retries
//! per event; [`nats`] publishes them to NATS JetStream in `position` order from a
//! cursor of its own.

pub mod nats;
pub mod webhooks;
