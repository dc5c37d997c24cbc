//! The shared rows (`storage::rows`) with PostgreSQL's types.

use uuid::Uuid;

/// A user id as PostgreSQL stores it: a `uuid`.
pub type Id = Uuid;
pub type UserRow = crate::storage::rows::UserRow<Id, Vec<String>>;
pub type ProfileRow = crate::storage::rows::ProfileRow<Id>;
pub type DeliveryRow = crate::storage::rows::DeliveryRow<Id>;
