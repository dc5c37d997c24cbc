//! supahook keeps an application's own `users` table in step with Supabase Auth.
//!
//! Data flows one way:
//! [`http`] (poem-openapi) → [`signature`] (Standard Webhooks, pure), or [`jwt`]
//! (the access tokens the frontend presents) → [`events`] (payloads into domain types) → [`sync`] (the use-case) →
//! [`storage`] (one transaction, deciding with [`mirror::plan`]).
//! The CLI in [`cli`] enters at the same [`sync`] use-case; `serve` runs what [`app`], the
//! composition root, builds from the settings.

pub mod app;
pub mod cli;
pub mod config;
pub mod error_chain;
pub mod events;
pub mod http;
pub mod jwt;
pub mod local_secrets;
pub mod mirror;
pub mod pg_connect;
pub mod policy;
pub mod private_files;
pub mod reconcile;
pub mod replay;
pub mod server;
pub mod shutdown;
pub mod signature;
pub mod source;
pub mod spool;
pub mod storage;
pub mod sync;
pub mod telemetry;
pub mod tls;
