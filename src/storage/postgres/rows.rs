//! The shared rows (`storage::rows`) with PostgreSQL's types.

use uuid::Uuid;

pub type UserRow = crate::storage::rows::UserRow<Uuid, Vec<String>>;
pub type ProfileRow = crate::storage::rows::ProfileRow<Uuid>;
pub type DeliveryRow = crate::storage::rows::DeliveryRow<Uuid>;
