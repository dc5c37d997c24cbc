//! The Users page: a search by id or email, and one user with its profile and the
//! deliveries about it.

use super::views::{Chrome, UserPage, UserRow, UsersPage, time};
use super::{State, html, session_for_page};
use crate::http::ErrorResponse;
use crate::storage::{DeliveryFilter, Queries, UserDetails, UserFilter};
use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::{Path, Query};
use poem::{IntoResponse, Request, Response};
use serde::Deserialize;
use uuid::Uuid;

/// How many deliveries a user's timeline shows.
const TIMELINE: usize = 100;

/// The search as the form sends it.
#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
}

fn row(details: UserDetails) -> UserRow {
    let user = details.user;
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    UserRow {
        id: user.id.to_string(),
        email: user.email.unwrap_or_default(),
        name,
        deleted: user.deleted_at.is_some(),
        provisional: user.provisional,
    }
}

/// `GET /console/users?q=…`: the users whose id or email is `q`.
#[poem::handler]
pub async fn search_users(
    state: State<'_>,
    request: &Request,
    Query(search): Query<Search>,
) -> Response {
    let session = match session_for_page(&state, request) {
        Ok(session) => session,
        Err(answer) => return answer.into_response(),
    };
    let query = search.q.trim().to_owned();
    let mut problem = None;
    let found = if query.is_empty() {
        Ok(Vec::new())
    } else if let Ok(id) = query.parse::<Uuid>() {
        state
            .storage
            .user_details(id)
            .await
            .map(|found| found.into_iter().collect())
    } else if query.contains('@') {
        // An operator looks for sign-ups that never completed too.
        let filter = UserFilter {
            email: Some(query.clone()),
            provisional: true,
            ..UserFilter::default()
        };
        state.storage.list_users(&filter, None, 50).await
    } else {
        problem = Some("Search by a user id (a UUID) or an email address.");
        Ok(Vec::new())
    };
    let users = match found {
        Ok(users) => users.into_iter().map(row).collect(),
        Err(error) => return ErrorResponse::from(error).into_response(),
    };
    let page = UsersPage {
        chrome: Chrome {
            form_token: session.form_token,
            current: "users",
        },
        searched: !query.is_empty() && problem.is_none(),
        query,
        problem,
        users,
    };
    html(StatusCode::OK, page)
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "—".into())
}

fn text(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".into())
}

/// `GET /console/users/{id}`: the mirrored row, its profile and its timeline.
#[poem::handler]
pub async fn show_user(state: State<'_>, request: &Request, Path(id): Path<String>) -> Response {
    let session = match session_for_page(&state, request) {
        Ok(session) => session,
        Err(answer) => return answer.into_response(),
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return ErrorResponse::invalid_parameter("id", "is not a UUID").into_response();
    };
    let details = match state.storage.user_details(id).await {
        Ok(Some(details)) => details,
        Ok(None) => {
            return ErrorResponse::not_found("no mirrored user has this id").into_response();
        }
        Err(error) => return ErrorResponse::from(error).into_response(),
    };
    let filter = DeliveryFilter {
        user_id: Some(id),
        ..DeliveryFilter::default()
    };
    let timeline = match state.storage.list_deliveries(&filter, None, TIMELINE).await {
        Ok(records) => records
            .into_iter()
            .map(|r| super::deliveries::row(&state, r))
            .collect(),
        Err(error) => return ErrorResponse::from(error).into_response(),
    };
    let u = details.user;
    let fields = vec![
        ("email", text(u.email)),
        ("phone", text(u.phone)),
        ("first name", text(u.first_name)),
        ("last name", text(u.last_name)),
        ("auth provider", text(u.auth_provider)),
        ("providers", u.providers.join(", ")),
        ("anonymous", u.is_anonymous.to_string()),
        ("onboarded", u.is_onboarded.to_string()),
        ("email confirmed", when(u.email_confirmed_at)),
        ("last sign-in", when(u.last_sign_in_at)),
        ("created in Supabase", when(u.auth_created_at)),
        ("identity version", time(u.source_updated_at)),
        ("activity version", when(u.activity_updated_at)),
        ("deleted", when(u.deleted_at)),
        ("provisional", u.provisional.to_string()),
        ("banned until", when(u.banned_until)),
        ("SSO user", u.is_sso_user.to_string()),
        ("policy violation", u.policy_violation.to_string()),
        ("user_metadata", u.user_metadata.to_string()),
        ("app_metadata", u.app_metadata.to_string()),
    ];
    let profile = details.profile.map(|p| {
        vec![
            ("display name", text(p.display_name)),
            ("avatar", text(p.avatar_url)),
            ("settings", p.settings.to_string()),
            ("created", time(p.created_at)),
            ("updated", time(p.updated_at)),
        ]
    });
    let page = UserPage {
        chrome: Chrome {
            form_token: session.form_token,
            current: "users",
        },
        id: id.to_string(),
        fields,
        profile,
        timeline,
    };
    html(StatusCode::OK, page)
}
