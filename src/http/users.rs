//! The read API over mirrored users: one user, or every user page by page.

use super::admin::AdminToken;
use super::user_view::UserView;
use super::{ApiTags, AppState, ErrorResponse};
use crate::storage::{Queries, UserFilter};
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

/// The read API.
pub struct UsersApi;

/// The page size when `limit` is not given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// One page of users.
#[derive(Object, Debug)]
#[oai(example)]
pub struct UserPage {
    /// Users in id order, each with its profile.
    pub users: Vec<UserView>,
    /// Pass it as `cursor` to get the next page (the id of this page's last user);
    /// `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<Uuid>,
}

/// Answers to a user lookup.
#[derive(ApiResponse)]
pub enum GetUserResponse {
    /// The user and its profile.
    #[oai(status = 200)]
    Ok(Json<UserView>),
}

/// Answers to a user listing.
#[derive(ApiResponse)]
pub enum ListUsersResponse {
    /// One page of users.
    #[oai(status = 200)]
    Ok(Json<UserPage>),
}

#[OpenApi(tag = "ApiTags::Users")]
impl UsersApi {
    /// Get a mirrored user
    ///
    /// The user with this Supabase id and its profile. 404 when supahook has never
    /// mirrored it; deleted users are returned with `deleted_at` set.
    #[oai(path = "/v1/users/:id", method = "get", operation_id = "getUser")]
    async fn get_user(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
        /// The Supabase user id.
        id: Path<Uuid>,
    ) -> Result<GetUserResponse, ErrorResponse> {
        token.check(&state)?;
        match state.storage.user_details(id.0).await? {
            Some(user) => Ok(GetUserResponse::Ok(Json(user.into()))),
            None => Err(ErrorResponse::not_found(format!(
                "no user with id {}",
                id.0
            ))),
        }
    }

    /// List mirrored users
    ///
    /// Users in id order, page by page, without provisional users unless
    /// `provisional=true`. Pass each page's `next_cursor` as `cursor` to get the next one. Paging by id returns every user that exists while you page
    /// exactly once, however many users are added meanwhile (users added meanwhile
    /// appear when their id sorts after the cursor).
    #[oai(path = "/v1/users", method = "get", operation_id = "listUsers")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each query parameter is an argument, so that the spec documents it"
    )]
    async fn list_users(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
        /// Users per page, 1 to 500 (100 when absent).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page; absent for the first page.
        cursor: Query<Option<Uuid>>,
        /// Only the user with this email, compared without regard to case.
        #[oai(validator(pattern = r"^[^\x00]*$"))]
        email: Query<Option<String>>,
        /// `true`: only users deleted in Supabase; `false`: only users not deleted.
        deleted: Query<Option<bool>>,
        /// Only users whose mirror row changed at or after this time (RFC 3339).
        updated_since: Query<Option<DateTime<Utc>>>,
        /// `true`: list provisional users too (each with `provisional: true`), the
        /// users only before-user-created has spoken of. Absent or `false`: only
        /// users Supabase confirmed.
        provisional: Query<Option<bool>>,
    ) -> Result<ListUsersResponse, ErrorResponse> {
        token.check(&state)?;
        let limit = limit.0.unwrap_or(DEFAULT_PAGE_SIZE) as usize;
        let filter = UserFilter {
            email: email.0,
            deleted: deleted.0,
            updated_since: updated_since.0,
            provisional: provisional.0.unwrap_or(false),
        };
        let mut users = state
            .storage
            .list_users(&filter, cursor.0, limit + 1)
            .await?;
        let next_cursor = if users.len() > limit {
            users.truncate(limit);
            users.last().map(|u| u.user.id)
        } else {
            None
        };
        Ok(ListUsersResponse::Ok(Json(UserPage {
            users: users.into_iter().map(Into::into).collect(),
            next_cursor,
        })))
    }
}
