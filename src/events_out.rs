//! Lifecycle events carried out of supahook to other systems, each way in a module of
//! its own over the outbox (`storage::OutboxQueries`) with its own delivery state:
//! [`webhooks`] posts them as signed HTTP requests. Another way (a message broker, say)
//! sits beside it, reading the same outbox with its own mark.

pub mod webhooks;
