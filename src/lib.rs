//! supahook keeps an application's own `users` table in step with Supabase Auth.
//!
//! Data flows one way:
//! [`http`] (poem-openapi) → [`signature`] (Standard Webhooks, pure), or [`jwt`]
//! (the access tokens the frontend presents) → [`events`] (payloads into domain types) →
//! [`mirroring`] (the use-case; [`token_claims`] for the claims of access tokens) → [`storage`] (one transaction, deciding with
//! [`mirror::plan`]). The CLI in [`cli`] enters at the same [`mirroring`] use-case;
//! `serve` runs what [`app`], the composition root, builds from the settings.
//! The README's "Layout" lists the layers and what may import what.

#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod config_sources;
pub mod events;
pub mod events_out;
pub mod http;
pub mod infra;
pub mod jwt;
pub mod mirror;
pub mod mirroring;
pub mod policy;
pub mod server;
pub mod signature;
pub mod spool;
pub mod storage;
pub mod telemetry;
pub mod token_claims;
